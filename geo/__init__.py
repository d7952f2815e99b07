"""gridpatrol geo package."""
