"""gridpatrol server package."""
