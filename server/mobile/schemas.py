"""Request and response models of the mobile API (``/api/mobile/v1``).

Coordinates carry their datum (GEO-CRS): ``wgs84``, ``gcj02`` (AMap/Tencent SDKs) or
``bd09`` (Baidu). Times are ISO 8601 with a UTC offset; a time without one is refused.
Changing a field here changes the committed OpenAPI document (see mobile_api_spec/README.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from checkins.positions.ingest import MAX_SEQ

Datum = Literal["wgs84", "gcj02", "bd09"]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
DeviceUid = Annotated[str, StringConstraints(min_length=4, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Phone = Annotated[str, StringConstraints(min_length=5, max_length=20, pattern=r"^\+?[0-9]+$")]



def _utc_text(v: dt.datetime) -> str:
    return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# Every time the API answers with is UTC ("...Z"), whatever offset it was sent with.
UtcTime = Annotated[
    dt.datetime,
    PlainSerializer(_utc_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]



def _iso_text(v: object) -> object:
    if isinstance(v, bool | int | float):
        raise ValueError("a time is an ISO 8601 string with a UTC offset, not a number")
    return v


# Times the phone sends: ISO 8601 text with a UTC offset (numbers and naive times refused).
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]

MAX_BATCH_ITEMS = 500

# What the server accepts, said in the contract (issue 15, finding 8): a calendar date with
# year 0001-9999, month 01-12, day 01-31 (ASCII digits: ``\\d`` would let Arabic-Indic ones
# through); a period as a year, a year-month or a quarter of such a year
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
DATE_PATTERN = rf"^{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
# (spaces around it and a lower-case q were always accepted: v1 only widens)
PERIOD_PATTERN = rf"^ *{_YEAR}(?:-(?:0[1-9]|1[0-2])|[Qq][1-4])? *$"

# Numbers and flags the phone sends are taken as JSON numbers and booleans only: "32.45",
# "true" or 1 for a flag are refused with the field (pydantic's lax mode coerced them, so the
# server accepted more than the contract says). An integer is still a valid number.
Num = Annotated[float, Strict()]
Int = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
MAX_PHOTOS = 9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


# ---------------------------------------------------------------- auth
class LoginRequest(_Strict):
    """Phone number, password and the app-generated id of the phone (kept across installs)."""

    phone: Phone
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    device_uid: DeviceUid
    device_model: Annotated[str, StringConstraints(max_length=128)] | None = None


class RefreshRequest(_Strict):
    """The refresh token received at login or at the last refresh (each is usable once)."""

    refresh_token: Annotated[str, StringConstraints(min_length=16, max_length=256)]


class TokenPair(BaseModel):
    """A short-lived access token (JWT, ``Authorization: Bearer``) and a one-use refresh token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in_s: int
    refresh_token: str
    refresh_expires_in_s: int
    worker_id: str
    device_id: str


class OkResponse(BaseModel):
    """A plain acknowledgement."""

    ok: bool = True


class MeResponse(BaseModel):
    """Who the token belongs to."""

    worker_id: str
    name: str | None
    role: str
    village_id: str | None
    grid_id: str | None
    device_id: str


# ---------------------------------------------------------------- assignment
class Geofence(BaseModel):
    """A circular zone in the requested datum."""

    lon: float
    lat: float
    radius_m: float
    datum: Datum


class Window(BaseModel):
    """A local-time window ``HH:MM``-``HH:MM``."""

    name: str
    start: str
    end: str


class ExemptionOut(BaseModel):
    """An exemption (leave, field duty, special case) as the worker sees it."""

    id: str
    kind: Literal["sick_leave", "personal_leave", "field_duty", "special"]
    start: UtcTime
    end: UtcTime
    status: str
    reason: str | None = None
    place: Geofence | None = None


class AssignmentResponse(BaseModel):
    """Today's assignment (YK-PATROL-WINDOWS, YK-PATROL-DURATION, GEO-DUTY, GEO-SIGNIN)."""

    worker_id: str
    date: dt.date
    timezone: str
    role: str
    working_day: bool | None = Field(
        description="YK-DAYS; null when neither the PRC calendar nor the profile covers the date")
    grid_id: str | None
    grid: dict[str, Any] | None = Field(description="GeoJSON geometry in `datum`")
    datum: Datum
    office: Geofence | None
    patrol_windows: list[Window]
    required_patrol_s: int
    duty_windows: list[Window]
    signin_required: bool
    signin_deadline: str | None
    exemptions: list[ExemptionOut]


# ---------------------------------------------------------------- sign-in, patrols
class FixIn(_Strict):
    """One position with its datum, as the phone measured it."""

    lon: Annotated[Num, Field(ge=-180, le=180)]
    lat: Annotated[Num, Field(ge=-90, le=90)]
    datum: Datum = "wgs84"
    accuracy_m: Annotated[Num, Field(ge=0)] | None = None
    recorded_at: IsoTime
    mock: Flag = False


class SigninRequest(_Strict):
    """A sign-in (签到) with the fix it was made at; ``client_id`` makes retries idempotent."""

    client_id: ClientId
    fix: FixIn


class SigninResponse(BaseModel):
    """Whether the sign-in counts (GEO-SIGNIN, YK-SIGNIN-PLACE, YK-LOG) and why not."""

    id: str
    counts: bool
    status: Literal["ok", "late", "outside", "not_required", "rejected"]
    reason: str | None
    distance_m: float | None
    radius_m: float | None
    deadline: str | None
    signed_at: UtcTime
    duplicate: bool = False


class PatrolStartRequest(_Strict):
    """Start a patrol in the app; ``client_id`` makes retries idempotent."""

    client_id: ClientId
    started_at: IsoTime


class PatrolStopRequest(_Strict):
    """Stop a patrol started earlier."""

    ended_at: IsoTime


class PatrolSessionOut(BaseModel):
    """A patrol session started (and perhaps stopped) in the app."""

    id: str
    started_at: UtcTime
    ended_at: UtcTime | None
    duplicate: bool = False


class PhotoOut(BaseModel):
    """A stored photo of a patrol log with the EXIF time and position found in it."""

    id: str
    content_type: str
    size_bytes: int
    sha256: str
    exif_taken_at: str | None
    exif_lon: float | None
    exif_lat: float | None


class PatrolLogOut(BaseModel):
    """A patrol log entry (巡查日志)."""

    id: str
    patrol_session_id: str | None
    text: str
    created_at: UtcTime
    photos: list[PhotoOut]
    duplicate: bool = False


# ---------------------------------------------------------------- positions
class PositionItem(_Strict):
    """A fix or a heartbeat.

    ``seq`` is a per-device counter the phone increments for every item it creates, so the
    server can tell a lost batch (a gap in ``seq``) from a phone that sent nothing.
    Fixes need ``lon``, ``lat`` and ``datum``; heartbeats carry the phone's state instead.
    """

    client_id: ClientId
    seq: Annotated[Int, Field(ge=0, le=MAX_SEQ)]
    kind: Literal["fix", "heartbeat"] = "fix"
    recorded_at: IsoTime
    lon: Num | None = None
    lat: Num | None = None
    datum: Datum | None = None
    accuracy_m: Annotated[Num, Field(ge=0, le=1e6)] | None = None
    speed_mps: Annotated[Num, Field(ge=0, le=1e4)] | None = None
    mock: Flag = False
    battery_pct: Annotated[Int, Field(ge=0, le=100)] | None = None
    charging: Flag | None = None
    network: Literal["wifi", "cellular", "5g", "4g", "3g", "2g", "none", "unknown"] | None = None
    gps_on: Flag | None = None
    app_state: Literal["foreground", "background", "stopped", "starting"] | None = None


class PositionBatch(_Strict):
    """Up to 500 items; a resent item (same ``client_id``) is acknowledged as a duplicate."""

    items: Annotated[list[PositionItem], Field(max_length=MAX_BATCH_ITEMS)]


class ItemResult(BaseModel):
    """The fate of one item: ``accepted`` (stored; ``reason`` set when GEO-VALID excludes it
    from every computation), ``duplicate`` (stored before) or ``rejected`` (not stored)."""

    client_id: str | None
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    field: str | None = None


class BatchResult(BaseModel):
    """Counts and per-item results of a position upload; acknowledged items are committed."""

    accepted: int
    duplicates: int
    rejected: int
    items: list[ItemResult]
    server_time: UtcTime


# ---------------------------------------------------------------- requests (leave etc.)
class PlaceIn(_Strict):
    """The place of a field duty (外勤): a circle in the given datum."""

    lon: Annotated[Num, Field(ge=-180, le=180)]
    lat: Annotated[Num, Field(ge=-90, le=90)]
    datum: Datum = "wgs84"
    radius_m: Annotated[Num, Field(gt=0, le=50_000)] = 500.0


class ExemptionRequest(_Strict):
    """Ask for leave, field duty (外勤, with its place) or a special case."""

    kind: Literal["sick_leave", "personal_leave", "field_duty", "special"]
    start: IsoTime
    end: IsoTime
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None
    place: PlaceIn | None = None
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="the phone's id of this request; a resend with the same id answers "
        "the stored request and creates no second one")


class ExemptionList(BaseModel):
    """The worker's own requests, newest first."""

    items: list[ExemptionOut]


# ---------------------------------------------------------------- own view
class PatrolProgress(BaseModel):
    """In-grid time so far in one patrol window against the requirement."""

    window: str
    status: str
    in_grid_s: int
    in_grid_min: float
    required_s: int
    started_in_app: bool


class FlagOut(BaseModel):
    """Something raised on the worker (suspect fixes, off-post, phone-off, rejected fixes)."""

    kind: str
    rule: str
    date: dt.date
    detail: str
    start: UtcTime | None = None
    end: UtcTime | None = None


class MyDayResponse(BaseModel):
    """The worker's own view: today's progress, flags and the month's points so far."""

    worker_id: str
    date: dt.date
    provisional: bool
    patrols: list[PatrolProgress]
    signin_status: str | None
    flags: list[FlagOut]
    month: str
    month_points: float
    month_deductions: list[dict[str, Any]]
