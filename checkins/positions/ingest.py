"""Position batch ingest: normalise, judge validity, tag grids, write once, durably.

The stages, in order, over one batch from one device (traccar's ProcessingHandler shape):

1. **dedupe in batch**: a ``client_id`` seen earlier in the same batch is a duplicate;
2. **normalise** (GEO-CRS): lon/lat as received in their datum -> WGS-84 (``geo.crs``);
3. **validity** (GEO-VALID): range, (0, 0), accuracy, device time ahead of the server;
   a failing fix is *stored* with its ``reject_reason`` and reported ``accepted`` with that
   reason: kept for the record, left out of every computation, and not to be resent;
4. **suspect** (GEO-SPOOF, per-fix part): the phone's mock-location flag;
5. **grid tag**: the grid containing each usable fix (shapely STRtree, before the write);
6. **write**: one transaction; ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` on the unique
   key ``(worker_id, device_id, client_id, recorded_at)`` (the client id per device; the
   worker is the token's, the same on every resend, and the Citus distribution column, see
   docs/scaling.md; the time is the day-partition key): rows not returned were stored before
   (``duplicate``); sequence runs recorded; already-evaluated worker-days marked
   ``needs_reevaluation``; COMMIT before the answer (acknowledged = durable).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from checkins.db.partitions import ensure_position_partitions
from checkins.db.types import UTCDateTime
from checkins.positions.models import DeviceSeqRun, Position
from checkins.positions.tagging import grid_index
from geo import crs
from geo.types import REJECT_FUTURE, GeoParams
from geo.validity import REASONS, reject_codes

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
DUPLICATE_IN_BATCH = "duplicate_in_batch"
TOO_OLD = "older_than_retention"
MAX_SEQ = 2**53  # the contract's bound of ``seq`` (exact in every JSON client; fits BIGINT)
# the field a GEO-VALID reason points at, in per-item answers
REASON_FIELD = {"not_finite": "lon", "lat_out_of_range": "lat", "lon_out_of_range": "lon",
                "null_island": "lon", "accuracy_too_low": "accuracy_m",
                "device_time_in_future": "recorded_at"}


class ItemLike(Protocol):
    """What ingest reads from one uploaded item (the API's ``PositionItem``)."""

    client_id: str
    seq: int
    kind: str
    recorded_at: dt.datetime
    lon: float | None
    lat: float | None
    datum: str | None
    accuracy_m: float | None
    speed_mps: float | None
    mock: bool
    battery_pct: int | None
    charging: bool | None
    network: str | None
    gps_on: bool | None
    app_state: str | None


@dataclass
class ItemOutcome:
    """The fate of one item of a batch, in the order of the batch."""

    index: int
    client_id: str | None
    status: str
    reason: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class IngestParams:
    """The rule profile's detection parameters (GEO-VALID, timezone) and storage limits.

    ``max_age_days`` (retention) and ``max_ahead_days`` bound what is stored at all: an item
    outside them is rejected with a reason and not stored (a partition per junk date would
    be created otherwise). Inside them, GEO-VALID decides whether a stored fix is usable.
    """

    geo: GeoParams
    max_age_days: float = 180.0
    max_ahead_days: float = 2.0
    grid_cache_s: float = 0.0  # how long a loaded grid index is trusted without re-checking

    @property
    def timezone(self) -> str:
        """The township's timezone (local days, partitions)."""
        return self.geo.timezone


@dataclass
class IngestReport:
    """Per-item outcomes and what the write did."""

    outcomes: list[ItemOutcome]
    stored: int = 0
    duplicates: int = 0
    days_marked: list[tuple[str, dt.date]] = field(default_factory=list)


# ------------------------------------------------------------------ validity
def validity_reasons(
    lon: np.ndarray, lat: np.ndarray, accuracy_m: np.ndarray, t: np.ndarray, server_now: float,
    params: IngestParams,
) -> list[str | None]:
    """GEO-VALID reason per fix (None = usable), by the geo engine's rule (WGS-84 input)."""
    codes = reject_codes(lon, lat, accuracy_m, t, np.full(t.shape[0], server_now), params.geo)
    return [REASONS[c] for c in codes.tolist()]


# ------------------------------------------------------------------ partitions
_known_days: set[tuple[str, dt.date]] = set()


def _ensure_partitions(session: Session, days: set[dt.date], timezone: str) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if isinstance(bind, sa.Connection):  # inside a caller's transaction (tests): inline
        ensure = sorted(days)
        for day in ensure:
            ensure_position_partitions(bind, day, 1, timezone)
        return
    key = str(bind.url)
    missing = sorted(d for d in days if (key, d) not in _known_days)
    if not missing:
        return
    # a separate short transaction: DDL must not hold locks for the batch's lifetime,
    # and a concurrent creator is harmless (ensure_* checks first; a race retries once).
    # It runs on a connection of its own, outside the request's pool: the session already
    # holds one pooled connection, and many first uploads of an old day at once, each
    # waiting for a second pooled connection, would exhaust the pool and stall.
    ddl = _ddl_engine(bind)
    for day in missing:
        for _attempt in range(2):
            try:
                with ddl.begin() as conn:
                    ensure_position_partitions(conn, day, 1, timezone)
                break
            except sa.exc.DBAPIError:
                continue
        _known_days.add((key, day))


_ddl_engines: dict[str, sa.Engine] = {}


def _ddl_engine(bind: sa.Engine) -> sa.Engine:
    """An unpooled engine on ``bind``'s database for the rare partition DDL."""
    key = bind.url.render_as_string(hide_password=False)
    eng = _ddl_engines.get(key)
    if eng is None:
        eng = _ddl_engines[key] = sa.create_engine(bind.url, poolclass=sa.pool.NullPool)
    return eng


# ------------------------------------------------------------------ the batch
# plain statements on the hot path (no ORM unit of work per batch)
_SEQ_PG = ("INSERT INTO device_seq_run (worker_id, device_id, seq_from, seq_to, received_at) "
           "VALUES (%s, %s, %s, %s, %s)")
_REEVAL_PG = ("UPDATE day_result SET needs_reevaluation = true WHERE worker_id = %s "
              "AND work_date = ANY(%s) AND NOT needs_reevaluation RETURNING work_date")
_SEQ_SQL = sa.text(
    "INSERT INTO device_seq_run (worker_id, device_id, seq_from, seq_to, received_at) "
    "VALUES (:w, :d, :a, :b, :r)"
).bindparams(sa.bindparam("r", type_=UTCDateTime()))
_REEVAL_SQL = (
    sa.text("UPDATE day_result SET needs_reevaluation = :yes WHERE worker_id = :w "
            "AND work_date IN :days AND needs_reevaluation = :no RETURNING work_date")
    .bindparams(sa.bindparam("days", expanding=True, type_=sa.Date()),
                sa.bindparam("yes", True, type_=sa.Boolean()),
                sa.bindparam("no", False, type_=sa.Boolean()))
    .columns(work_date=sa.Date())
)

# live_state (checkins.positions.models.LiveState), in ingest's own transaction: the
# latest item and usable fix, the earliest item stored since the live check last judged
# the worker-day (a late fix makes it re-judge from there), and a counter the live check
# compares before it clears ``dirty_from``
_LIVE_KEYS = ("w", "d", "lo", "hi", "ft", "lon", "lat", "g")
_LIVE_UPSERT = (
    "INSERT INTO live_state (worker_id, work_date, ingest_seq, dirty_from, last_seen_at,"
    " last_fix_at, last_lon, last_lat, last_grid_id, judged_seq)"
    " VALUES ({w}, {d}, 1, {lo}, {hi}, {ft}, {lon}, {lat}, {g}, 0)"
    " ON CONFLICT (worker_id, work_date) DO UPDATE SET"
    " ingest_seq = live_state.ingest_seq + 1,"
    " dirty_from = CASE WHEN live_state.dirty_from IS NULL OR excluded.dirty_from"
    " < live_state.dirty_from THEN excluded.dirty_from ELSE live_state.dirty_from END,"
    " last_seen_at = CASE WHEN live_state.last_seen_at IS NULL OR excluded.last_seen_at"
    " > live_state.last_seen_at THEN excluded.last_seen_at ELSE live_state.last_seen_at END,"
    " {fix}"
)
_NEWER_FIX = ("excluded.last_fix_at IS NOT NULL AND (live_state.last_fix_at IS NULL"
              " OR excluded.last_fix_at > live_state.last_fix_at)")
_LIVE_FIX = ", ".join(f"{c} = CASE WHEN {_NEWER_FIX} THEN excluded.{c} ELSE live_state.{c} END"
                      for c in ("last_fix_at", "last_lon", "last_lat", "last_grid_id"))
_LIVE_PG = _LIVE_UPSERT.format(fix=_LIVE_FIX, **{k: "%s" for k in _LIVE_KEYS})
# ingest's hot path: the live_state upsert rides in the re-evaluation mark's statement (a
# data-modifying CTE), so a batch costs no extra round trip
_REEVAL_LIVE_PG = (
    "WITH live AS (" + _LIVE_UPSERT.replace(
        " VALUES ({w}, {d}, 1, {lo}, {hi}, {ft}, {lon}, {lat}, {g}, 0)",
        " SELECT x.w, x.d, 1, x.lo, x.hi, x.ft, x.lon, x.lat, x.g, 0 FROM unnest(%s::text[],"
        " %s::date[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::float8[],"
        " %s::float8[], %s::text[]) AS x(w, d, lo, hi, ft, lon, lat, g)").format(fix=_LIVE_FIX)
    + ") " + _REEVAL_PG)
_LIVE_SQL = sa.text(_LIVE_UPSERT.format(fix=_LIVE_FIX, **{k: f":{k}" for k in _LIVE_KEYS})
                    ).bindparams(sa.bindparam("lo", type_=UTCDateTime()),
                                 sa.bindparam("hi", type_=UTCDateTime()),
                                 sa.bindparam("ft", type_=UTCDateTime()),
                                 sa.bindparam("d", type_=sa.Date()))


def note_live(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Upsert ``live_state`` for items just stored: rows ``(worker_id, local date, earliest
    recorded_at, latest recorded_at, latest usable fix's recorded_at, lon, lat, grid_id)``
    (the fix part may be None). Ingest calls it in its transaction; so must any other
    writer of ``position`` whose rows the live check should see before the day ends."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        with session.connection().connection.dbapi_connection.cursor() as cur:
            cur.executemany(_LIVE_PG, list(rows))
        return
    session.execute(_LIVE_SQL, [dict(zip(_LIVE_KEYS, r, strict=True)) for r in rows])


def _live_rows(worker_id: str, keep: Sequence[tuple[int, ItemLike]], inserted: set[str],
               local_days: Sequence[dt.date], cols: dict[str, list[Any]],
               usable: np.ndarray | None) -> list[tuple[Any, ...]]:
    """One live_state upsert per local day of the items just stored (in ``_LIVE_KEYS`` order)."""
    rows: dict[dt.date, list[Any]] = {}
    for k, (_, it) in enumerate(keep):
        if it.client_id not in inserted:
            continue
        d, t = local_days[k], it.recorded_at
        r = rows.setdefault(d, [worker_id, d, t, t, None, None, None, None])
        r[2], r[3] = min(r[2], t), max(r[3], t)
        if usable is not None and usable[k] and cols["glon"][k] is not None \
                and not cols["suspect"][k] and (r[4] is None or t > r[4]):
            r[4:8] = [t, cols["glon"][k], cols["glat"][k], cols["grid_id"][k]]
    return [tuple(r) for r in rows.values()]


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    s = sorted(set(seqs))
    runs: list[tuple[int, int]] = []
    for v in s:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def record_seq_runs(session: Session, worker_id: str, device_id: int, seqs: Sequence[int],
                    received_at: dt.datetime) -> int:
    """Record the runs of sequence numbers received from a device (what upload completeness
    reads, :mod:`checkins.positions.uploads`); the number of runs. The caller commits."""
    runs = _runs([q for q in seqs if 0 <= q <= MAX_SEQ])  # never a seq outside the contract
    if runs:
        session.execute(_SEQ_SQL, [{"w": worker_id, "d": device_id, "a": a, "b": b,
                                    "r": received_at} for a, b in runs])
    return len(runs)


def ingest_batch(
    session: Session,
    *,
    worker_id: str,
    device_id: int,
    items: Sequence[tuple[int, ItemLike]],
    outcomes: list[ItemOutcome],
    seqs_seen: Sequence[int],
    params: IngestParams,
    now: dt.datetime | None = None,
    commit: bool = True,
) -> IngestReport:
    """Store the valid items of one device's batch; return every item's outcome in order.

    ``items`` are the structurally valid items as ``(index, item)``; ``outcomes`` already
    holds the structurally rejected ones. ``seqs_seen`` are all sequence numbers read from
    the batch (rejected items included: their batch arrived). Commits the session (an
    answered batch is durable); ``commit=False`` leaves that to a caller that writes many
    batches as one unit (the demo township's load: all or nothing).
    """
    now = now or dt.datetime.now(dt.UTC)
    out = {o.index: o for o in outcomes}

    # 1. dedupe inside the batch
    seen: set[str] = set()
    keep: list[tuple[int, ItemLike]] = []
    oldest = now - dt.timedelta(days=params.max_age_days)
    newest = now + dt.timedelta(days=params.max_ahead_days)
    for idx, it in items:
        if it.client_id in seen:
            out[idx] = ItemOutcome(idx, it.client_id, DUPLICATE, DUPLICATE_IN_BATCH, "client_id")
            continue
        if it.recorded_at < oldest:
            out[idx] = ItemOutcome(idx, it.client_id, REJECTED, TOO_OLD, "recorded_at")
            continue
        if it.recorded_at > newest:
            out[idx] = ItemOutcome(idx, it.client_id, REJECTED, REJECT_FUTURE, "recorded_at")
            continue
        seen.add(it.client_id)
        keep.append((idx, it))
    # one write order for every copy of a batch: concurrent resends with their items in
    # different orders would otherwise lock the same unique keys in opposite orders and
    # deadlock (PostgreSQL aborts one: a 500 and a retry)
    keep.sort(key=lambda e: e[1].client_id)

    n = len(keep)
    cols: dict[str, list[Any]] = {}
    reasons: list[str | None] = [None] * n
    local_days: list[dt.date] = []
    if n:
        its = [it for _, it in keep]
        kind = [it.kind for it in its]
        is_fix = np.array([k == "fix" for k in kind], dtype=bool)
        lon_l = [it.lon for it in its]
        lat_l = [it.lat for it in its]
        acc_l = [it.accuracy_m for it in its]
        lon = np.array([np.nan if v is None else v for v in lon_l], dtype=float)
        lat = np.array([np.nan if v is None else v for v in lat_l], dtype=float)
        acc = np.array([np.nan if v is None else v for v in acc_l], dtype=float)
        rec = [it.recorded_at for it in its]
        t = np.array([r.timestamp() for r in rec], dtype=float)
        datum_l = [it.datum or "wgs84" for it in its]

        # 2. normalise to WGS-84, per datum (only finite, in-range fixes)
        wlon = np.full(n, np.nan)
        wlat = np.full(n, np.nan)
        in_range = is_fix & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        datums = np.array(datum_l, dtype=object)
        for datum in ("wgs84", "gcj02", "bd09"):
            m = in_range & (datums == datum)
            if m.any():
                a, b = crs.to_wgs84(lon[m], lat[m], datum)
                wlon[m] = a
                wlat[m] = b

        # 3. GEO-VALID on fixes (heartbeats carry no position to judge)
        fix_idx = np.flatnonzero(is_fix)
        if fix_idx.size:
            use_lon = np.where(in_range, wlon, lon)[fix_idx]
            use_lat = np.where(in_range, wlat, lat)[fix_idx]
            r = validity_reasons(use_lon, use_lat, acc[fix_idx], t[fix_idx], now.timestamp(), params)
            for j, k in enumerate(fix_idx.tolist()):
                reasons[k] = r[j]
        usable = is_fix & np.array([r is None for r in reasons], dtype=bool)

        # 5. grid tag of the usable fixes
        tags: list[str | None] = [None] * n
        uidx = np.flatnonzero(usable)
        if uidx.size:
            got = grid_index(session, params.grid_cache_s).tag(wlon[uidx], wlat[uidx])
            for j, k in enumerate(uidx.tolist()):
                tags[k] = got[j]

        geom_ok = usable & in_range
        glon = np.where(geom_ok, wlon, np.nan).tolist()
        glat = np.where(geom_ok, wlat, np.nan).tolist()
        fix_l = is_fix.tolist()
        mock_l = [bool(it.mock) for it in its]
        # 4. GEO-SPOOF, per-fix part (the phone's flag); spikes and frozen runs need the
        # whole track and are the engine's
        suspect = [m and f for m, f in zip(mock_l, fix_l, strict=True)]
        cols = {
            "recorded_at": rec,
            "received_at": [now] * n,
            "kind": kind,
            "worker_id": [worker_id] * n,
            "device_id": [device_id] * n,
            "client_id": [it.client_id for it in its],
            "seq": [it.seq for it in its],
            "lon": [v if f else None for v, f in zip(lon_l, fix_l, strict=True)],
            "lat": [v if f else None for v, f in zip(lat_l, fix_l, strict=True)],
            "datum": datum_l,
            "accuracy_m": acc_l,
            "speed_mps": [it.speed_mps for it in its],
            "mock": mock_l,
            "battery_pct": [it.battery_pct for it in its],
            "charging": [it.charging for it in its],
            "network": [it.network for it in its],
            "gps_on": [it.gps_on for it in its],
            "app_state": [it.app_state for it in its],
            "grid_id": tags,
            "reject_reason": reasons,
            "suspect": suspect,
            "suspect_reason": ["mock_location" if x else None for x in suspect],
            "glon": [None if v != v else v for v in glon],
            "glat": [None if v != v else v for v in glat],
        }
        local_days = _local_dates(t, params.timezone)

    # 6. write, one transaction
    if n:
        _ensure_partitions(session, set(local_days), params.timezone)
    inserted = _insert_rows(session, cols, n) if n else set()
    report = IngestReport(outcomes=[])
    new_days: set[dt.date] = set()
    for k, (idx, it) in enumerate(keep):
        if it.client_id in inserted:
            out[idx] = ItemOutcome(idx, it.client_id, ACCEPTED, reasons[k], REASON_FIELD.get(reasons[k]))
            report.stored += 1
            new_days.add(local_days[k])
        else:
            out[idx] = ItemOutcome(idx, it.client_id, DUPLICATE, None, None)
            report.duplicates += 1
    live = _live_rows(worker_id, keep, inserted, local_days, cols, usable if n else None)
    # a seq outside the contract is never recorded: 2**63 overflowed the column (a 500 on
    # every resend of the batch) and one huge seq made a gap of "missing" items
    runs = _runs([q for q in seqs_seen if 0 <= q <= MAX_SEQ])
    if session.get_bind().dialect.name == "postgresql":
        # the hot path: straight to the driver, no statement compilation per batch
        dbapi_conn = session.connection().connection.dbapi_connection
        with dbapi_conn.cursor() as cur:
            if runs:
                cur.executemany(_SEQ_PG, [(worker_id, device_id, a, b, now) for a, b in runs])
            if new_days:
                cur.execute(_REEVAL_LIVE_PG, (*(list(c) for c in zip(*live, strict=True)),
                                              worker_id, sorted(new_days)))
                report.days_marked = [(worker_id, d) for (d,) in cur.fetchall()]
                live = []  # written with the mark
    else:
        record_seq_runs(session, worker_id, device_id, seqs_seen, now)
        if new_days:
            res = session.execute(_REEVAL_SQL, {"w": worker_id, "days": sorted(new_days)})
            report.days_marked = [(worker_id, d) for (d,) in res.all()]
    note_live(session, live)
    if commit:
        session.commit()
    report.outcomes = [out[i] for i in sorted(out)]
    return report


DEDUPE_KEY = ("worker_id", "device_id", "client_id", "recorded_at")
"""The unique key of ``position`` that makes a resent fix a ``duplicate``."""
_COLS = ("recorded_at", "received_at", "kind", "worker_id", "device_id", "client_id", "seq",
         "lon", "lat", "datum", "accuracy_m", "speed_mps", "mock", "battery_pct", "charging",
         "network", "gps_on", "app_state", "grid_id", "reject_reason", "suspect", "suspect_reason")


def _local_dates(t: np.ndarray, timezone: str) -> list[dt.date]:
    """The local date of each POSIX time (converted once per distinct quarter hour)."""
    tz = ZoneInfo(timezone)
    hours = np.floor(t / 900.0)
    memo: dict[float, dt.date] = {}
    out = []
    for h, x in zip(hours.tolist(), t.tolist(), strict=True):
        d = memo.get(h)
        if d is None:
            d = dt.datetime.fromtimestamp(x, tz).date()
            memo[h] = d  # UTC offsets are multiples of 15 min: a bucket never spans two dates
        out.append(d)
    return out


def _insert_rows(session: Session, cols: dict[str, list[Any]], n: int) -> set[str]:
    """Insert rows given by columns, skipping those stored before; return the new client ids."""
    if session.get_bind().dialect.name == "postgresql":
        return _insert_pg(session, cols, n)
    values = []
    for k in range(n):
        v = {c: cols[c][k] for c in _COLS}
        v["geom"] = shapely.Point(cols["glon"][k], cols["glat"][k]) if cols["glon"][k] is not None else None
        values.append(v)
    # one cached Core statement run over the rows (SQLAlchemy's insertmanyvalues): an ORM
    # ``.values(rows)`` was compiled afresh for every batch, most of a batch's time
    return {cid for (cid,) in session.connection().execute(_SQLITE_INSERT, values).all()}


_SQLITE_INSERT = (
    sqlite_insert(Position.__table__).on_conflict_do_nothing(index_elements=list(DEDUPE_KEY))
    .returning(Position.__table__.c.client_id)
)


_PG_TYPES = {
    "recorded_at": "timestamptz", "received_at": "timestamptz", "kind": "text",
    "worker_id": "text", "device_id": "int", "client_id": "text", "seq": "bigint",
    "lon": "float8", "lat": "float8", "datum": "text", "accuracy_m": "float8",
    "speed_mps": "float8", "mock": "bool", "battery_pct": "int2", "charging": "bool",
    "network": "text", "gps_on": "bool", "app_state": "text", "grid_id": "text",
    "reject_reason": "text", "suspect": "bool", "suspect_reason": "text",
    "glon": "float8", "glat": "float8",
}
_PG_ARGS = (*_COLS, "glon", "glat")
# a per-connection staging table: COPY into it (fast, in C), then one INSERT .. SELECT with
# ON CONFLICT DO NOTHING RETURNING into the partitioned table; emptied at each COMMIT
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS position_in ("
    + ", ".join(f"{c} {_PG_TYPES[c]}" for c in _PG_ARGS)
    + ") ON COMMIT DELETE ROWS"
)
_PG_COPY = f"COPY position_in ({', '.join(_PG_ARGS)}) FROM STDIN (FORMAT BINARY)"
_PG_COPY_TYPES = [{"int": "int4", "bigint": "int8"}.get(_PG_TYPES[c], _PG_TYPES[c]) for c in _PG_ARGS]
_PG_SQL = (
    f"INSERT INTO position ({', '.join(_COLS)}, geom) "
    f"SELECT {', '.join(_COLS)}, "
    "CASE WHEN glon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(glon, glat), 4326) END "
    "FROM position_in "
    f"ON CONFLICT ({', '.join(DEDUPE_KEY)}) DO NOTHING RETURNING client_id"
)
_staged: weakref.WeakSet[Any] = weakref.WeakSet()
# the common case (nothing of the batch stored before): COPY straight into ``position``
# inside a savepoint, geometry as EWKB; a unique violation (a resend) rolls back to the
# savepoint and takes the staging path above, which sorts new rows from duplicates
_PG_DIRECT = f"COPY position ({', '.join(_COLS)}, geom) FROM STDIN (FORMAT BINARY)"
_PG_DIRECT_TYPES = [{"int": "int4", "bigint": "int8"}.get(_PG_TYPES[c], _PG_TYPES[c]) for c in _COLS]
_PG_DIRECT_TYPES.append("bytea")  # EWKB bytes: PostGIS's binary input reads them as geometry


def _ewkb(glon: list[float | None], glat: list[float | None]) -> list[bytes | None]:
    out: list[bytes | None] = [None] * len(glon)
    idx = [k for k, v in enumerate(glon) if v is not None]
    if idx:
        pts = shapely.points([glon[k] for k in idx], [glat[k] for k in idx])
        wkb = shapely.to_wkb(shapely.set_srid(pts, 4326), include_srid=True)
        for k, b in zip(idx, wkb.tolist(), strict=True):
            out[k] = b
    return out


# a few rows (a tracking app's single fix per request): one INSERT .. ON CONFLICT DO NOTHING
# RETURNING, a single round trip where the COPY path takes four (SAVEPOINT, COPY start and
# end, RELEASE); the same unique key decides what was stored before. The text depends
# only on the row count, so the driver prepares it after a few uses.
_PG_SMALL = 4
_PG_ROW = "(" + ", ".join(["%s"] * len(_COLS)) + ", ST_GeomFromEWKB(%s))"


@lru_cache(maxsize=_PG_SMALL)
def _pg_values_sql(n: int) -> str:
    return (f"INSERT INTO position ({', '.join(_COLS)}, geom) VALUES "
            + ", ".join([_PG_ROW] * n)
            + f" ON CONFLICT ({', '.join(DEDUPE_KEY)}) DO NOTHING RETURNING client_id")


def _insert_pg(session: Session, cols: dict[str, list[Any]], n: int) -> set[str]:
    """Write a batch; return the client ids that were new (the others were stored before)."""
    import psycopg

    dbapi_conn = session.connection().connection.dbapi_connection
    if n <= _PG_SMALL:
        geoms = _ewkb(cols["glon"], cols["glat"])
        args = [v for row in zip(*(cols[c] for c in _COLS), geoms, strict=True) for v in row]
        with dbapi_conn.cursor() as cur:
            cur.execute(_pg_values_sql(n), args)
            return {r[0] for r in cur.fetchall()}
    with dbapi_conn.cursor() as cur:
        cur.execute("SAVEPOINT ingest_copy")
        try:
            with cur.copy(_PG_DIRECT) as cp:
                cp.set_types(_PG_DIRECT_TYPES)
                geoms = _ewkb(cols["glon"], cols["glat"])
                for row in zip(*(cols[c] for c in _COLS), geoms, strict=True):
                    cp.write_row(row)
            cur.execute("RELEASE SAVEPOINT ingest_copy")
            return set(cols["client_id"])
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT ingest_copy")
        if dbapi_conn not in _staged:
            cur.execute(_PG_STAGE)
            _staged.add(dbapi_conn)
        with cur.copy(_PG_COPY) as cp:  # some rows were stored before: sort them out
            cp.set_types(_PG_COPY_TYPES)
            for row in zip(*(cols[c] for c in _PG_ARGS), strict=True):
                cp.write_row(row)
        cur.execute(_PG_SQL)
        return {r[0] for r in cur.fetchall()}


# ------------------------------------------------------------------ sequence gaps
@dataclass(frozen=True)
class SeqGap:
    """Sequence numbers ``[seq_from, seq_to]`` never received from a device (a lost upload)."""

    device_id: int
    seq_from: int
    seq_to: int

    @property
    def count(self) -> int:
        """How many items are missing."""
        return self.seq_to - self.seq_from + 1


def seq_gaps(session: Session, device_id: int, *, since_seq: int | None = None) -> list[SeqGap]:
    """Gaps in the sequence numbers received from ``device_id`` (between first and last seen).

    A gap means items were created on the phone and never arrived (lost or still buffered);
    a phone that created nothing leaves no gap, only silence.
    """
    q = sa.select(DeviceSeqRun.seq_from, DeviceSeqRun.seq_to).where(DeviceSeqRun.device_id == device_id)
    if since_seq is not None:
        q = q.where(DeviceSeqRun.seq_to >= since_seq)
    runs = sorted(session.execute(q).all())
    gaps: list[SeqGap] = []
    covered_to: int | None = None
    for a, b in runs:
        if covered_to is not None and a > covered_to + 1:
            gaps.append(SeqGap(device_id, covered_to + 1, a - 1))
        covered_to = b if covered_to is None else max(covered_to, b)
    return gaps


def compact_seq_runs(session: Session, device_id: int) -> int:
    """Merge a device's overlapping or adjacent runs into as few rows as possible.

    Runs are merged per worker that sent them (a run stays beside its worker's fixes).
    """
    rows = session.execute(
        sa.select(DeviceSeqRun.worker_id, DeviceSeqRun.seq_from, DeviceSeqRun.seq_to)
        .where(DeviceSeqRun.device_id == device_id)
    ).all()
    by_worker: dict[str, list[tuple[int, int]]] = {}
    for w, a, b in rows:
        by_worker.setdefault(w, []).append((a, b))
    merged = {w: _merge(sorted(runs)) for w, runs in by_worker.items()}
    session.execute(sa.delete(DeviceSeqRun).where(DeviceSeqRun.device_id == device_id))
    now = dt.datetime.now(dt.UTC)
    new_rows = [{"worker_id": w, "device_id": device_id, "seq_from": a, "seq_to": b,
                 "received_at": now} for w, runs in merged.items() for a, b in runs]
    if new_rows:
        session.execute(sa.insert(DeviceSeqRun), new_rows)
    session.flush()
    return len(rows) - len(new_rows)


def _merge(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
