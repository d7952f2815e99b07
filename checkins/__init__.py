"""gridpatrol checkins package."""
