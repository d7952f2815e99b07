"""gridpatrol mobile_api_spec package."""
