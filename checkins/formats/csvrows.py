"""The CSV walk shared by the small office readers (roster, entered items)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path

from checkins.formats.errors import FormatError


def read_csv_rows(source: str | PathLike[str] | bytes | bytearray, name: str | None,
                  required: Sequence[str]
                  ) -> tuple[str, dict[str, int], Iterator[tuple[int, list[str]]]]:
    """Open a UTF-8 CSV (path or bytes, BOM or not) with a header row.

    Returns the file's name for errors, the column index (stripped names, first occurrence
    wins) and the non-blank data rows with their line numbers (header = line 1). Every problem
    is a FormatError naming the file, the line and, for a missing column, the column.
    """
    if isinstance(source, bytes | bytearray):
        data, fname = bytes(source), name or "<upload>"
    else:
        fname = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise FormatError(fname, None, None, f"cannot read file: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(fname, data[: exc.start].count(b"\n") + 1, None,
                          "not UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FormatError(fname, 1, None, "empty file: expected a header row") from None
    except csv.Error as exc:
        raise FormatError(fname, 1, None, f"bad CSV: {exc}") from exc
    for col in required:
        if col not in header:
            raise FormatError(fname, 1, col, "missing column")
    index = {c: header.index(c) for c in header if c}

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FormatError(fname, reader.line_num, None, f"bad CSV: {exc}") from exc
            if values and any(v.strip() for v in values):
                yield reader.line_num, values

    return fname, index, rows()
