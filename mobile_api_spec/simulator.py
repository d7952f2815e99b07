"""Reference phone simulator for the mobile API (``/api/mobile/v1``), built on httpx.

It behaves like the field app: logs in with phone, password and device id, records fixes
and heartbeats with a per-device sequence number and client ids, buffers them while offline,
uploads them in batches, retries failed uploads with the *same* client ids (so the server
answers ``duplicate`` rather than storing twice), refreshes its access token, and can run
with a skewed clock. Tracks come from CSV or GPX files (FORMATS.md) or from Python lists.

Run ``uv run python -m mobile_api_spec.simulator --help``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PREFIX = "/api/mobile/v1"


@dataclass(frozen=True)
class TrackPoint:
    """One recorded item of a track: a fix (lon/lat set) or a heartbeat (``kind='heartbeat'``)."""

    t: dt.datetime
    lon: float | None
    lat: float | None
    accuracy_m: float | None = 10.0
    speed_mps: float | None = None
    datum: str = "wgs84"
    mock: bool = False
    kind: str = "fix"
    extra: dict[str, Any] = field(default_factory=dict)


def _parse_time(text: str, where: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{where}: recorded_at '{text}' has no UTC offset")
    return value


def _opt_float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def load_csv(path: str | Path, worker_id: str | None = None) -> list[TrackPoint]:
    """Read a positions CSV (FORMATS.md); keep the rows of ``worker_id`` when given."""
    points = []
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            if worker_id and row.get("worker_id") != worker_id:
                continue
            kind = (row.get("kind") or "fix").strip() or "fix"
            points.append(
                TrackPoint(
                    t=_parse_time(row["recorded_at"], f"{path}, line {line}"),
                    lon=_opt_float(row.get("lon")),
                    lat=_opt_float(row.get("lat")),
                    accuracy_m=_opt_float(row.get("accuracy_m")),
                    speed_mps=_opt_float(row.get("speed_mps")),
                    datum=(row.get("crs") or "wgs84").strip() or "wgs84",
                    mock=(row.get("mock") or "false").strip().lower() == "true",
                    kind=kind,
                )
            )
    points.sort(key=lambda p: p.t)
    return points


def load_gpx(path: str | Path) -> list[TrackPoint]:
    """Read the ``<trkpt>`` of a GPX 1.1 file (WGS-84) in time order."""
    import gpxpy

    with open(path, encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    points = []
    for track in gpx.tracks:
        for segment in track.segments:
            for p in segment.points:
                if p.time is None:
                    raise ValueError(f"{path}: a <trkpt> has no <time>")
                t = p.time if p.time.tzinfo else p.time.replace(tzinfo=dt.UTC)
                acc = p.horizontal_dilution * 5.0 if p.horizontal_dilution else 10.0
                points.append(TrackPoint(t=t, lon=p.longitude, lat=p.latitude, accuracy_m=acc))
    points.sort(key=lambda p: p.t)
    return points


def load_demo_track(worker_id: str, *, seed: int = 2022, day: dt.date | None = None,
                    shift_to: dt.date | None = None) -> list[TrackPoint]:
    """The simulated day of one worker of the demo township (``checkins.demo.service``).

    Points keep the datum the demo phone reports in; ``shift_to`` moves the day to another
    date (the demo's own day is already stored when the demo was loaded).
    """
    from checkins.demo.service import build_demo

    demo = build_demo(seed=seed, day=day)
    shift = dt.timedelta(days=(shift_to - demo.day).days) if shift_to else dt.timedelta(0)
    points = []
    for r in demo.positions:
        if r["worker_id"] != worker_id:
            continue
        extra = {k: r[k] for k in ("battery_pct", "charging", "network", "gps_on", "app_state")
                 if r["kind"] == "heartbeat" and r.get(k) is not None}
        points.append(TrackPoint(t=r["recorded_at"] + shift, lon=r["lon"], lat=r["lat"],
                                 accuracy_m=r.get("accuracy_m"), speed_mps=r.get("speed_mps"),
                                 datum=r["datum"], mock=bool(r.get("mock")), kind=r["kind"],
                                 extra=extra))
    if not points:
        raise ValueError(f"no demo positions for worker {worker_id!r}")
    points.sort(key=lambda p: p.t)
    return points


def load_track(path: str | Path, worker_id: str | None = None) -> list[TrackPoint]:
    """CSV or GPX by file suffix."""
    return load_gpx(path) if str(path).lower().endswith(".gpx") else load_csv(path, worker_id)


class UploadFailed(Exception):
    """An upload that got no usable answer (network error, 5xx, 429); the items stay buffered."""


@dataclass
class SimStats:
    """What the simulator saw (for tests and benchmarks)."""

    created: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches_sent: int = 0
    retries: int = 0
    failures: int = 0
    latencies_s: list[float] = field(default_factory=list)
    rejected_reasons: dict[str, int] = field(default_factory=dict)


class PhoneSimulator:
    """A simulated phone talking to the mobile API.

    Parameters
    ----------
    base_url : server root, e.g. ``http://127.0.0.1:8000`` (ignored when ``client`` is given).
    phone, password, device_uid : the worker's credentials and the phone's id.
    client : an ``httpx.Client`` to use (FastAPI's TestClient works too).
    clock_skew_s : seconds added to every device time (a phone whose clock is off).
    batch_size : items per upload (the API takes at most 500).
    send_datum : datum to send fixes in (``wgs84``, ``gcj02``, ``bd09``); WGS-84 track points
        are converted with ``geo.crs.from_wgs84``.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        phone: str,
        password: str,
        device_uid: str,
        client: httpx.Client | None = None,
        clock_skew_s: float = 0.0,
        batch_size: int = 100,
        send_datum: str | None = None,
        timeout_s: float = 10.0,
        seq_start: int = 0,
        id_prefix: str | None = None,
    ) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=timeout_s)
        self.phone = phone
        self.password = password
        self.device_uid = device_uid
        self.clock_skew_s = clock_skew_s
        self.batch_size = batch_size
        self.send_datum = send_datum
        self.seq = seq_start
        self.id_prefix = id_prefix or device_uid
        self.buffer: list[dict[str, Any]] = []
        self.offline = False
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.worker_id: str | None = None
        self.stats = SimStats()
        self.results: dict[str, str] = {}  # client_id -> last status

    # ------------------------------------------------------------ auth
    def login(self) -> dict[str, Any]:
        """Log in; raise ``httpx.HTTPStatusError`` on refusal (e.g. ``device_pending``)."""
        r = self.client.post(
            f"{PREFIX}/auth/login",
            json={"phone": self.phone, "password": self.password, "device_uid": self.device_uid},
        )
        r.raise_for_status()
        body = r.json()
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        self.worker_id = body["worker_id"]
        return body

    def activate(self, code: str, new_password: str) -> dict[str, Any]:
        """First start of the app: open the account with the office's activation code and
        choose a password (kept as ``self.password``); raise ``httpx.HTTPStatusError`` on
        refusal. Logged in at once when this phone is approved already, else the answer says
        ``device_status: pending`` and :meth:`login` works once the office approved it."""
        r = self.client.post(
            f"{PREFIX}/auth/activate",
            json={"phone": self.phone, "code": code, "new_password": new_password,
                  "device_uid": self.device_uid},
        )
        r.raise_for_status()
        body = r.json()
        self.password = new_password
        if body.get("tokens"):
            self.access_token = body["tokens"]["access_token"]
            self.refresh_token = body["tokens"]["refresh_token"]
        self.worker_id = body["worker_id"]
        return body

    def refresh(self) -> None:
        """Rotate the refresh token; log in again if it was refused."""
        r = self.client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": self.refresh_token})
        if r.status_code != 200:
            self.login()
            return
        body = r.json()
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]

    def _headers(self) -> dict[str, str]:
        if self.access_token is None:
            self.login()
        return {"Authorization": f"Bearer {self.access_token}"}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """An authenticated request; refreshes once on ``token_expired``."""
        r = self.client.request(method, PREFIX + path, headers=self._headers(), **kw)
        if r.status_code == 401 and _code(r) in ("token_expired", "token_revoked", "token_invalid"):
            self.refresh()
            r = self.client.request(method, PREFIX + path, headers=self._headers(), **kw)
        return r

    # ------------------------------------------------------------ recording
    def device_time(self, t: dt.datetime) -> dt.datetime:
        """The phone's clock reading for true time ``t``."""
        return t + dt.timedelta(seconds=self.clock_skew_s)

    def _convert(self, lon: float, lat: float, datum: str) -> tuple[float, float, str]:
        if self.send_datum is None or self.send_datum == datum:
            return lon, lat, datum
        from geo import crs  # the project's datum conversion (GEO-CRS)

        if datum != "wgs84":
            lon, lat = crs.to_wgs84(lon, lat, datum)
        if self.send_datum != "wgs84":
            lon, lat = crs.from_wgs84(lon, lat, self.send_datum)
        return float(lon), float(lat), self.send_datum

    def record(self, p: TrackPoint) -> dict[str, Any]:
        """Turn a track point into an API item (next seq, client id) and buffer it."""
        item: dict[str, Any] = {
            "client_id": f"{self.id_prefix}-{self.seq}",
            "seq": self.seq,
            "kind": p.kind,
            "recorded_at": self.device_time(p.t).isoformat(),
        }
        self.seq += 1
        if p.kind == "fix":
            lon, lat, datum = self._convert(p.lon, p.lat, p.datum)  # type: ignore[arg-type]
            item.update(lon=lon, lat=lat, datum=datum, mock=p.mock)
            if p.accuracy_m is not None:
                item["accuracy_m"] = p.accuracy_m
            if p.speed_mps is not None:
                item["speed_mps"] = p.speed_mps
        item.update(p.extra)
        self.buffer.append(item)
        self.stats.created += 1
        return item

    def heartbeat(self, t: dt.datetime, **state: Any) -> dict[str, Any]:
        """Buffer a heartbeat with the phone's state (battery_pct, charging, network, ...)."""
        return self.record(TrackPoint(t=t, lon=None, lat=None, kind="heartbeat", extra=state))

    # ------------------------------------------------------------ upload
    def upload(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """POST one batch; raise :class:`UploadFailed` when there is no usable answer."""
        body = json.dumps({"items": items}, separators=(",", ":"))
        t0 = time.perf_counter()
        try:
            r = self._post_positions(body)
        except httpx.TransportError as exc:
            self.stats.failures += 1
            raise UploadFailed(str(exc)) from exc
        self.stats.latencies_s.append(time.perf_counter() - t0)
        self.stats.batches_sent += 1
        if r.status_code >= 500 or r.status_code == 429:
            self.stats.failures += 1
            raise UploadFailed(f"HTTP {r.status_code}: {r.text[:200]}")
        if r.status_code != 200:
            raise httpx.HTTPStatusError(f"upload refused: {r.text[:300]}", request=r.request, response=r)
        result = r.json()
        for it in result["items"]:
            self.results[str(it["client_id"])] = it["status"]
            if it["status"] == "rejected":
                key = f"{it.get('reason')}:{it.get('field')}"
                self.stats.rejected_reasons[key] = self.stats.rejected_reasons.get(key, 0) + 1
        self.stats.accepted += result["accepted"]
        self.stats.duplicates += result["duplicates"]
        self.stats.rejected += result["rejected"]
        return result

    def _post_positions(self, body: str) -> httpx.Response:
        headers = {**self._headers(), "Content-Type": "application/json"}
        r = self.client.post(f"{PREFIX}/positions", content=body, headers=headers)
        if r.status_code == 401 and _code(r) in ("token_expired", "token_revoked", "token_invalid"):
            self.refresh()
            headers = {**self._headers(), "Content-Type": "application/json"}
            r = self.client.post(f"{PREFIX}/positions", content=body, headers=headers)
        return r

    def flush(self, max_retries: int = 3, backoff_s: float = 0.0) -> int:
        """Upload the buffer in batches; keep what failed (offline buffering); return items sent."""
        if self.offline:
            return 0
        sent = 0
        while self.buffer:
            batch = self.buffer[: self.batch_size]
            for attempt in range(max_retries + 1):
                try:
                    self.upload(batch)
                    break
                except UploadFailed:
                    if attempt == max_retries:
                        return sent
                    self.stats.retries += 1
                    if backoff_s:
                        time.sleep(backoff_s * (2**attempt) * (0.5 + random.random()))
            del self.buffer[: len(batch)]
            sent += len(batch)
        return sent

    def replay(
        self,
        points: Iterable[TrackPoint],
        *,
        speed: float = 0.0,
        upload_every_s: float = 300.0,
        offline: Callable[[dt.datetime], bool] | None = None,
        heartbeat_every_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> SimStats:
        """Replay a track: record each point, upload every ``upload_every_s`` of track time.

        ``speed`` is the time acceleration (1 = real time, 60 = a minute per second, 0 = as
        fast as possible). ``offline(t)`` says whether the phone has no network at track time
        ``t``: items then stay buffered and go out with the first upload after it returns.
        """
        last_t: dt.datetime | None = None
        last_upload: dt.datetime | None = None
        last_hb: dt.datetime | None = None
        for p in points:
            if last_t is not None and speed > 0:
                sleep(max(0.0, (p.t - last_t).total_seconds() / speed))
            last_t = p.t
            self.record(p)
            if heartbeat_every_s and (last_hb is None or (p.t - last_hb).total_seconds() >= heartbeat_every_s):
                self.heartbeat(p.t, battery_pct=80, charging=False, network="4g", gps_on=True, app_state="foreground")
                last_hb = p.t
            self.offline = bool(offline and offline(p.t))
            if last_upload is None:
                last_upload = p.t
            if (p.t - last_upload).total_seconds() >= upload_every_s or len(self.buffer) >= 500:
                if self.flush():
                    last_upload = p.t
        self.offline = False
        self.flush()
        return self.stats

    # ------------------------------------------------------------ other endpoints
    def assignment(self, datum: str = "wgs84") -> dict[str, Any]:
        """Today's assignment in the given datum."""
        r = self.request("GET", "/me/assignment", params={"datum": datum})
        r.raise_for_status()
        return r.json()

    def signin(self, p: TrackPoint, client_id: str | None = None) -> dict[str, Any]:
        """Sign in (签到) at the fix ``p``."""
        fix = {
            "lon": p.lon, "lat": p.lat, "datum": p.datum, "accuracy_m": p.accuracy_m,
            "recorded_at": self.device_time(p.t).isoformat(), "mock": p.mock,
        }
        r = self.request("POST", "/signins", json={"client_id": client_id or f"{self.id_prefix}-s-{p.t.timestamp():.0f}", "fix": fix})
        r.raise_for_status()
        return r.json()

    def start_patrol(self, t: dt.datetime) -> dict[str, Any]:
        """Start a patrol at device time ``t``."""
        r = self.request("POST", "/patrols", json={"client_id": f"{self.id_prefix}-p-{t.timestamp():.0f}", "started_at": self.device_time(t).isoformat()})
        r.raise_for_status()
        return r.json()

    def stop_patrol(self, patrol_id: str, t: dt.datetime) -> dict[str, Any]:
        """Stop patrol ``patrol_id`` at device time ``t``."""
        r = self.request("POST", f"/patrols/{patrol_id}/stop", json={"ended_at": self.device_time(t).isoformat()})
        r.raise_for_status()
        return r.json()

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _code(r: httpx.Response) -> str | None:
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


def synthetic_track(
    lon0: float, lat0: float, start: dt.datetime, n: int, step_s: float = 30.0, step_m: float = 20.0, seed: int = 0
) -> Iterator[TrackPoint]:
    """A walk of ``n`` fixes ``step_s`` apart, about ``step_m`` metres per step (WGS-84)."""
    rng = random.Random(seed)
    lon, lat = lon0, lat0
    for i in range(n):
        yield TrackPoint(t=start + dt.timedelta(seconds=i * step_s), lon=round(lon, 7), lat=round(lat, 7),
                         accuracy_m=8.0 + rng.random() * 10, speed_mps=step_m / step_s)
        lon += (rng.random() - 0.5) * 2 * step_m / 96_000
        lat += (rng.random() - 0.5) * 2 * step_m / 111_000


def main(argv: list[str] | None = None) -> int:
    """Command line: replay a track file for one worker through the API."""
    ap = argparse.ArgumentParser(
        prog="python -m mobile_api_spec.simulator",
        description="Replay a GPX/CSV track through the gridpatrol mobile API like a phone would.",
    )
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument("--phone", required=True)
    ap.add_argument("--password", required=True, help="the password (with --activate: the new one)")
    ap.add_argument("--activate", metavar="CODE",
                    help="first start: open the account with this activation code, setting "
                    "--password; then stop if the phone is still pending approval")
    ap.add_argument("--device-uid", required=True, help="the phone's id (must be approved)")
    ap.add_argument("--track", help="CSV (FORMATS.md) or GPX file; default: a synthetic walk")
    ap.add_argument("--worker-id", help="keep only this worker's rows of a CSV")
    ap.add_argument("--demo-worker", help="replay this demo worker's simulated day (checkins.demo.service)")
    ap.add_argument("--demo-shift-to", type=dt.date.fromisoformat,
                    help="move the demo day to this date (YYYY-MM-DD)")
    ap.add_argument("--speed", type=float, default=0.0, help="time acceleration: 1 = real time, 0 = no waiting")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--upload-every-s", type=float, default=300.0, help="upload interval in track time")
    ap.add_argument("--skew-s", type=float, default=0.0, help="device clock error in seconds")
    ap.add_argument("--datum", choices=["wgs84", "gcj02", "bd09"], help="send fixes in this datum")
    ap.add_argument("--offline", action="append", default=[], metavar="FROM/TO",
                    help="ISO times with offsets: no network in [FROM, TO) (repeatable)")
    ap.add_argument("--heartbeat-every-s", type=float, default=None)
    ap.add_argument("--lon", type=float, default=121.05, help="start of the synthetic walk")
    ap.add_argument("--lat", type=float, default=32.45)
    ap.add_argument("--fixes", type=int, default=120, help="length of the synthetic walk")
    args = ap.parse_args(argv)

    if args.demo_worker:
        points = load_demo_track(args.demo_worker, shift_to=args.demo_shift_to)
    elif args.track:
        points = load_track(args.track, args.worker_id)
    else:
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30 * args.fixes)
        points = list(synthetic_track(args.lon, args.lat, start, args.fixes))
    windows = []
    for spec in args.offline:
        a, b = spec.split("/")
        windows.append((_parse_time(a, "--offline"), _parse_time(b, "--offline")))

    sim = PhoneSimulator(
        args.base_url, phone=args.phone, password=args.password, device_uid=args.device_uid,
        clock_skew_s=args.skew_s, batch_size=args.batch_size, send_datum=args.datum,
    )
    if args.activate:
        try:
            done = sim.activate(args.activate, args.password)
        except httpx.HTTPStatusError as exc:
            print(f"activation refused: {exc.response.text}", file=sys.stderr)
            return 2
        if done["device_status"] != "approved":
            print("activated; this phone now waits for the village office's approval, then "
                  "run again without --activate", file=sys.stderr)
            return 0
    try:
        sim.login()
    except httpx.HTTPStatusError as exc:
        print(f"login refused: {exc.response.text}", file=sys.stderr)
        return 2
    stats = sim.replay(
        points, speed=args.speed, upload_every_s=args.upload_every_s,
        offline=(lambda t: any(a <= t < b for a, b in windows)) if windows else None,
        heartbeat_every_s=args.heartbeat_every_s,
    )
    lat = sorted(stats.latencies_s)
    summary = {
        "created": stats.created, "accepted": stats.accepted, "duplicates": stats.duplicates,
        "rejected": stats.rejected, "rejected_reasons": stats.rejected_reasons,
        "batches": stats.batches_sent, "retries": stats.retries, "unsent": len(sim.buffer),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
    }
    print(json.dumps(summary, indent=2))
    sim.close()
    return 0 if not sim.buffer else 1


if __name__ == "__main__":
    raise SystemExit(main())
