"""Worker app accounts: one-time activation codes, office resets, leaving the roster.

The office prints one activation code per worker (:func:`issue_codes`, per village); the
worker opens the app, enters phone number + code and chooses a password
(:func:`activate`). The code is random (60 bits, Crockford base32, ``XXXX-XXXX-XXXX``),
stored only as an argon2 hash (the one hasher of :mod:`checkins.auth.tokens`), valid for a
set time, usable once, and void after :data:`MAX_FAILED` wrong tries; the API throttles
tries per phone and per device as well. The office never learns the worker's password.

A village office resets the account of a worker of its village (:func:`reset_account`): the
password stops working, every login ends, a new code is printed; audited. A worker who left
the roster (:func:`import_file` wraps the township importer) is disabled at once: every token
and unused code dies in the same transaction; their data stays for the retention periods.
Phone approval stays with the village office (:func:`checkins.auth.phone.approve_device`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.auth.models import ActivationCode, Device, MobileAccount, MobileSession
from checkins.auth.phone import AuthError, IssuedTokens, TokenSettings, _issue, set_password
from checkins.auth.tokens import hash_password, new_id, verify_password
from checkins.db.engine import begin_write, end_read_only
from checkins.township import importer
from checkins.township.models import Village, Worker

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_CHARS = 12  # 60 bits: with the throttle and MAX_FAILED, guessing is hopeless
MAX_FAILED = 5  # wrong tries before a code is void (the office prints a new one)
DEFAULT_TTL_DAYS = 7.0
DISABLED_HASH = "!disabled"  # not an argon2 hash: verify_password is always False


@dataclass(frozen=True)
class IssuedCode:
    """One printed line: who, and the code in clear (shown once, never stored)."""

    worker_id: str
    name: str
    phone: str | None
    village_id: str
    village_name: str
    code: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Activation:
    """What an activation hands to the phone: tokens only from an approved phone."""

    worker_id: str
    device_id: int
    device_status: str
    tokens: IssuedTokens | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_code() -> str:
    """A fresh activation code, ``XXXX-XXXX-XXXX`` (60 random bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_CHARS, 4))


def normalize_code(text: str) -> str:
    """The code as stored: upper case, no separators, the look-alikes read as digits."""
    t = "".join(ch for ch in text.upper() if ch not in "- \t")
    return t.translate(str.maketrans("OIL", "011"))


def _revoke_open_codes(session: Session, worker_ids: list[str], now: dt.datetime) -> None:
    if worker_ids:
        session.execute(sa.update(ActivationCode).where(
            ActivationCode.worker_id.in_(worker_ids), ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None)).values(revoked_at=now))


def issue_codes(session: Session, *, actor: str, village_id: str | None = None,
                worker_ids: list[str] | None = None, ttl_days: float = DEFAULT_TTL_DAYS,
                include_active_accounts: bool = False,
                now: dt.datetime | None = None) -> list[IssuedCode]:
    """New codes for the active workers without an app account (of ``village_id``, or those
    listed); ``include_active_accounts`` also for workers who have one (their password keeps
    working until the code is used). A worker's older unused code is void. One audit row."""
    now = now or _now()
    q = (sa.select(Worker, Village.name).join(Village, Village.village_id == Worker.village_id)
         .where(Worker.active.is_(True)).order_by(Worker.village_id, Worker.worker_id))
    if village_id is not None:
        q = q.where(Worker.village_id == village_id)
    if worker_ids is not None:
        q = q.where(Worker.worker_id.in_(worker_ids))
    if not include_active_accounts:
        q = q.where(~sa.exists().where(MobileAccount.worker_id == Worker.worker_id,
                                       MobileAccount.password_hash != DISABLED_HASH))
    rows = session.execute(q).all()
    expires = now + dt.timedelta(days=ttl_days)
    _revoke_open_codes(session, [w.worker_id for w, _ in rows], now)
    out = []
    for worker, village_name in rows:
        code = new_code()
        session.add(ActivationCode(worker_id=worker.worker_id, code_hash=hash_password(
            normalize_code(code)), created_by=actor, created_at=now, expires_at=expires))
        out.append(IssuedCode(worker.worker_id, worker.name, worker.phone, worker.village_id,
                              village_name, code, expires))
    session.flush()
    if out:
        write_audit(session, actor=actor, action="account.codes_issue", entity="village",
                    entity_id=village_id, reason=f"{len(out)} activation code(s)",
                    after={"workers": [c.worker_id for c in out],
                           "expires_at": expires.isoformat()})
    return out


def reset_account(session: Session, *, worker_id: str, actor: str,
                  village_id: str | None = None, ttl_days: float = DEFAULT_TTL_DAYS,
                  reason: str | None = None, now: dt.datetime | None = None) -> IssuedCode:
    """A village office resets a worker's app account: the password stops working, every
    login ends, and a new activation code is returned. ``village_id`` (a village office's
    own village) scopes it: a worker of another village is a ``LookupError`` like an
    unknown one. One audit row."""
    now = now or _now()
    worker = session.get(Worker, worker_id)
    if worker is None or not worker.active or (village_id is not None
                                               and worker.village_id != village_id):
        raise LookupError(f"no active worker {worker_id!r} in this office's scope")
    account = session.get(MobileAccount, worker_id)
    if account is not None:
        account.password_hash = DISABLED_HASH
        account.token_version += 1
        account.password_changed_at = now
    session.execute(sa.update(MobileSession).where(
        MobileSession.worker_id == worker_id, MobileSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="account_reset"))
    session.flush()
    codes = issue_codes(session, actor=actor, worker_ids=[worker_id], ttl_days=ttl_days,
                        include_active_accounts=True, now=now)
    write_audit(session, actor=actor, action="account.reset", entity="worker",
                entity_id=worker_id, reason=reason or "reset by the office",
                after={"expires_at": codes[0].expires_at.isoformat()})
    return codes[0]


def disable_accounts(session: Session, worker_ids: list[str], *, actor: str,
                     reason: str = "left the roster", now: dt.datetime | None = None) -> int:
    """End every login and void every unused code of these workers (data is kept)."""
    if not worker_ids:
        return 0
    now = now or _now()
    session.execute(sa.update(MobileAccount).where(MobileAccount.worker_id.in_(worker_ids))
                    .values(token_version=MobileAccount.token_version + 1))
    session.execute(sa.update(MobileSession).where(
        MobileSession.worker_id.in_(worker_ids), MobileSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="worker_disabled"))
    _revoke_open_codes(session, worker_ids, now)
    session.flush()
    write_audit(session, actor=actor, action="account.disable", entity="worker",
                entity_id=None, reason=reason, after={"workers": list(worker_ids)})
    return len(worker_ids)


def import_file(session: Session, kind: str, source: Any, name: str | None = None,
                **kw: Any) -> importer.ImportReport:
    """:func:`checkins.township.importer.import_file`, then disable the accounts of the
    workers who left the roster, in the same transaction."""
    report = importer.import_file(session, kind, source, name, **kw)
    if report.disabled:
        disable_accounts(session, report.disabled, actor=kw.get("actor", "cli"))
    return report


def activate(session: Session, *, phone: str, code: str, new_password: str, device_uid: str,
             settings: TokenSettings, device_model: str | None = None,
             now: dt.datetime | None = None) -> Activation:
    """Check phone + code, set the worker's own password, use the code up.

    Raises :class:`AuthError`: 401 ``activation_invalid`` (unknown phone or code, a
    replaced code, or one void after too many tries), ``activation_used``,
    ``activation_expired``; 403 ``device_other_worker`` / ``device_revoked``. The caller
    commits even when this raises (the count of wrong tries must stick). An unknown phone
    is registered pending (the village office approves it); tokens come only from an
    approved phone, else the app logs in once the office approved it.
    """
    now = now or _now()
    row = session.execute(
        sa.select(Worker, ActivationCode)
        .join(ActivationCode, ActivationCode.worker_id == Worker.worker_id)
        .where(Worker.phone == phone, Worker.active.is_(True))
        .order_by(ActivationCode.id.desc()).limit(1)).first()
    end_read_only(session)  # no snapshot held across the hash (SQLite)
    ok = verify_password(row[1].code_hash if row else None, normalize_code(code))
    invalid = AuthError(401, "activation_invalid",
                        "phone number or activation code is wrong, or the code was replaced; "
                        "ask your village office", "code")
    begin_write(session)
    if row is None:
        raise invalid
    worker, ac = row
    if not ok:
        session.execute(sa.update(ActivationCode).where(ActivationCode.id == ac.id).values(
            failed=ActivationCode.failed + 1,
            revoked_at=sa.case((ActivationCode.failed + 1 >= MAX_FAILED, now),
                               else_=ActivationCode.revoked_at)))
        raise invalid
    if ac.used_at is not None:
        raise AuthError(401, "activation_used", "this activation code was already used; log "
                        "in with your password or ask your village office", "code")
    if ac.revoked_at is not None:
        raise invalid
    if ac.expires_at <= now:
        raise AuthError(401, "activation_expired", "this activation code has expired; ask "
                        "your village office for a new one", "code")
    device = session.scalars(sa.select(Device).where(Device.device_uid == device_uid)).first()
    if device is not None and device.worker_id != worker.worker_id:
        raise AuthError(403, "device_other_worker", "this phone is registered to another worker")
    if device is not None and device.status == "revoked":
        raise AuthError(403, "device_revoked", "this phone's access was revoked by the office")
    # the guarded UPDATE makes two concurrent activations with one code end with one winner
    res = session.execute(sa.update(ActivationCode).where(
        ActivationCode.id == ac.id, ActivationCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise AuthError(401, "activation_used", "this activation code was already used", "code")
    account = set_password(session, worker.worker_id, new_password)
    session.execute(sa.update(MobileSession).where(
        MobileSession.worker_id == worker.worker_id, MobileSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="activated"))
    if device is None:
        device = Device(device_uid=device_uid, worker_id=worker.worker_id, status="pending",
                        model=device_model, last_seen_at=now)
        session.add(device)
    device.last_seen_at = now
    session.flush()
    write_audit(session, actor=f"worker:{worker.worker_id}", action="account.activate",
                entity="worker", entity_id=worker.worker_id, reason="activation code",
                after={"code_id": ac.id, "device_id": device.id, "device_status": device.status})
    tokens = None
    if device.status == "approved":
        s = MobileSession(id=new_id(), worker_id=worker.worker_id, device_id=device.id,
                          token_version=account.token_version, created_at=now)
        session.add(s)
        session.flush()
        tokens = _issue(session, s, settings, now)
    return Activation(worker.worker_id, device.id, device.status, tokens)


def codes_xlsx(codes: list[IssuedCode], path: Any, *, timezone: str = "Asia/Shanghai") -> None:
    """Write the codes as a workbook, one sheet per village (姓名, 工号, 手机号, 激活码,
    有效期至), ready to print and cut into slips."""
    from zoneinfo import ZoneInfo

    from openpyxl import Workbook
    from openpyxl.styles import Font

    tz = ZoneInfo(timezone)
    wb = Workbook()
    wb.remove(wb.active)
    by_village: dict[str, list[IssuedCode]] = {}
    for c in codes:
        by_village.setdefault(c.village_id, []).append(c)
    for vid, items in sorted(by_village.items()):
        ws = wb.create_sheet(title=f"{items[0].village_name}"[:31] or vid)
        ws.append([f"{items[0].village_name} 网格员 App 激活码（一次有效，请当面发放）"])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(["姓名", "工号", "手机号", "激活码", "有效期至"])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for c in items:
            ws.append([c.name, c.worker_id, c.phone or "", c.code,
                       c.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")])
        for col, width in zip("ABCDE", (12, 14, 16, 18, 18), strict=True):
            ws.column_dimensions[col].width = width
        ws.print_title_rows = "2:2"
    if not by_village:
        wb.create_sheet(title="无").append(["没有需要激活码的网格员"])
    wb.save(path)
