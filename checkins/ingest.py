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
   key ``(device_id, client_id, recorded_at)``: rows not returned were stored before
   (``duplicate``); sequence runs recorded; already-evaluated worker-days marked
   ``needs_reevaluation``; COMMIT before the answer (acknowledged = durable).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.db.partitions import ensure_position_partitions
from checkins.models import DayResult, Grid, Position
from checkins.models_mobile import DeviceSeqRun
from geo import crs
from geo.types import REJECT_FUTURE, GeoParams
from geo.validity import REASONS, reject_codes

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
DUPLICATE_IN_BATCH = "duplicate_in_batch"
TOO_OLD = "older_than_retention"
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


# ------------------------------------------------------------------ grid index
@dataclass(frozen=True)
class GridIndex:
    """All grids (WGS-84) in an STRtree, with the stamp they were loaded at."""

    stamp: tuple[Any, ...]
    grid_ids: tuple[str, ...]
    tree: shapely.STRtree | None

    def tag(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """The id of a grid containing each point (first by grid id), or None."""
        out: list[str | None] = [None] * len(lon)
        if self.tree is None or len(lon) == 0:
            return out
        pts = shapely.points(lon, lat)
        pairs = self.tree.query(pts, predicate="within")
        for i, g in sorted(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
            if out[i] is None:
                out[i] = self.grid_ids[g]
        return out


_grid_cache: dict[str, GridIndex] = {}
_grid_lock = threading.Lock()


def grid_index(session: Session) -> GridIndex:
    """The grid STRtree, reloaded only when the grid table changed (count, last change)."""
    bind = session.get_bind()
    key = str(getattr(bind, "engine", bind).url)
    stamp = tuple(session.execute(sa.select(
        sa.func.count(Grid.grid_id), sa.func.max(Grid.created_at), sa.func.max(Grid.updated_at)
    )).one())
    cached = _grid_cache.get(key)
    if cached is not None and cached.stamp == stamp:
        return cached
    rows = session.execute(sa.select(Grid.grid_id, Grid.geom).order_by(Grid.grid_id)).all()
    ids = tuple(r[0] for r in rows)
    geoms = [r[1] for r in rows]
    index = GridIndex(stamp=stamp, grid_ids=ids, tree=shapely.STRtree(geoms) if geoms else None)
    with _grid_lock:
        _grid_cache[key] = index
    return index


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
    # and a concurrent creator is harmless (ensure_* checks first; a race retries once)
    for day in missing:
        for _attempt in range(2):
            try:
                with bind.begin() as conn:
                    ensure_position_partitions(conn, day, 1, timezone)
                break
            except sa.exc.DBAPIError:
                continue
        _known_days.add((key, day))


# ------------------------------------------------------------------ the batch
def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    s = sorted(set(seqs))
    runs: list[tuple[int, int]] = []
    for v in s:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


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
) -> IngestReport:
    """Store the valid items of one device's batch; return every item's outcome in order.

    ``items`` are the structurally valid items as ``(index, item)``; ``outcomes`` already
    holds the structurally rejected ones. ``seqs_seen`` are all sequence numbers read from
    the batch (rejected items included: their batch arrived). Commits the session.
    """
    now = now or dt.datetime.now(dt.UTC)
    tz = ZoneInfo(params.timezone)
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

    n = len(keep)
    rows: list[dict[str, Any]] = []
    if n:
        is_fix = np.array([it.kind == "fix" for _, it in keep], dtype=bool)
        lon = np.array([it.lon if it.lon is not None else np.nan for _, it in keep], dtype=float)
        lat = np.array([it.lat if it.lat is not None else np.nan for _, it in keep], dtype=float)
        acc = np.array([it.accuracy_m if it.accuracy_m is not None else np.nan for _, it in keep], dtype=float)
        t = np.array([it.recorded_at.timestamp() for _, it in keep], dtype=float)

        # 2. normalise to WGS-84, per datum (only finite, in-range fixes)
        wlon = np.full(n, np.nan)
        wlat = np.full(n, np.nan)
        in_range = is_fix & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        datums = np.array([it.datum or "wgs84" for _, it in keep], dtype=object)
        for datum in ("wgs84", "gcj02", "bd09"):
            m = in_range & (datums == datum)
            if m.any():
                a, b = crs.to_wgs84(lon[m], lat[m], datum)
                wlon[m] = a
                wlat[m] = b

        # 3. GEO-VALID on fixes (heartbeats carry no position to judge)
        reasons: list[str | None] = [None] * n
        fix_idx = np.flatnonzero(is_fix)
        if fix_idx.size:
            use_lon = np.where(in_range, wlon, lon)[fix_idx]
            use_lat = np.where(in_range, wlat, lat)[fix_idx]
            r = validity_reasons(use_lon, use_lat, acc[fix_idx], t[fix_idx], now.timestamp(), params)
            for j, k in enumerate(fix_idx.tolist()):
                reasons[k] = r[j]
        usable = np.array([is_fix[k] and reasons[k] is None for k in range(n)], dtype=bool)

        # 5. grid tag of the usable fixes
        tags: list[str | None] = [None] * n
        uidx = np.flatnonzero(usable)
        if uidx.size:
            got = grid_index(session).tag(wlon[uidx], wlat[uidx])
            for j, k in enumerate(uidx.tolist()):
                tags[k] = got[j]

        for k, (_idx, it) in enumerate(keep):
            fix = bool(is_fix[k])
            has_geom = fix and bool(in_range[k]) and reasons[k] is None
            rows.append({
                "recorded_at": it.recorded_at.astimezone(dt.UTC),
                "received_at": now,
                "kind": it.kind,
                "worker_id": worker_id,
                "device_id": device_id,
                "client_id": it.client_id,
                "seq": it.seq,
                "lon": it.lon if fix else None,
                "lat": it.lat if fix else None,
                "datum": (it.datum or "wgs84"),
                "glon": float(wlon[k]) if has_geom else None,
                "glat": float(wlat[k]) if has_geom else None,
                "accuracy_m": it.accuracy_m,
                "speed_mps": it.speed_mps,
                "mock": bool(it.mock),
                "battery_pct": it.battery_pct,
                "charging": it.charging,
                "network": it.network,
                "gps_on": it.gps_on,
                "app_state": it.app_state,
                "grid_id": tags[k],
                "reject_reason": reasons[k],
                # 4. GEO-SPOOF, per-fix part; spikes and frozen runs need the track (engine)
                "suspect": bool(it.mock) and fix,
                "suspect_reason": "mock_location" if (it.mock and fix) else None,
            })

    # 6. write, one transaction
    if rows:
        _ensure_partitions(session, {r["recorded_at"].astimezone(tz).date() for r in rows},
                           params.timezone)
    inserted = _insert_rows(session, rows) if rows else set()
    report = IngestReport(outcomes=[])
    new_days: set[dt.date] = set()
    for k, (idx, it) in enumerate(keep):
        row = rows[k]
        if it.client_id in inserted:
            out[idx] = ItemOutcome(idx, it.client_id, ACCEPTED, row["reject_reason"],
                                   REASON_FIELD.get(row["reject_reason"]))
            report.stored += 1
            new_days.add(row["recorded_at"].astimezone(tz).date())
        else:
            out[idx] = ItemOutcome(idx, it.client_id, DUPLICATE, None, None)
            report.duplicates += 1
    if seqs_seen:
        session.execute(sa.insert(DeviceSeqRun), [
            {"device_id": device_id, "seq_from": a, "seq_to": b, "received_at": now}
            for a, b in _runs(seqs_seen)
        ])
    if new_days:
        res = session.execute(
            sa.update(DayResult)
            .where(DayResult.worker_id == worker_id, DayResult.work_date.in_(sorted(new_days)),
                   DayResult.needs_reevaluation.is_(False))
            .values(needs_reevaluation=True)
            .returning(DayResult.work_date)
        )
        report.days_marked = [(worker_id, d) for (d,) in res.all()]
    session.commit()
    report.outcomes = [out[i] for i in sorted(out)]
    return report


_COLS = ("recorded_at", "received_at", "kind", "worker_id", "device_id", "client_id", "seq",
         "lon", "lat", "datum", "accuracy_m", "speed_mps", "mock", "battery_pct", "charging",
         "network", "gps_on", "app_state", "grid_id", "reject_reason", "suspect", "suspect_reason")


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert rows, skipping those already stored; return the client ids inserted."""
    if session.get_bind().dialect.name == "postgresql":
        return _insert_pg(session, rows)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    values = []
    for r in rows:
        v = {c: r[c] for c in _COLS}
        v["geom"] = shapely.Point(r["glon"], r["glat"]) if r["glon"] is not None else None
        values.append(v)
    stmt = (
        sqlite_insert(Position).values(values)
        .on_conflict_do_nothing(index_elements=["device_id", "client_id", "recorded_at"])
        .returning(Position.client_id)
    )
    return {cid for (cid,) in session.execute(stmt).all()}


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
_PG_SQL = (
    f"INSERT INTO position ({', '.join(_COLS)}, geom) "
    f"SELECT {', '.join('u.' + c for c in _COLS)}, "
    "CASE WHEN u.glon IS NULL THEN NULL "
    "ELSE ST_SetSRID(ST_MakePoint(u.glon, u.glat), 4326) END "
    f"FROM unnest({', '.join(f'%({c})s::{_PG_TYPES[c]}[]' for c in _PG_ARGS)}) "
    f"AS u({', '.join(_PG_ARGS)}) "
    "ON CONFLICT (device_id, client_id, recorded_at) DO NOTHING RETURNING client_id"
)


def _insert_pg(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """One ``INSERT .. SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING`` statement."""
    params = {c: [r[c] for r in rows] for c in _PG_ARGS}
    dbapi_conn = session.connection().connection.dbapi_connection
    with dbapi_conn.cursor() as cur:
        cur.execute(_PG_SQL, params)
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
    """Merge a device's overlapping or adjacent runs into as few rows as possible."""
    rows = session.execute(
        sa.select(DeviceSeqRun.seq_from, DeviceSeqRun.seq_to).where(DeviceSeqRun.device_id == device_id)
    ).all()
    merged = _merge(sorted(rows))
    session.execute(sa.delete(DeviceSeqRun).where(DeviceSeqRun.device_id == device_id))
    if merged:
        session.execute(sa.insert(DeviceSeqRun), [
            {"device_id": device_id, "seq_from": a, "seq_to": b,
             "received_at": dt.datetime.now(dt.UTC)} for a, b in merged])
    session.flush()
    return len(rows) - len(merged)


def _merge(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
