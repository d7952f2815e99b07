"""Open alerts pushed to a group robot (企业微信 WeCom or 钉钉 DingTalk) by a scheduled job.

:func:`notify_alerts` (the ``notify_alerts`` job) collects what is new since the last
successful run of the job (``job_run`` is the log): alerts opened since then (off post,
串岗, phone off: GEO-OFFPOST, GEO-CROSSPOST, GEO-PHONEOFF) and requests waiting for a
decision (leave, field duty, special; phones waiting for approval). It posts ONE markdown
message in the robot's format:

* WeCom: ``{"msgtype": "markdown", "markdown": {"content": ...}}``
  (answer ``{"errcode": 0, ...}``);
* DingTalk: ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``
  (answer ``{"errcode": 0, ...}``).

A DingTalk robot with 加签 (signed webhook, "security settings: sign"): with a ``secret``
every attempt adds ``timestamp`` (epoch ms) and ``sign`` = url-encoded base64 of
HMAC-SHA256(key=secret, message="timestamp\\nsecret") to the URL, as DingTalk documents; the
robot refuses a signature older than an hour, so each retry signs anew.

A failed post (transport error, non-2xx, ``errcode`` != 0) is retried with exponential
backoff (``attempts``, ``backoff_s`` x 1, 2, 4, ...). When every attempt fails the job fails
(its ``job_run`` row holds the error) and the next run sends the same alerts again, since
"since" is the start of the last *successful* run. Nothing new: nothing is posted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from checkins.auth.models import Device
from checkins.field.models import Exemption
from checkins.jobs.models import Alert, JobRun
from checkins.township.models import Township, Worker
from scoring.profiles import default_words

log = logging.getLogger("gridpatrol.notify")

JOB_NAME = "notify_alerts"
KINDS = ("wecom", "dingtalk")
TITLE = "网格巡查提醒"
MAX_LINES = 40  # a robot message has a size limit (WeCom markdown: 4096 bytes)
ALERT_ZH = {"offpost": "脱岗", "crosspost": "串岗", "phone_off": "手机失联"}
EXEMPTION_ZH = {"sick_leave": "病假", "personal_leave": "事假", "field_duty": "外勤",
                "special": "特殊情况"}


class NotifyError(RuntimeError):
    """Every attempt to post the message failed."""


def last_success(session: Session, name: str = JOB_NAME) -> dt.datetime | None:
    """Start of the last successful run of the job (the log in ``job_run``)."""
    return session.scalar(sa.select(sa.func.max(JobRun.started_at)).where(
        JobRun.name == name, JobRun.ok.is_(True)))


def collect(session: Session, since: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    """What is new since ``since`` (default: the last 24 h): alerts, requests, phones."""
    since = since or now - dt.timedelta(hours=24)
    alerts = session.execute(sa.select(Alert, Worker.name).join(
        Worker, Worker.worker_id == Alert.worker_id).where(
        Alert.status == "open", Alert.opened_at >= since).order_by(Alert.start_at)).all()
    requests = session.execute(sa.select(Exemption, Worker.name).join(
        Worker, Worker.worker_id == Exemption.worker_id).where(
        Exemption.status == "requested", Exemption.requested_at >= since)
        .order_by(Exemption.requested_at)).all()
    phones = session.scalar(sa.select(sa.func.count()).select_from(Device).where(
        Device.status == "pending", Device.worker_id.is_not(None)))
    return {"alerts": alerts, "requests": requests, "pending_phones": int(phones or 0)}


def render(found: dict[str, Any], tz: str) -> str:
    """The markdown text (Chinese, local times)."""
    z = ZoneInfo(tz)
    causes = default_words()["labels"]["cause"]

    def hhmm(t: dt.datetime) -> str:
        return t.astimezone(z).strftime("%H:%M")

    lines = [f"### {TITLE}"]
    if found["alerts"]:
        lines.append(f"**进行中的告警 {len(found['alerts'])} 条**")
        for a, name in found["alerts"][:MAX_LINES]:
            extra = (f"，可能原因：{causes.get(a.cause, a.cause)}" if a.kind == "phone_off"
                     and a.cause else f"，在网格 {a.other_grid_id}" if a.other_grid_id else "")
            lines.append(f"- {name}（{a.worker_id}）{ALERT_ZH.get(a.kind, a.kind)}："
                         f"{hhmm(a.start_at)} 起{extra}")
    if found["requests"]:
        lines.append(f"**待审批申请 {len(found['requests'])} 条**")
        for e, name in found["requests"][:MAX_LINES]:
            lines.append(f"- {name}（{e.worker_id}）{EXEMPTION_ZH.get(e.kind, e.kind)}："
                         f"{e.start_at.astimezone(z):%m-%d %H:%M} 至 {e.end_at.astimezone(z):%m-%d %H:%M}")
    if found["pending_phones"]:
        lines.append(f"**待批准的新手机 {found['pending_phones']} 部**")
    return "\n".join(lines)


def payload(kind: str, text: str) -> dict[str, Any]:
    """The robot's JSON body (markdown message)."""
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": TITLE, "text": text}}
    raise ValueError(f"webhook kind must be one of {', '.join(KINDS)}, not {kind!r}")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), url-encoded."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote_plus

    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(),
                   hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac).decode("ascii"))


def signed_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    """``url`` with DingTalk's ``timestamp`` and ``sign`` added (unchanged without a secret)."""
    if not secret:
        return url
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def post(url: str, body: dict[str, Any], *, attempts: int = 4, backoff_s: float = 1.0,
         timeout_s: float = 10.0, sleep: Callable[[float], None] = time.sleep,
         secret: str | None = None) -> dict[str, Any]:
    """POST ``body`` with retries and exponential backoff; the answer and the attempts made.
    ``secret``: a DingTalk signed robot's secret (each attempt signed at its own time)."""
    import httpx

    errors: list[str] = []
    for i in range(attempts):
        try:
            r = httpx.post(signed_url(url, secret), json=body, timeout=timeout_s)
            answer = r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else {}
            if r.is_success and int(answer.get("errcode", 0)) == 0:
                return {"attempts": i + 1, "status": r.status_code, "errors": errors}
            errors.append(f"HTTP {r.status_code} {str(answer or r.text)[:200]}")
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        log.warning("webhook post failed (attempt %d of %d): %s", i + 1, attempts, errors[-1])
        if i + 1 < attempts:
            sleep(backoff_s * (2 ** i))
    raise NotifyError(f"webhook failed after {attempts} attempts: {'; '.join(errors)}")


def notify_alerts(session: Session, *, url: str, kind: str, now: dt.datetime | None = None,
                  attempts: int = 4, backoff_s: float = 1.0,
                  sleep: Callable[[float], None] = time.sleep,
                  job: str = JOB_NAME, secret: str | None = None) -> dict[str, Any]:
    """Job: post what is new since the last successful run of ``job``; the summary
    (``secret``: DingTalk 加签, see :func:`signed_url`)."""
    now = now or dt.datetime.now(dt.UTC)
    since = last_success(session, job)
    found = collect(session, since, now)
    n = {"alerts": len(found["alerts"]), "requests": len(found["requests"]),
         "pending_phones": found["pending_phones"]}
    if not found["alerts"] and not found["requests"]:
        return {"sent": False, "since": since.isoformat() if since else None, **n}
    tz = session.scalar(sa.select(Township.timezone).limit(1)) or "Asia/Shanghai"
    out = post(url, payload(kind, render(found, tz)), attempts=attempts, backoff_s=backoff_s,
               sleep=sleep, secret=secret)
    return {"sent": True, "since": since.isoformat() if since else None, **n,
            "attempts": out["attempts"], "errors": out["errors"]}
