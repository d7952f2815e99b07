"""Township scoring: entered items, period scores, close/reopen."""
