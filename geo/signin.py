"""GEO-SIGNIN, YK-SIGNIN-PLACE and the YK-LOG sign-in deadline.

A sign-in of the local day counts only if its position lies within the village office
geofence: distance to the office <= office radius (``Place.radius_m``, or
``signin_radius_m`` when that is not positive) + min(accuracy_m, ``signin_max_accuracy_m``)
(unknown accuracy adds nothing). Distances are metres in the local projection. The first
counting sign-in of the day is the one reported.

Status: ``not_required`` when the role is not in ``signin_roles``, on a non-working day
(YK-DAYS) or when approved exemptions cover the whole duty day; else ``ok``, or ``late``
when it is after the role's ``signin_deadline`` (local "HH:MM", YK-LOG; None = no
deadline); ``outside`` when there were sign-ins but none in the geofence (or the worker
has no office to check against); ``missing`` when there were none that day.
"""

from __future__ import annotations

import numpy as np

from geo.types import SigninResult

RULE_ID = "GEO-SIGNIN"
PLACE_RULE_ID = "YK-SIGNIN-PLACE"
DEADLINE_RULE_ID = "YK-LOG"


def judge_signin(
    *,
    required: bool,
    times: np.ndarray,
    distance_m: np.ndarray,
    accuracy_m: np.ndarray,
    radius_m: float | None,
    max_accuracy_m: float,
    deadline_t: float | None,
) -> SigninResult:
    """GEO-SIGNIN verdict of one worker-day from its sign-ins (sorted by time)."""
    if not required:
        return SigninResult(status="not_required", at=None)
    if times.size == 0:
        return SigninResult(status="missing", at=None)
    if radius_m is None:
        return SigninResult(status="outside", at=float(times[0]))
    acc = np.where(np.isfinite(accuracy_m), np.minimum(accuracy_m, max_accuracy_m), 0.0)
    ok = distance_m <= radius_m + acc
    if not ok.any():
        k = int(np.argmin(distance_m))
        return SigninResult(status="outside", at=float(times[k]), distance_m=float(distance_m[k]))
    k = int(np.flatnonzero(ok)[0])
    late = deadline_t is not None and times[k] > deadline_t
    return SigninResult(
        status="late" if late else "ok", at=float(times[k]), distance_m=float(distance_m[k])
    )
