"""Judging worker-days: rows -> geo engine -> scoring -> stored day results."""
