"""Storage of the field day: column types, models, partitions, engine helpers."""
