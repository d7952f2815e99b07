"""In-process token buckets (the per-device upload limit by default; tests).

One bucket table per limit, keyed by device or phone, in this process's memory: with several
API processes behind a load balancer each keeps its own buckets, so the effective limit is
multiplied by the number of processes. The login and password-check limits use the shared
buckets of :mod:`checkins.auth.throttle` (one table in the database) unless
``GRIDPATROL_MOBILE_LIMIT_STORE=process``; the upload limit can (``…_UPLOAD_LIMIT_STORE``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class TokenBucket:
    """A table of token buckets: ``capacity`` tokens, refilled at ``rate_per_s``."""

    def __init__(self, capacity: float, rate_per_s: float, max_keys: int = 100_000) -> None:
        self.capacity = float(capacity)
        self.rate_per_s = float(rate_per_s)
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take ``cost`` tokens for ``key``; return 0 when allowed, else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate_per_s)
            if tokens >= cost:
                wait_s = 0.0
                tokens -= cost
            else:
                wait_s = (cost - tokens) / self.rate_per_s if self.rate_per_s > 0 else 3600.0
            self._state[key] = (tokens, now)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
            return wait_s

    def reset(self) -> None:
        """Forget every key (tests)."""
        with self._lock:
            self._state.clear()
