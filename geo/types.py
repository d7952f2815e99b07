"""Plain data crossing the boundary of the pure geo engine.

Everything here is numpy arrays, shapely geometries and frozen dataclasses: no database
rows, no web models. Coordinates are WGS-84 longitude/latitude in degrees unless a field
says otherwise; times are POSIX seconds (float64, UTC) unless a field says otherwise.
Conversion from GCJ-02 / BD-09 happens before data reaches these types (``geo.crs``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from shapely.geometry.base import BaseGeometry

Datum = Literal["wgs84", "gcj02", "bd09"]
Role = Literal["head", "fulltime", "parttime"]
ExemptionKind = Literal["sick_leave", "personal_leave", "field_duty", "special"]
PatrolStatus = Literal["ok", "short", "missing", "exempt", "not_required"]
SigninStatus = Literal["ok", "late", "missing", "outside", "not_required"]

# Stable rejection / suspicion reason strings (stored with the data, shown to offices).
REJECT_LAT_RANGE = "lat_out_of_range"
REJECT_LON_RANGE = "lon_out_of_range"
REJECT_NULL_ISLAND = "null_island"
REJECT_NOT_FINITE = "not_finite"
REJECT_ACCURACY = "accuracy_too_low"
REJECT_FUTURE = "device_time_in_future"
SUSPECT_MOCK = "mock_location"
SUSPECT_SPIKE = "speed_spike"
SUSPECT_FROZEN = "frozen_coordinates"
# GEO-SPOOF review flags: raised for an office's review, excluding nothing
FLAG_CONSTANT_ACCURACY = "constant_accuracy"
FLAG_JUMP = "jump"

# The rule id of each kind of flag a day raises: one table for the day entries, the live
# alerts and the worker's own day (an off-post interval is "offpost" or "crosspost").
FLAG_RULES = {"offpost": "GEO-OFFPOST", "crosspost": "GEO-CROSSPOST",
              "phone_off": "GEO-PHONEOFF", "suspect_fix": "GEO-SPOOF",
              "rejected_fixes": "GEO-VALID"}


def rule_of(kind: str) -> str:
    """The rule id of a flag kind (KeyError for a kind no rule raises)."""
    return FLAG_RULES[kind]


@dataclass(frozen=True)
class Fixes:
    """Columnar positions and heartbeats of one worker, sorted or not (the engine sorts).

    Parameters
    ----------
    t : float64 array, device time of each item, POSIX seconds.
    lon, lat : float64 arrays, WGS-84 degrees; NaN for heartbeats.
    accuracy_m : float64 array, horizontal accuracy in metres; NaN when unknown.
    speed_mps : float64 array, speed reported by the phone in m/s; NaN when unknown.
    mock : bool array, the phone's mock-location flag.
    is_heartbeat : bool array, True for a sign of life without a usable position.
    received_at : float64 array or None, server receive time (POSIX s); NaN when unknown.
    gps_on, app_state, network, battery_pct : optional heartbeat state arrays used only to
        explain silent intervals (``None`` when the source has no such data). ``gps_on`` is
        float (1.0, 0.0 or NaN); ``app_state`` and ``network`` are object arrays of str/None.
    """

    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    accuracy_m: np.ndarray
    speed_mps: np.ndarray
    mock: np.ndarray
    is_heartbeat: np.ndarray
    received_at: np.ndarray | None = None
    gps_on: np.ndarray | None = None
    app_state: np.ndarray | None = None
    network: np.ndarray | None = None
    battery_pct: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def empty() -> Fixes:
        """An empty set of fixes."""
        f = np.zeros(0, dtype=np.float64)
        b = np.zeros(0, dtype=bool)
        return Fixes(t=f, lon=f, lat=f, accuracy_m=f, speed_mps=f, mock=b, is_heartbeat=b)


@dataclass(frozen=True)
class Place:
    """A circular zone: a village office geofence or an approved field-duty place (WGS-84)."""

    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True)
class SignIn:
    """A sign-in (签到) as posted by the phone, already normalised to WGS-84."""

    t: float
    lon: float
    lat: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Interval:
    """A half-open time interval [start, end) in POSIX seconds."""

    start: float
    end: float


@dataclass(frozen=True)
class Exemption:
    """An *approved* exemption: leave, field duty (with its place) or a special case."""

    start: float
    end: float
    kind: ExemptionKind
    place: Place | None = None


@dataclass(frozen=True)
class GridIndex:
    """All grids of the township (WGS-84), to tell cross-post (串岗) from plain off-post."""

    grid_ids: tuple[str, ...]
    geoms: tuple[BaseGeometry, ...]


@dataclass(frozen=True)
class WorkerDay:
    """Everything the engine needs to judge one worker on one local date.

    ``grid`` is the grid the worker is assigned to on ``date`` (the caller resolves
    reassignments). ``fixes`` may include items outside the date; the engine uses the
    local day (profile timezone) and the previous item for gap bridging.
    """

    worker_id: str
    date: dt.date
    role: Role
    grid_id: str
    grid: BaseGeometry
    office: Place | None = None
    fixes: Fixes = field(default_factory=Fixes.empty)
    signins: tuple[SignIn, ...] = ()
    patrol_sessions: tuple[Interval, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    server_down: tuple[Interval, ...] = ()
    # the worker's phone platform when known and the same for all their phones ("ios",
    # "android"); None unknown. Used only by GEO-SPOOF's constant_accuracy review flag.
    platform: str | None = None


@dataclass(frozen=True)
class GeoParams:
    """Detection parameters of a rule profile (RULES.md defaults live in the profile file).

    Built by ``scoring.profiles`` from the profile data; the engine never has defaults of
    its own for rule parameters.
    """

    timezone: str
    # GEO-VALID
    max_accuracy_m: float
    max_future_s: float
    # GEO-INGRID
    max_gap_s: float
    max_speed_kmh: float
    boundary_tolerance_m: float
    # GEO-STILL
    still_radius_m: float
    still_max_s: float
    # GEO-SPOOF
    spike_speed_kmh: float
    frozen_min_count: int
    frozen_min_speed_mps: float
    # GEO-OFFPOST / GEO-CROSSPOST
    offpost_min_s: float
    # GEO-PHONEOFF
    phoneoff_min_s: float
    # GEO-DUTY: local "HH:MM"-"HH:MM" pairs
    duty_windows: tuple[tuple[str, str], ...]
    # YK-DAYS: "prc_workdays" or "every_day"
    working_days: str
    # YK-PATROL-WINDOWS: {"am": ("06:00", "12:00"), "pm": ("12:00", "20:00")}
    patrol_windows: dict[str, tuple[str, str]]
    # YK-PATROL-DURATION: required in-grid seconds per patrol by role
    required_patrol_s: dict[str, float]
    # YK-PATROL-PERFORMED
    performed_min_in_grid_s: float
    # YK-SIGNIN-PLACE / GEO-SIGNIN
    signin_radius_m: float
    signin_max_accuracy_m: float
    signin_roles: tuple[str, ...]
    signin_deadline: dict[str, str | None]
    # NB-ONLINE
    online_window_s: float
    # NB-ARRIVE
    arrive_radius_m: float
    # extra calendar overrides (ISO date -> True working / False rest), for years the
    # packaged PRC calendar does not cover yet or a township's own adjustments
    calendar_overrides: dict[str, bool] = field(default_factory=dict)
    # GEO-PHONEOFF cause only (explanation, not a deduction): a battery at or below this
    # percentage just before a silence explains it as "phone_off"
    phoneoff_low_battery_pct: float = 5.0
    # GEO-SPOOF review flags (exclude nothing; RULES.md defaults, docs/geo.md):
    # constant_accuracy: this many consecutive usable fixes with bit-identical accuracy ...
    constant_accuracy_min_count: int = 20
    # ... while some fix of the run lies more than this far from the run's first fix
    constant_accuracy_min_extent_m: float = 200.0
    # ... unless the phone is an iPhone (WorkerDay.platform "ios") and the run's accuracy is
    # one of the quantised values iPhones hold honestly for long stretches (m)
    constant_accuracy_ios_values_m: tuple[float, ...] = (5.0, 10.0, 65.0)
    # jump: a segment faster than spike_speed_kmh and longer than this
    jump_min_distance_m: float = 1000.0


@dataclass(frozen=True)
class PatrolResult:
    """One patrol window's verdict (YK-PATROL, -DURATION, -WINDOWS, -PERFORMED, GEO-STILL)."""

    window: str  # "am" | "pm"
    status: PatrolStatus
    in_grid_s: int
    required_s: int
    tolerance_s: int  # seconds counted only thanks to the boundary tolerance
    lost_s: dict[str, int]  # seconds lost by reason: gap, speed, still, suspect
    stationary: bool
    started_in_app: bool
    exemption: str | None = None  # exemption kind that made it "exempt"


@dataclass(frozen=True)
class OffPost:
    """A continuous off-post interval (GEO-OFFPOST) or cross-post interval (GEO-CROSSPOST)."""

    kind: Literal["offpost", "crosspost"]
    start: float
    end: float
    other_grid_id: str | None = None
    # an office's review ("confirmed" | "dismissed"), attached by checkins after the engine;
    # the engine itself always leaves it None
    decision: str | None = None


@dataclass(frozen=True)
class PhoneOff:
    """A silent on-duty interval (GEO-PHONEOFF) with its likely cause."""

    start: float
    end: float
    cause: str  # "phone_off" | "app_stopped" | "gps_off" | "no_network" | "app_background" | "unknown"


@dataclass(frozen=True)
class SuspectFix:
    """A fix kept but left out of every computation (GEO-SPOOF)."""

    t: float
    lon: float
    lat: float
    reasons: tuple[str, ...]
    # an office's review ("confirmed" | "dismissed"), attached by checkins after the engine
    decision: str | None = None


@dataclass(frozen=True)
class SpoofFlag:
    """A GEO-SPOOF review flag (``constant_accuracy`` or ``jump``): it excludes nothing.

    ``t``/``lon``/``lat``: the fix it is shown at (a run's first fix, the fix a jump lands
    on); ``start``/``end``: the run's first and last fix, or the fix a jump leaves and the
    one it lands on; ``evidence``: the figures of the test (see ``geo.spoof``).
    """

    reason: str
    t: float
    lon: float
    lat: float
    start: float
    end: float
    evidence: dict[str, float | int | None] = field(default_factory=dict)
    # an office's review ("confirmed" | "dismissed"), attached by checkins after the engine
    decision: str | None = None


@dataclass(frozen=True)
class SigninResult:
    """The day's sign-in verdict (GEO-SIGNIN, YK-SIGNIN-PLACE, YK-LOG for parttime)."""

    status: SigninStatus
    at: float | None
    distance_m: float | None = None


@dataclass(frozen=True)
class DayResult:
    """The engine's verdict for one worker-day; ``scoring`` turns it into deductions."""

    worker_id: str
    date: dt.date
    role: Role
    grid_id: str
    working_day: bool
    patrols: dict[str, PatrolResult]
    signin: SigninResult
    offpost: tuple[OffPost, ...]
    phone_off: tuple[PhoneOff, ...]
    suspect_fixes: tuple[SuspectFix, ...]
    rejected: dict[str, int]  # rejection reason -> count (GEO-VALID)
    fixes_used: int
    online_rate: float | None  # NB-ONLINE, share of duty time online, None off duty
    duty_s: int  # on-duty seconds after exemptions
    spoof_flags: tuple[SpoofFlag, ...] = ()  # GEO-SPOOF review flags (exclude nothing)


@dataclass(frozen=True)
class CaseRecord:
    """A case (事件) of one worker as the engine and scoring read it (NB-ARRIVE, NB-VOLUME,
    YK-CASE-SLA): ``report`` made by the worker, or ``instruction`` sent to the worker; or
    ``grid``: found by someone else (another worker, the office) in the worker's own grid
    (YK-HAZARD, YK-SAFETY: did the worker report it too, and when).

    Times are POSIX seconds; ``lon``/``lat`` WGS-84. ``valid`` is the office's verdict on a
    report (None = not reviewed). ``accepted_at``/``closed_at``: YK-CASE-SLA clocks.
    """

    case_id: str
    kind: Literal["report", "instruction", "grid"]
    created_at: float
    lon: float | None
    lat: float | None
    valid: bool | None = None
    accepted_at: float | None = None
    closed_at: float | None = None
    complex: bool = False
    category: str | None = None


@dataclass(frozen=True)
class CaseVerdict:
    """The engine's verdict on one case of a worker-day.

    Instructions: NB-ARRIVE's ``arrived_at`` (first usable fix within ``arrive_radius_m``,
    same local day), ``arrival_s`` and ``arrival`` (``ok`` within ``within_s`` inclusive,
    ``late`` beyond, ``none`` without an arrival). ``on_duty``: the instruction came inside
    the duty windows of a working day (an off-duty instruction is judged but not charged).
    Reports: arrival fields are None. Grid cases (found by others in the worker's grid):
    ``own_report_s``, seconds from that case to the worker's first own report of the same
    category near it (negative: the worker reported first), None if the worker did not.
    """

    case: CaseRecord
    arrived_at: float | None = None
    arrival_s: int | None = None
    arrival: Literal["ok", "late", "none"] | None = None
    on_duty: bool = True
    own_report_s: int | None = None


@dataclass(frozen=True)
class ReportCount:
    """NB-VOLUME input of a worker-day: reports made, and those the office found valid."""

    total: int
    valid: int
    case_ids: tuple[str, ...] = ()
    valid_ids: tuple[str, ...] = ()
