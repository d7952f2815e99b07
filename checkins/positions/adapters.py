"""Tracking apps as clients: Traccar Client (OsmAnd protocol) and OwnTracks (HTTP mode).

Each message is mapped to the items of the phone app's batch (:class:`AppItem`, the
``ItemLike`` of :mod:`checkins.positions.ingest`) and goes through the same
:func:`~checkins.positions.ingest.ingest_batch` (dedupe, GEO-CRS, GEO-VALID, grid tagging,
re-evaluation marks): one code path for every source of fixes.

Units as the clients send them (docs/tracking-apps.md):

* OsmAnd query/form: ``speed`` in knots, ``batt`` 0-100 (0-1 also read), ``accuracy`` in
  metres with 0 = unknown, ``timestamp`` epoch seconds, epoch milliseconds or ISO 8601 (a
  time without an offset is UTC, as traccar reads it); ``location=lat,lon`` also read.
* OsmAnd JSON (Traccar Client 9+): ``coords.speed`` m/s (negative = unknown),
  ``coords.accuracy`` m (0 or negative = unknown), ``battery.level`` 0-1 (-1 = unknown),
  ISO ``timestamp``, ``uuid``, ``mock``; an object or an array of them.
* OwnTracks: ``vel`` km/h, ``tst`` epoch s, ``acc`` m, ``batt`` 0-100, ``bs`` 2/3 =
  charging, ``conn`` w/m/o -> wifi/cellular/none.

A message without a position is a **heartbeat** (battery, charging, network). Neither app
numbers its messages: ``seq`` is None and silences are explained by heartbeats.
Idempotency: the client's ``uuid`` / ``_id`` when present, else a key from the fix time
(the unique key is per device already): a resend is answered ``duplicate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.positions import ingest

KNOT_MPS = 1852.0 / 3600.0
KMH_MPS = 1000.0 / 3600.0
CONN = {"w": "wifi", "m": "cellular", "o": "none"}  # the mobile API's network words
# OwnTracks messages that carry no position or state of the phone: acknowledged, not stored
OWNTRACKS_IGNORED = ("waypoint", "waypoints", "card", "cmd", "configuration", "lwt", "steps",
                     "beacon", "request", "status", "dump")


@dataclass
class AppItem:
    """One fix or heartbeat from a tracking app, in the phone app's item shape."""

    client_id: str
    recorded_at: dt.datetime
    kind: str = "fix"
    seq: int | None = None
    lon: float | None = None
    lat: float | None = None
    datum: str | None = "wgs84"  # both apps read the platform's GNSS fix: WGS-84
    accuracy_m: float | None = None
    speed_mps: float | None = None
    mock: bool = False
    battery_pct: int | None = None
    charging: bool | None = None
    network: str | None = None
    gps_on: bool | None = None
    app_state: str | None = None


@dataclass
class Bad:
    """A message that cannot be stored (kept in the audit log with its reason)."""

    reason: str
    field: str | None
    raw: Any


class _Reject(Exception):
    def __init__(self, reason: str, field: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


# ------------------------------------------------------------------ value readers
def _num(v: Any, name: str) -> float | None:
    """A finite number from text or JSON; None when absent or empty."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise _Reject("invalid_type", name)
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _Reject("invalid_format", name) from None
    if not math.isfinite(x):
        raise _Reject("not_finite", name)
    return x


def _bool(v: Any) -> bool | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _epoch(x: float, name: str) -> dt.datetime:
    if x > 1e11:  # milliseconds (traccar's own test sends 1442068686579)
        x /= 1000.0
    try:
        return dt.datetime.fromtimestamp(x, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise _Reject("out_of_range", name) from None


def _time(v: Any, name: str, now: dt.datetime) -> dt.datetime:
    """Epoch s/ms or ISO 8601 (no offset = UTC); the server's time when absent."""
    if v is None or v == "":
        return now
    if isinstance(v, bool):
        raise _Reject("invalid_type", name)
    if isinstance(v, int | float):
        return _epoch(float(v), name)
    text = str(v).strip()
    try:
        return _epoch(float(text), name)
    except ValueError:
        pass
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Reject("invalid_format", name) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _battery(level: float | None, fraction: bool) -> int | None:
    """0-100 (or a 0-1 fraction) -> whole percent; negative = unknown."""
    if level is None or level < 0:
        return None
    if fraction or (level <= 1.0 and level != int(level)):
        level *= 100.0
    return max(0, min(100, round(level)))


def _accuracy(a: float | None) -> float | None:
    return a if a is not None and a > 0 else None  # 0 (or -1) means "unknown"


def _key(prefix: str, ident: Any, t: dt.datetime) -> str:
    """The client id: the app's own id when it sends one, else the fix time (ms)."""
    if ident:
        s = str(ident)
        if len(s) > 60 or not all(c.isalnum() or c in "-_.:" for c in s):
            s = hashlib.sha256(s.encode()).hexdigest()[:40]
        return f"{prefix}:{s}"
    return f"{prefix}t:{round(t.timestamp() * 1000)}"


# ------------------------------------------------------------------ OsmAnd (Traccar Client)
def osmand_params(q: Mapping[str, str], now: dt.datetime) -> AppItem:
    """One fix or heartbeat from query-string or form fields (traccar OsmAndProtocolDecoder)."""
    t = _time(q.get("timestamp"), "timestamp", now)
    lat, lon = _num(q.get("lat"), "lat"), _num(q.get("lon"), "lon")
    loc = q.get("location")
    if loc and (lat is None or lon is None):
        parts = loc.split(",")
        if len(parts) != 2:
            raise _Reject("invalid_format", "location")
        lat, lon = _num(parts[0], "location"), _num(parts[1], "location")
    speed = _num(q.get("speed"), "speed")
    acc = _num(q.get("accuracy"), "accuracy")
    batt = _num(q.get("batt"), "batt")
    charge = _bool(q.get("charge"))
    item = AppItem(client_id="", recorded_at=t,
                   battery_pct=_battery(batt, fraction=False), charging=charge)
    if lat is None or lon is None:
        if (lat is None) != (lon is None):
            raise _Reject("missing_field", "lon" if lon is None else "lat")
        item.kind, item.datum = "heartbeat", None
        item.client_id = _key("oh", None, t)
        return item
    item.lat, item.lon = lat, lon
    item.accuracy_m = _accuracy(acc)
    item.speed_mps = None if speed is None or speed < 0 else speed * KNOT_MPS
    item.mock = bool(_bool(q.get("mock")))
    item.client_id = _key("o", None, t)
    return item


def osmand_json(obj: Any, now: dt.datetime) -> AppItem:
    """One Traccar Client 9+ message ``{"location": {...}, "device_id": ...}``."""
    if not isinstance(obj, dict):
        raise _Reject("invalid_type", "location")
    loc = obj.get("location", obj)
    if not isinstance(loc, dict):
        raise _Reject("invalid_type", "location")
    t = _time(loc.get("timestamp"), "location.timestamp", now)
    coords = loc.get("coords") or {}
    if not isinstance(coords, dict):
        raise _Reject("invalid_type", "location.coords")
    batt = loc.get("battery") or {}
    if not isinstance(batt, dict):
        raise _Reject("invalid_type", "location.battery")
    lat = _num(coords.get("latitude"), "location.coords.latitude")
    lon = _num(coords.get("longitude"), "location.coords.longitude")
    item = AppItem(client_id="", recorded_at=t,
                   battery_pct=_battery(_num(batt.get("level"), "location.battery.level"), True),
                   charging=_bool(batt.get("is_charging")))
    uuid = loc.get("uuid")
    if lat is None or lon is None:
        if (lat is None) != (lon is None):
            raise _Reject("missing_field", "location.coords")
        item.kind, item.datum = "heartbeat", None
        item.client_id = _key("jh", uuid, t)
        return item
    speed = _num(coords.get("speed"), "location.coords.speed")
    item.lat, item.lon = lat, lon
    item.accuracy_m = _accuracy(_num(coords.get("accuracy"), "location.coords.accuracy"))
    item.speed_mps = None if speed is None or speed < 0 else speed
    item.mock = bool(_bool(loc.get("mock")))
    item.client_id = _key("j", uuid, t)
    return item


# ------------------------------------------------------------------ OwnTracks
def owntracks(obj: Any, now: dt.datetime) -> AppItem | None:
    """One OwnTracks message; None for a type that carries nothing to store."""
    if not isinstance(obj, dict):
        raise _Reject("invalid_type", "_type")
    kind = obj.get("_type")
    if kind in OWNTRACKS_IGNORED:
        return None
    if kind == "encrypted":
        raise _Reject("encrypted_not_supported", "_type")
    if kind not in ("location", "transition"):
        raise _Reject("unknown_type", "_type")
    t = _time(obj.get("tst"), "tst", now)
    lat, lon = _num(obj.get("lat"), "lat"), _num(obj.get("lon"), "lon")
    bs = obj.get("bs")
    item = AppItem(client_id="", recorded_at=t,
                   battery_pct=_battery(_num(obj.get("batt"), "batt"), fraction=False),
                   charging=bs in (2, 3) if bs in (1, 2, 3) else None,
                   network=CONN.get(obj.get("conn")) if isinstance(obj.get("conn"), str) else None)
    if lat is None or lon is None:
        if kind == "transition" or (lat is None) != (lon is None):
            raise _Reject("missing_field", "lon" if lon is None else "lat")
        item.kind, item.datum = "heartbeat", None
        item.client_id = _key("wh", obj.get("_id"), t)
        return item
    vel = _num(obj.get("vel"), "vel")
    item.lat, item.lon = lat, lon
    item.accuracy_m = _accuracy(_num(obj.get("acc"), "acc"))
    item.speed_mps = None if vel is None or vel < 0 else vel * KMH_MPS
    item.client_id = _key("w", obj.get("_id"), t)
    return item


# ------------------------------------------------------------------ to ingest
def parse_all(messages: Iterable[Any], parse: Any, now: dt.datetime
              ) -> tuple[list[AppItem], list[Bad]]:
    """Parse each message on its own: one bad message never loses the others."""
    items: list[AppItem] = []
    bad: list[Bad] = []
    for m in messages:
        try:
            it = parse(m, now)
        except _Reject as exc:
            bad.append(Bad(exc.reason, exc.field, m))
            continue
        if it is not None:
            items.append(it)
    return items, bad


@dataclass
class AppIngestReport:
    """What an app's request did: stored, duplicates, rejected (with reasons)."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


def ingest_app_items(session: Session, *, worker_id: str, device_id: int, app: str,
                     items: list[AppItem], bad: list[Bad], params: ingest.IngestParams,
                     now: dt.datetime | None = None) -> AppIngestReport:
    """Store a tracking app's items through the one ingest path; keep the reasons of refusals.

    A refused message (unreadable, too old, too far ahead) is answered with a 2xx like the
    rest, since resending it would not help, and its reason and raw text are kept in the
    audit log (``ingest.rejected``, shown on the office's tracking-app page). Commits.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = ingest.ingest_batch(session, worker_id=worker_id, device_id=device_id,
                                 items=list(enumerate(items)), outcomes=[], seqs_seen=[],
                                 params=params, now=now)
    rejected = [{"reason": b.reason, "field": b.field, "raw": _short(b.raw)} for b in bad]
    accepted = 0
    for o in report.outcomes:
        if o.status == ingest.REJECTED:
            rejected.append({"reason": o.reason, "field": o.field, "client_id": o.client_id})
        elif o.status == ingest.ACCEPTED:
            accepted += 1
    if rejected:
        write_audit(session, actor=f"device:{device_id}", action="ingest.rejected",
                    entity="device", entity_id=str(device_id), reason=rejected[0]["reason"],
                    after={"app": app, "worker_id": worker_id, "items": rejected[:50]})
        session.commit()
    return AppIngestReport(accepted=accepted, duplicates=report.duplicates, rejected=rejected)


def _short(raw: Any) -> str:
    import json

    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text[:500]
