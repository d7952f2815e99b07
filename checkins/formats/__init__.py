"""Readers for the interchange files of shared/FORMATS.md (pure: files in, plain data out)."""
