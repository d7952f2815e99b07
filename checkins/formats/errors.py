"""The one error type of every file reader: it names the file, the place and the field."""

from __future__ import annotations


class FormatError(ValueError):
    """A bad input file.

    ``where`` is a line number (CSV, 1-based, header is line 1), a feature index/id
    (GeoJSON) or an XML element path (GPX); ``field`` is the column or property name.
    """

    def __init__(self, file: str, where: str | int | None, field: str | None, message: str):
        self.file = file
        self.where = where
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file]
        if self.where is not None:
            parts.append(f"line {self.where}" if isinstance(self.where, int) else str(self.where))
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join([", ".join(parts), self.message])

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for API error bodies."""
        return {"file": self.file, "where": self.where, "field": self.field, "message": self.message}
