"""Office browser pages under ``/office`` (server-rendered Jinja2, a little JS, Leaflet).

Same scope rules as the API (:data:`ScopeDep`); forms post here and redirect back with a
message. The login cookie is SameSite=Strict, so a form posted from another site carries no
session.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from checkins.auth.office import LoginThrottled, OfficeScope, login, logout
from checkins.db.engine import write_here
from checkins.evaluation.models import DayResult
from checkins.field.exemptions import visible_exemption
from checkins.office import dashboard as dash
from checkins.office import decisions
from checkins.office import live as olive
from checkins.office import queries as oq
from checkins.township.models import Worker
from server.deps import SessionDep, SettingsDep
from server.messages import install_filters
from server.office.api import grace_s, set_login_cookie
from server.office.auth import COOKIE, ScopeDep, TownshipScopeDep, client_address, token_of
from server.office.config import get_office_settings
from server.security import install_template_globals

router = APIRouter(prefix="/office", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals.update(role_zh=oq.ROLE_ZH, patrol_zh=oq.PATROL_ZH, signin_zh=oq.SIGNIN_ZH)
install_template_globals(templates.env)  # csrf_field(), csrf_token()

STATUS_ZH = {"on_patrol": "巡查中", "off_post": "脱岗", "unreachable": "失联",
             "not_patrolling": "未巡查", "on_leave": "请假/外勤", "off_duty": "非工作时间"}
KIND_ZH = {"sick_leave": "病假", "personal_leave": "事假", "field_duty": "外勤",
           "special": "特殊情况"}
templates.env.globals.update(status_zh=STATUS_ZH, kind_zh=KIND_ZH)


def _hhmm(iso: str | None) -> str:
    return iso[11:16] if iso and len(iso) >= 16 else ""


templates.env.filters["hhmm"] = _hhmm
install_filters(templates.env)


def _page(request: Request, name: str, scope: OfficeScope, session: Any, **ctx: Any
          ) -> HTMLResponse:
    ctx.update(request=request, scope=scope, villages=scope.villages(session),
               pending=oq.pending_counts(session, scope),
               message=request.query_params.get("msg"), error=request.query_params.get("error"))
    return templates.TemplateResponse(request, name, ctx)


def _latest_date(session: Any, village_id: str) -> dt.date:
    d = session.scalar(sa.select(sa.func.max(DayResult.work_date)).join(
        Worker, Worker.worker_id == DayResult.worker_id).where(Worker.village_id == village_id))
    return d or oq.local_today(session, village_id)


def redirect_with_message(url: str, msg: str | None = None, error: str | None = None
                          ) -> RedirectResponse:
    """303 to ``url`` with a ``msg`` (or ``error``) query parameter for the page banner."""
    sep = "&" if "?" in url else "?"
    if msg:
        url += f"{sep}msg={quote(msg)}"
    elif error:
        url += f"{sep}error={quote(error)}"
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/office") -> HTMLResponse:
    """The login form."""
    return templates.TemplateResponse(request, "login.html", {
        "next": next if next.startswith("/office") else "/office",
        "error": request.query_params.get("error")})


@router.post("/login")
def login_form(request: Request, session: SessionDep, settings: SettingsDep,
               username: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=256)],
               next: Annotated[str, Form(max_length=500)] = "/office") -> Response:
    """Check the credentials, set the session cookie, go to ``next``."""
    target = next if next.startswith("/office") and not next.startswith("//") else "/office"
    try:
        got = login(session, username, password, source=client_address(request))
    except LoginThrottled:
        return redirect_with_message(f"/office/login?next={quote(target)}",
                         error="登录失败次数过多，请稍后再试")
    if got is None:
        return redirect_with_message(f"/office/login?next={quote(target)}", error="用户名或密码错误")
    session.commit()
    resp = RedirectResponse(target, status_code=303)
    set_login_cookie(resp, got[0], settings.environment == "production")
    return resp


@router.post("/logout")
def logout_form(request: Request, scope: ScopeDep, session: SessionDep) -> Response:
    """End the session and go to the login page."""
    token = token_of(request)
    if token and scope.session_id is not None:
        logout(session, token)
        session.commit()
    resp = RedirectResponse("/office/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("")
def home(scope: ScopeDep, session: SessionDep) -> Response:
    """The dashboard (the day table, the week and the live map are one click away)."""
    return RedirectResponse("/office/dashboard", status_code=303)


# --------------------------------------------------------------------------- tables


@router.get("/villages/{village_id}")
def village_home(village_id: str, scope: ScopeDep, session: SessionDep) -> Response:
    """The village's day table on its latest evaluated date."""
    scope.village(session, village_id)
    return RedirectResponse(f"/office/villages/{village_id}/days/"
                            f"{_latest_date(session, village_id)}", status_code=303)


@router.get("/villages/{village_id}/days/{date}", response_class=HTMLResponse)
def day_page(request: Request, village_id: str, date: dt.date, scope: ScopeDep,
             session: SessionDep, settings: SettingsDep, status: str | None = None,
             role: str | None = None, q: str | None = None, sort: str = "worker_id",
             desc: bool = False) -> HTMLResponse:
    """Day table: sign-in, am/pm in-grid minutes and status, off-post, phone-off, suspect."""
    table = oq.day_table(session, scope, village_id, date, status=status, role=role, q=q,
                         sort=sort, desc=desc, grace_s=grace_s(settings))
    query = {k: v for k, v in (("status", status), ("role", role), ("q", q)) if v}
    # the export links carry the page's filters and order (the file = the rows on screen)
    shown = query | ({"sort": sort} if sort != "worker_id" else {}) | ({"desc": "true"} if desc else {})
    export_qs = ("?" + urlencode(shown)) if shown else ""
    return _page(request, "day.html", scope, session, t=table, village_id=village_id,
                 export_qs=export_qs,
                 date=date, prev_date=date - dt.timedelta(days=1),
                 next_date=date + dt.timedelta(days=1), week=oq.week_start(date),
                 query=query, columns=oq.DAY_COLUMNS, grace_h=round(grace_s(settings) / 3600))


@router.get("/villages/{village_id}/weeks/{start}", response_class=HTMLResponse)
def week_page(request: Request, village_id: str, start: dt.date, scope: ScopeDep,
              session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Week view: seven days of points and patrol statuses per worker."""
    week = oq.week_view(session, scope, village_id, start, grace_s=grace_s(settings))
    return _page(request, "week.html", scope, session, w=week, village_id=village_id,
                 start=start, prev=start - dt.timedelta(days=7),
                 next=start + dt.timedelta(days=7))


def _local_at(session: Any, at: dt.datetime | None) -> dt.datetime | None:
    """``?at=`` of the live pages: a naive time is the township's local time."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(oq.township_tz(session)))
    return at


def _live_page(request: Request, scope: OfficeScope, session: Any,
               village_id: str | None, at: dt.datetime | None) -> HTMLResponse:
    data = olive.live_map(session, scope, village_id, _local_at(session, at))
    # the map shows every worker's precise position: one audit row per opening (PIPL)
    oq.log_live_view(session, scope.actor, village_id, data["at"])
    cfg = get_office_settings()
    query = {k: v for k, v in (("village_id", village_id),
                               ("at", at.isoformat() if at else None)) if v}
    return _page(request, "live.html", scope, session, live=data, village_id=village_id,
                 live_village=village_id, state_zh=olive.STATE_ZH,
                 live_cfg={"json_url": "/office/live.json", "grids_url": "/office/live/grids.json",
                           "query": query, "refresh_s": 0 if at else 30,
                           "tile_url": cfg.tile_url, "attribution": cfg.tile_attribution,
                           "max_zoom": cfg.tile_max_zoom, "states": olive.STATE_ZH,
                           # the open cases as they are now (not shown for a past moment)
                           "cases_url": None if at else "/office/live/cases.json"})


@router.get("/villages/{village_id}/live", response_class=HTMLResponse)
def live_page(request: Request, village_id: str, scope: ScopeDep, session: SessionDep,
              at: dt.datetime | None = None) -> HTMLResponse:
    """Live map of a village: positions and states now (``?at=`` to look back)."""
    return _live_page(request, scope, session, village_id, at)


@router.get("/live", response_class=HTMLResponse)
def live_all_page(request: Request, scope: ScopeDep, session: SessionDep,
                  village_id: str | None = None, at: dt.datetime | None = None
                  ) -> HTMLResponse:
    """Live map of every visible village (or of ``?village_id=``)."""
    return _live_page(request, scope, session, village_id or None, at)


@router.get("/live.json")
def live_json(scope: ScopeDep, session: SessionDep, village_id: str | None = None,
              at: dt.datetime | None = None) -> JSONResponse:
    """What the live map polls: rows with positions and states, open alerts, counts."""
    return JSONResponse(olive.live_map(session, scope, village_id or None,
                                       _local_at(session, at)),
                        headers={"Cache-Control": "no-store"})


@router.get("/live/grids.json")
def live_grids(scope: ScopeDep, session: SessionDep, village_id: str | None = None
               ) -> JSONResponse:
    """The grids under the live map (GeoJSON)."""
    return JSONResponse(olive.grid_features(session, scope, village_id or None))


# --------------------------------------------------------------------------- dashboard


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, scope: ScopeDep, session: SessionDep,
                   village_id: str | None = None, date: dt.date | None = None
                   ) -> HTMLResponse:
    """Today's and this week's numbers per village, pending decisions, weekly and monthly
    trends (ECharts); every number links to the rows behind it."""
    vids = ([scope.village(session, village_id).village_id] if village_id
            else [v.village_id for v in scope.villages(session)])
    today = oq.local_today(session, vids[0] if vids else None)
    day = date or dash.latest_day(session, vids, today)
    data = dash.dashboard(session, scope, day, village_id or None)
    return _page(request, "dashboard.html", scope, session, dsh=data, date=day,
                 village_id=village_id or scope.village_id, one_village=village_id,
                 is_today=day == today, week=oq.week_start(day),
                 prev_date=day - dt.timedelta(days=1), next_date=day + dt.timedelta(days=1),
                 chart_data={"trends": data["trends"], "names": data["names"]})


# --------------------------------------------------------------------------- worker-day


def timeline(result: dict[str, Any] | None, day_start: str) -> list[dict[str, Any]]:
    """Segments of the day's off-post and phone-off intervals and of the server's own
    outages (never charged, GEO-PHONEOFF) as percentages of 24 h."""
    if not result:
        return []
    t0 = dt.datetime.fromisoformat(day_start)
    out = []
    for kind, items in (("offpost", result.get("offpost") or []),
                        ("phoneoff", result.get("phone_off") or []),
                        ("outage", result.get("server_outages") or [])):
        for i in items:
            a = (dt.datetime.fromisoformat(i["start"]) - t0).total_seconds()
            b = (dt.datetime.fromisoformat(i["end"]) - t0).total_seconds()
            a, b = max(a, 0.0), min(b, 86400.0)
            if b <= a:
                continue
            cls = i.get("kind", kind) if kind == "offpost" else kind
            out.append({"cls": cls, "left": round(a / 864, 3),
                        "width": max(round((b - a) / 864, 3), 0.15),
                        "title": f"{i.get('rule')} {_hhmm(i['start'])}–{_hhmm(i['end'])} "
                                 f"({round(i.get('duration_s', b - a) / 60)} 分钟)"
                                 + (" 服务器故障，不计关机" if kind == "outage" else "")})
    return out


@router.get("/workers/{worker_id}/days/{date}", response_class=HTMLResponse)
def worker_day_page(request: Request, worker_id: str, date: dt.date, scope: ScopeDep,
                    session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The track on a map over the grids and office, the timeline, the deductions, flags."""
    data = oq.worker_day(session, scope, worker_id, date, grace_s=grace_s(settings))
    oq.log_track_view(session, scope.actor, worker_id, date, via="page")
    cfg = get_office_settings()
    map_cfg = {"tile_url": cfg.tile_url, "attribution": cfg.tile_attribution,
               "max_zoom": cfg.tile_max_zoom}
    return _page(request, "worker_day.html", scope, session, d=data,
                 map_cfg=map_cfg, segments=timeline(data["result"],
                                                                 data["day_start"]),
                 prev_date=date - dt.timedelta(days=1), next_date=date + dt.timedelta(days=1))


@router.post("/workers/{worker_id}/days/{date}/flags/bulk")
def bulk_flag_form(worker_id: str, date: dt.date, scope: ScopeDep, session: SessionDep,
                   kind: Annotated[str, Form(max_length=16)],
                   decision: Annotated[str, Form(max_length=16)],
                   reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Confirm or dismiss every undecided flag of a kind of the worker-day, one reason."""
    write_here(session)
    scope.worker(session, worker_id)
    back = f"/office/workers/{worker_id}/days/{date}"
    try:
        out = decisions.decide_flags_bulk(session, worker_id=worker_id, day=date, kind=kind,
                                          decision=decision, reason=reason, actor=scope.actor)
    except decisions.DecisionError as exc:
        return redirect_with_message(back, error=str(exc))
    session.commit()
    return redirect_with_message(back, msg=f"已处理 {out['decided']} 条标记")


@router.post("/workers/{worker_id}/days/{date}/flags")
def flag_form(worker_id: str, date: dt.date, scope: ScopeDep, session: SessionDep,
              kind: Annotated[str, Form(max_length=16)], key: Annotated[str, Form(max_length=64)],
              decision: Annotated[str, Form(max_length=16)],
              reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Confirm or dismiss a flag from the worker-day page."""
    write_here(session)
    scope.worker(session, worker_id)
    back = f"/office/workers/{worker_id}/days/{date}"
    try:
        decisions.decide_flag(session, worker_id=worker_id, day=date, kind=kind, key=key,
                              decision=decision, reason=reason, actor=scope.actor)
    except decisions.DecisionError as exc:
        return redirect_with_message(back, error=str(exc))
    session.commit()
    return redirect_with_message(back, msg="已记录")


# --------------------------------------------------------------------------- decisions


@router.get("/decisions", response_class=HTMLResponse)
def decisions_page(request: Request, scope: ScopeDep, session: SessionDep,
                   village_id: str | None = None, status: str = "requested") -> HTMLResponse:
    """Requests to decide (leave, field duty, special cases) and phones waiting approval."""
    ex = oq.exemptions(session, scope, village_id=village_id, status=status or None)
    dev = oq.devices(session, scope, village_id=village_id,
                     status="pending" if status == "requested" else None)
    return _page(request, "decisions.html", scope, session, exemptions=ex, devices=dev,
                 village_id=village_id, status=status)


@router.post("/exemptions/{exemption_id}/decision")
def exemption_form(exemption_id: int, scope: ScopeDep, session: SessionDep,
                   decision: Annotated[str, Form(max_length=16)],
                   reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Approve or deny a request from the decisions page."""
    write_here(session)
    visible_exemption(session, scope, exemption_id)
    try:
        out = decisions.decide_exemption(session, exemption_id=exemption_id, decision=decision,
                                         reason=reason, actor=scope.actor)
    except decisions.DecisionError as exc:
        return redirect_with_message("/office/decisions", error=str(exc))
    session.commit()
    word = "已批准" if out["status"] == "approved" else "已驳回"
    return redirect_with_message("/office/decisions", msg=f"申请 {exemption_id} {word}")


@router.post("/devices/{device_id}/decision")
def device_form(device_id: int, scope: ScopeDep, session: SessionDep,
                decision: Annotated[str, Form(max_length=16)],
                reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Approve or revoke a phone from the decisions page."""
    write_here(session)
    scope.device(session, device_id)
    try:
        decisions.decide_device(session, device_id=device_id, decision=decision, reason=reason,
                                actor=scope.actor)
    except decisions.DecisionError as exc:
        return redirect_with_message("/office/decisions", error=str(exc))
    session.commit()
    return redirect_with_message("/office/decisions", msg=f"设备 {device_id} 已处理")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, scope: TownshipScopeDep, session: SessionDep,
               action: str | None = None, entity: str | None = None,
               actor: str | None = None) -> HTMLResponse:
    """The audit log (township office and administrator), with a CSV export link."""
    rows = oq.audit_rows(session, action=action, entity=entity, actor=actor, limit=500)
    return _page(request, "audit.html", scope, session, rows=rows, tz=oq.township_tz(session),
                 filters={"action": action or "", "entity": entity or "", "actor": actor or ""})
