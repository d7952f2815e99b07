"""The server's own outages (never charged as a worker's phone-off)."""
