"""The field day's records: sign-ins, patrol sessions, patrol logs, photos, requests."""
