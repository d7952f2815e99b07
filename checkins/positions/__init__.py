"""Positions from the phones: ingest, upload completeness, retention."""
