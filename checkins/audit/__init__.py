"""The append-only, hash-chained audit log: who changed what, when, why."""
