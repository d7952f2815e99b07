"""Office page ``/office/accounts``: the workers' app accounts of the caller's villages.

A village office (or the township office for any village) downloads the activation codes of
its workers as a workbook to print (``POST /office/accounts/codes``) and resets the account
of one of its workers (``POST /office/accounts/{worker_id}/reset``, the new code is shown
once); both are audited and scoped like every office page (another village's worker is 404).
Phone approval stays on the decisions page.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from checkins.auth import accounts
from checkins.auth.models import ActivationCode, MobileAccount
from checkins.auth.office import NotVisible
from checkins.township.models import Worker
from server.deps import SessionDep, SettingsDep
from server.office.auth import ScopeDep
from server.office.pages import _page, redirect_with_message

router = APIRouter(prefix="/office", include_in_schema=False)


def _local(t: dt.datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def account_rows(session: Any, scope: Any, village_id: str | None, now: dt.datetime,
                 tz: str) -> list[dict[str, Any]]:
    """One row per worker in scope: account state and the last code's state."""
    q = scope.restrict(sa.select(Worker).order_by(Worker.village_id, Worker.worker_id),
                       Worker.village_id)
    if village_id:
        q = q.where(Worker.village_id == village_id)
    workers = session.scalars(q).all()
    ids = [w.worker_id for w in workers]
    acct = {a.worker_id: a for a in session.scalars(
        sa.select(MobileAccount).where(MobileAccount.worker_id.in_(ids)))} if ids else {}
    last: dict[str, ActivationCode] = {}
    if ids:
        for c in session.scalars(sa.select(ActivationCode).where(
                ActivationCode.worker_id.in_(ids)).order_by(ActivationCode.id)):
            last[c.worker_id] = c
    out = []
    for w in workers:
        a, c = acct.get(w.worker_id), last.get(w.worker_id)
        if not w.active:
            state = "停用（已离开花名册）"
        elif a is not None and a.password_hash != accounts.DISABLED_HASH:
            state = "已激活"
        elif c is not None and c.used_at is None and c.revoked_at is None and c.expires_at > now:
            state = f"待激活（激活码有效至 {_local(c.expires_at, tz)}）"
        else:
            state = "未发激活码" if c is None else "激活码已失效"
        out.append({"worker_id": w.worker_id, "name": w.name, "phone": w.phone,
                    "village_id": w.village_id, "active": w.active, "state": state})
    return out


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, scope: ScopeDep, session: SessionDep,
                  settings: SettingsDep, village_id: str | None = None) -> HTMLResponse:
    """Workers and their app accounts; download codes; reset one account."""
    if village_id:
        scope.village(session, village_id)
    rows = account_rows(session, scope, village_id, dt.datetime.now(dt.UTC), settings.timezone)
    return _page(request, "accounts.html", scope, session, rows=rows, village_id=village_id,
                 issued=None)


@router.post("/accounts/codes")
def codes_download(scope: ScopeDep, session: SessionDep, settings: SettingsDep,
                   village_id: Annotated[str, Form(max_length=32)],
                   again: Annotated[bool, Form()] = False) -> Response:
    """New activation codes of the village's workers without an account, as .xlsx."""
    scope.village(session, village_id)
    codes = accounts.issue_codes(session, actor=scope.actor, village_id=village_id,
                                 ttl_days=settings.activation_code_days,
                                 include_active_accounts=again)
    if not codes:
        return redirect_with_message(f"/office/accounts?village_id={village_id}",
                                     error="没有需要激活码的网格员（都已激活）")
    buf = io.BytesIO()
    accounts.codes_xlsx(codes, buf, timezone=settings.timezone)
    session.commit()
    name = f"activation-codes-{village_id}-{dt.date.today().isoformat()}.xlsx"
    return Response(buf.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/accounts/{worker_id}/reset", response_class=HTMLResponse)
def reset_form(request: Request, worker_id: str, scope: ScopeDep, session: SessionDep,
               settings: SettingsDep,
               reason: Annotated[str, Form(min_length=2, max_length=2000)]) -> Response:
    """Reset one worker's account (village scope); the new code is shown once."""
    worker = session.get(Worker, worker_id)
    if worker is None or not scope.sees_village(worker.village_id):
        raise NotVisible(f"worker {worker_id}")
    try:
        code = accounts.reset_account(session, worker_id=worker_id, actor=scope.actor,
                                      village_id=None if scope.all_villages else scope.village_id,
                                      ttl_days=settings.activation_code_days, reason=reason)
    except LookupError:
        return redirect_with_message("/office/accounts", error=f"{worker_id} 已停用，不能重置")
    session.commit()
    rows = account_rows(session, scope, worker.village_id, dt.datetime.now(dt.UTC),
                        settings.timezone)
    resp = _page(request, "accounts.html", scope, session, rows=rows,
                 village_id=worker.village_id, issued=code,
                 issued_until=_local(code.expires_at, settings.timezone))
    resp.headers["Cache-Control"] = "no-store"
    return resp
