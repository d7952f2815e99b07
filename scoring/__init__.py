"""gridpatrol scoring package."""
