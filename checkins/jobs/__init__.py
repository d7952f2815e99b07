"""Scheduled jobs, their runs and locks, and the live check's alerts."""
