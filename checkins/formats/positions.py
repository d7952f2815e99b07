"""Readers for position files (FORMATS.md "Positions"): CSV and GPX 1.1 -> ``geo.types.Fixes``.

Structural problems (a missing required column, a value that is not a number or not a time,
a time without a UTC offset) raise :class:`FormatError` naming the file, line and field.
Implausible coordinates (out of range, (0, 0), NaN) are *data*: they are returned as read so
that the engine's GEO-VALID step can reject and count them.

The CSV reader is columnar: rows are read in chunks with the ``csv`` module and each column is
converted with numpy, so a file of millions of rows is read in seconds, not minutes.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import itertools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from checkins.formats.errors import FormatError
from geo.types import Fixes

Source = str | os.PathLike[str] | bytes | IO[str]

REQUIRED_COLUMNS = ("worker_id", "recorded_at", "lon", "lat")
OPTIONAL_COLUMNS = ("accuracy_m", "speed_mps", "crs", "mock", "kind")
# Extension columns (not in FORMATS.md, read when present): the server's receive time and
# the heartbeat state the engine uses to explain silences (GEO-PHONEOFF cause).
STATE_COLUMNS = ("received_at", "gps_on", "app_state", "network", "battery_pct")
_TEXT_STATE = ("app_state", "network")
DATUMS = ("wgs84", "gcj02", "bd09")

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n", ""}
_CHUNK_ROWS = 200_000


# --------------------------------------------------------------------------- helpers
def source_name(source: Source, name: str | None) -> str:
    """The name used in error messages: the given name, else the path, else ``<data>``."""
    if name:
        return name
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return getattr(source, "name", None) or "<data>"


def open_text(source: Source) -> IO[str]:
    """Open a path, bytes or text stream as UTF-8 text (a BOM is dropped)."""
    if isinstance(source, bytes):
        return io.StringIO(source.decode("utf-8-sig"), newline="")
    if isinstance(source, str | os.PathLike):
        return open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115
    return source


def read_header(reader: Iterable[list[str]], name: str, required: Sequence[str]) -> dict[str, int]:
    """Read the header row; return column -> index, or raise naming the missing column."""
    header = next(iter(reader), None)
    if header is None:
        raise FormatError(name, 1, None, "empty file: expected a header row")
    cols: dict[str, int] = {}
    for i, col in enumerate(header):
        key = col.strip().lstrip("\ufeff")
        cols.setdefault(key, i)
    for col in required:
        if col not in cols:
            raise FormatError(name, 1, col, f"missing required column '{col}'")
    return cols


def parse_time(value: str, name: str, line: int, field: str) -> float:
    """Parse an ISO 8601 time that carries a UTC offset into POSIX seconds."""
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(name, line, field, f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FormatError(
            name, line, field, f"time {value!r} has no UTC offset (write e.g. '+08:00' or 'Z')"
        )
    return moment.timestamp()


def _times(values: Sequence[str], lines: Sequence[int], name: str, field: str, *, optional: bool) -> np.ndarray:
    """Parse a time column to POSIX seconds; each distinct string is parsed once.

    Phones record at whole seconds, so a day of thousands of workers has at most a few
    tens of thousands of distinct time strings: a lookup table beats parsing every row.
    """
    fromiso = dt.datetime.fromisoformat
    lut: dict[str, float] = {}
    try:
        for v in set(values):
            text = v.strip()
            if optional and not text:
                lut[v] = np.nan
                continue
            moment = fromiso(text)
            if moment.tzinfo is None:
                raise ValueError(v)
            lut[v] = moment.timestamp()
        ok = True
    except (ValueError, TypeError):
        ok = False
    if not ok:  # locate the first bad row and say what is wrong with it
        for i, v in enumerate(values):
            if not v.strip():
                if not optional:
                    raise FormatError(name, lines[i], field, "a time is required")
            else:
                parse_time(v, name, lines[i], field)
        raise AssertionError("unreachable")  # pragma: no cover
    return np.fromiter(map(lut.__getitem__, values), dtype=np.float64, count=len(values))


def _floats(
    values: Sequence[str], lines: Sequence[int], name: str, field: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse a numeric column: (values with NaN for empty cells, mask of empty cells or None)."""
    try:
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values)), None
    except ValueError:
        pass
    empty = np.fromiter((not v.strip() for v in values), dtype=bool, count=len(values))
    try:
        return np.array([v if v.strip() else "nan" for v in values], dtype=np.float64), empty
    except ValueError:
        pass
    for i, v in enumerate(values):
        if v.strip():
            try:
                float(v)
            except ValueError:
                raise FormatError(name, lines[i], field, f"not a number: {v!r}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _choices(
    values: Sequence[str], lines: Sequence[int], name: str, field: str, table: dict[str, object]
) -> list[object]:
    """Map a column of enumerated values through ``table`` (case-insensitive, trimmed)."""
    lookup: dict[str, object] = {}
    for v in set(values):
        key = v.strip().lower()
        if key not in table:
            i = list(values).index(v)
            allowed = ", ".join(sorted(k for k in table if k))
            raise FormatError(name, lines[i], field, f"unknown value {v!r} (allowed: {allowed})")
        lookup[v] = table[key]
    return [lookup[v] for v in values]


_BOOL_TABLE: dict[str, object] = {**{k: True for k in _TRUE}, **{k: False for k in _FALSE}}
_KIND_TABLE: dict[str, object] = {"": False, "fix": False, "heartbeat": True}
_CRS_TABLE: dict[str, object] = {"": "wgs84", **{d: d for d in DATUMS}}
_GPS_TABLE: dict[str, object] = {
    **{k: 1.0 for k in _TRUE}, **{k: 0.0 for k in _FALSE if k}, "": float("nan")
}


def convert_datums(lon: np.ndarray, lat: np.ndarray, datums: np.ndarray) -> None:
    """Convert, in place, the rows whose datum is GCJ-02 or BD-09 to WGS-84 (GEO-CRS)."""
    for datum in ("gcj02", "bd09"):
        mask = (datums == datum) & np.isfinite(lon) & np.isfinite(lat)
        if mask.any():
            from geo.crs import to_wgs84

            new_lon, new_lat = to_wgs84(lon[mask], lat[mask], datum)
            lon[mask] = new_lon
            lat[mask] = new_lat


# --------------------------------------------------------------------------- CSV
class _Chunks:
    """Accumulates converted column chunks of a positions CSV."""

    def __init__(self) -> None:
        self.codes: list[np.ndarray] = []
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("t", "lon", "lat", "acc", "spd", "mock", "hb", *STATE_COLUMNS)
        }
        self.worker_codes: dict[str, int] = {}
        self.present: set[str] = set()


def _convert_chunk(
    rows: list[list[str]], lines: list[int], cols: dict[str, int], width: int, name: str,
    acc: _Chunks,
) -> None:
    n = len(rows)
    if set(map(len, rows)) != {width}:  # ragged rows: missing cells are empty
        rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
    columns = list(zip(*rows, strict=False))

    def col(key: str) -> Sequence[str]:
        return columns[cols[key]]

    uniq, inverse = np.unique(np.array(col("worker_id"), dtype=str), return_inverse=True)
    codes_map = acc.worker_codes
    chunk_codes = np.empty(len(uniq), dtype=np.int64)
    for j, raw_id in enumerate(uniq.tolist()):
        wid = raw_id.strip()
        if not wid:
            i = int(np.argmax(inverse == j))
            raise FormatError(name, lines[i], "worker_id", "worker_id is empty")
        chunk_codes[j] = codes_map.setdefault(wid, len(codes_map))
    codes = chunk_codes[inverse.reshape(-1)]
    if "kind" in cols:
        is_hb = np.array(_choices(col("kind"), lines, name, "kind", _KIND_TABLE), dtype=bool)
    else:
        is_hb = np.zeros(n, dtype=bool)
    t = _times(col("recorded_at"), lines, name, "recorded_at", optional=False)
    lon, lon_empty = _floats(col("lon"), lines, name, "lon")
    lat, lat_empty = _floats(col("lat"), lines, name, "lat")
    for field, empty in (("lon", lon_empty), ("lat", lat_empty)):
        if empty is not None and (empty & ~is_hb).any():
            i = int(np.argmax(empty & ~is_hb))
            raise FormatError(name, lines[i], field, f"{field} is required for a fix")
    if is_hb.any():
        lon[is_hb] = np.nan
        lat[is_hb] = np.nan
    accuracy = (
        _floats(col("accuracy_m"), lines, name, "accuracy_m")[0]
        if "accuracy_m" in cols
        else np.full(n, np.nan)
    )
    speed = (
        _floats(col("speed_mps"), lines, name, "speed_mps")[0]
        if "speed_mps" in cols
        else np.full(n, np.nan)
    )
    if "mock" in cols:
        mock = np.array(_choices(col("mock"), lines, name, "mock", _BOOL_TABLE), dtype=bool)
    else:
        mock = np.zeros(n, dtype=bool)
    if "crs" in cols:
        datums = np.array(_choices(col("crs"), lines, name, "crs", _CRS_TABLE))
        convert_datums(lon, lat, datums)
    state: dict[str, np.ndarray] = {}
    for key in STATE_COLUMNS:
        if key not in cols:
            state[key] = np.full(n, None, dtype=object) if key in _TEXT_STATE else np.full(n, np.nan)
            continue
        acc.present.add(key)
        if key == "received_at":
            state[key] = _times(col(key), lines, name, key, optional=True)
        elif key == "gps_on":
            state[key] = np.array(_choices(col(key), lines, name, key, _GPS_TABLE), dtype=np.float64)
        elif key == "battery_pct":
            state[key] = _floats(col(key), lines, name, key)[0]
        else:
            state[key] = np.array([v.strip() or None for v in col(key)], dtype=object)
    acc.codes.append(codes)
    for key, arr in (
        ("t", t), ("lon", lon), ("lat", lat), ("acc", accuracy), ("spd", speed),
        ("mock", mock), ("hb", is_hb), *state.items(),
    ):
        acc.cols[key].append(arr)


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def read_positions_csv(source: Source, name: str | None = None) -> dict[str, Fixes]:
    """Read a positions CSV into per-worker ``Fixes`` (WGS-84, POSIX seconds, sorted by time).

    Parameters
    ----------
    source : path, bytes or text stream of the CSV (UTF-8, header row).
    name : file name used in error messages (defaults to the path).

    Returns
    -------
    dict mapping worker_id to its ``Fixes``; GCJ-02 / BD-09 rows (column ``crs``) are
    converted to WGS-84; heartbeats have NaN lon/lat.
    """
    fname = source_name(source, name)
    stream = open_text(source)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small row lists: the cyclic GC would triple the read time
    try:
        reader = csv.reader(stream)
        cols = read_header(reader, fname, REQUIRED_COLUMNS)
        width = max(cols.values()) + 1
        acc = _Chunks()
        prev_line = reader.line_num
        while True:
            raw = list(itertools.islice(reader, _CHUNK_ROWS))
            if not raw:
                break
            if reader.line_num - prev_line == len(raw):
                lines = list(range(prev_line + 1, reader.line_num + 1))
            else:  # quoted line breaks inside cells: count physical lines per row
                phys = [1 + sum(f.count("\n") for f in r) for r in raw]
                ends = itertools.accumulate(phys, initial=prev_line)
                lines = [e + 1 for e in itertools.islice(ends, len(raw))]
            prev_line = reader.line_num
            if min(map(len, raw)) <= 1:
                keep = [i for i, r in enumerate(raw) if not _is_blank(r)]
                raw = [raw[i] for i in keep]
                lines = [lines[i] for i in keep]
                if not raw:
                    continue
            _convert_chunk(raw, lines, cols, width, fname, acc)
            del raw
    except csv.Error as exc:
        raise FormatError(fname, None, None, f"not a valid CSV file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise FormatError(fname, None, None, f"not UTF-8 text: {exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
        if stream is not source:
            stream.close()
    return _group(acc)


def _group(acc: _Chunks) -> dict[str, Fixes]:
    if not acc.codes:
        return {}
    codes = np.concatenate(acc.codes)
    cols = {k: np.concatenate(v) for k, v in acc.cols.items()}
    names = list(acc.worker_codes)
    # sort by worker, then by device time
    order = np.lexsort((cols["t"], codes))
    codes = codes[order]
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    out: dict[str, Fixes] = {}
    for code, wid in enumerate(names):
        sl = order[bounds[code] : bounds[code + 1]]
        out[wid] = Fixes(
            t=cols["t"][sl],
            lon=cols["lon"][sl],
            lat=cols["lat"][sl],
            accuracy_m=cols["acc"][sl],
            speed_mps=cols["spd"][sl],
            mock=cols["mock"][sl],
            is_heartbeat=cols["hb"][sl],
            **{k: cols[k][sl] if k in acc.present else None for k in STATE_COLUMNS},
        )
    return out


# --------------------------------------------------------------------------- GPX
def read_positions_gpx(
    source: Source, name: str | None = None, worker_id: str | None = None
) -> dict[str, Fixes]:
    """Read a GPX 1.1 track of one worker: every ``<trkpt>`` with its ``<time>``.

    The worker id is ``worker_id`` if given, else ``<metadata><name>``. GPX times without a
    zone are UTC (GPX 1.1 schema). Coordinates are WGS-84 by definition of GPX.
    """
    import gpxpy
    import gpxpy.gpx

    fname = source_name(source, name)
    stream = open_text(source)
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        raise FormatError(fname, None, None, f"not UTF-8 text: {exc}") from None
    finally:
        if stream is not source:
            stream.close()
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise FormatError(fname, None, None, f"not a valid GPX file: {exc}") from None
    wid = (worker_id or gpx.name or "").strip()
    if not wid:
        raise FormatError(
            fname, "gpx/metadata/name", "name",
            "no worker id: give it on the command line (WORKER=file.gpx) or in <metadata><name>",
        )
    t: list[float] = []
    lon: list[float] = []
    lat: list[float] = []
    speed: list[float] = []
    for i, track in enumerate(gpx.tracks, 1):
        for j, seg in enumerate(track.segments, 1):
            for k, pt in enumerate(seg.points, 1):
                where = f"gpx/trk[{i}]/trkseg[{j}]/trkpt[{k}]"
                if pt.time is None:
                    raise FormatError(fname, where, "time", "a <trkpt> needs a <time>")
                moment = pt.time
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                t.append(moment.timestamp())
                lon.append(float(pt.longitude))
                lat.append(float(pt.latitude))
                speed.append(float(pt.speed) if pt.speed is not None else np.nan)
    n = len(t)
    ta = np.array(t, dtype=np.float64)
    order = np.argsort(ta, kind="stable")
    return {
        wid: Fixes(
            t=ta[order],
            lon=np.array(lon, dtype=np.float64)[order],
            lat=np.array(lat, dtype=np.float64)[order],
            accuracy_m=np.full(n, np.nan),
            speed_mps=np.array(speed, dtype=np.float64)[order],
            mock=np.zeros(n, dtype=bool),
            is_heartbeat=np.zeros(n, dtype=bool),
        )
    }


# --------------------------------------------------------------------------- both
def read_positions(
    path: str | os.PathLike[str], name: str | None = None, worker_id: str | None = None
) -> dict[str, Fixes]:
    """Read a positions file, choosing CSV or GPX by its suffix."""
    if Path(path).suffix.lower() == ".gpx":
        return read_positions_gpx(path, name, worker_id)
    return read_positions_csv(path, name)


def concat_fixes(parts: Sequence[Fixes]) -> Fixes:
    """Concatenate several ``Fixes`` of one worker, sorted by device time."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Fixes.empty()
    if len(parts) == 1:
        return parts[0]
    t = np.concatenate([p.t for p in parts])
    order = np.argsort(t, kind="stable")

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(p, attr) for p in parts])[order]

    def cat_optional(attr: str) -> np.ndarray | None:
        if all(getattr(p, attr) is None for p in parts):
            return None
        fill = None if attr in _TEXT_STATE else np.nan
        dtype = object if attr in _TEXT_STATE else np.float64
        arrays = [
            np.full(len(p), fill, dtype=dtype) if getattr(p, attr) is None else getattr(p, attr)
            for p in parts
        ]
        return np.concatenate(arrays)[order]

    return Fixes(
        t=t[order], lon=cat("lon"), lat=cat("lat"), accuracy_m=cat("accuracy_m"),
        speed_mps=cat("speed_mps"), mock=cat("mock"), is_heartbeat=cat("is_heartbeat"),
        **{k: cat_optional(k) for k in STATE_COLUMNS},
    )


def merge_positions(files: Iterable[dict[str, Fixes]]) -> dict[str, Fixes]:
    """Merge per-worker fixes read from several files."""
    parts: dict[str, list[Fixes]] = {}
    for per_worker in files:
        for wid, fixes in per_worker.items():
            parts.setdefault(wid, []).append(fixes)
    return {wid: concat_fixes(p) for wid, p in parts.items()}
