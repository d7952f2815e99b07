"""Office pages of cases (事件): the queue with SLA clocks, a case page (map, photos, history),
accept / reject / dispatch / close forms, and the export (CSV / xlsx, Chinese headers).

Same scope rules as the other office pages: a village office sees and acts on its village's
cases only (another village's case is 404). Every transition goes through
``checkins.cases.service`` (audit log); the worker-days it changes are marked for
re-evaluation so the nightly run picks the new verdicts up.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from checkins.auth.office import NotVisible, OfficeScope
from checkins.cases import service as cases
from checkins.cases.models import Case
from checkins.evaluation.flows import mark_for_reevaluation, township_profile
from checkins.office.exports import to_csv, to_xlsx
from checkins.township.models import Grid, Village, Worker
from server.deps import SessionDep, SettingsDep
from server.office.auth import ScopeDep, TownshipScopeDep
from server.office.config import get_office_settings
from server.office.pages import _page, redirect_with_message, templates

router = APIRouter(prefix="/office", include_in_schema=False)
templates.env.globals.update(case_status_zh=cases.STATUS_WORDS)
INSTRUCTION_ZH = {"sent": "已派", "acknowledged": "已签收", "arrived": "已到场", "resolved": "已处置",
                  "cancelled": "已撤销"}
CLOCK_ZH = {"soon": "即将超时", "breached": "已超时", "ok": "时限内", "done": "—"}
templates.env.globals.update(instruction_zh=INSTRUCTION_ZH, clock_zh=CLOCK_ZH)


def _scope(scope: OfficeScope) -> cases.Scope:
    return cases.Scope(None if scope.all_villages else scope.village_id)


def _tz(settings: Any) -> str:
    return settings.timezone


def _sla(session: Any, village_id: str | None) -> cases.SlaParams | None:
    """YK-CASE-SLA's clocks of the township's profile (None: the profile has no such rule)."""
    return cases.SlaParams.of(township_profile(session, village_id))


def _case_or_404(session: Any, scope: OfficeScope, case_id: int) -> Case:
    try:
        return cases.get_case(session, case_id, _scope(scope))
    except cases.CaseNotFound:
        raise NotVisible(f"case {case_id}") from None


def _reevaluate(session: Any, case: Case, tz: str) -> None:
    """The worker-days whose case verdicts this case feeds: its report, its instructions."""
    z = ZoneInfo(tz)
    items = []
    if case.reporter_id:
        items.append((case.reporter_id, case.reported_at.astimezone(z).date()))
    for ins in cases.instructions_of(session, case.id):  # type: ignore[arg-type]
        items.append((ins.worker_id, ins.created_at.astimezone(z).date()))
    mark_for_reevaluation(session, items)


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "") for k in ("status", "category", "village", "clock")}


def _queue(session: Any, scope: OfficeScope, settings: Any, f: dict[str, str], limit: int = 300
           ) -> list[tuple[Case, dict]]:
    return cases.list_cases(session, _scope(scope), status=f["status"] or None, category=f["category"] or None,
                            limit=limit,
                            village_id=f["village"] or None, clock=f["clock"] or None,
                            sla=_sla(session, f["village"] or scope.default_village(session)))


@router.get("/cases", response_class=HTMLResponse)
def queue_page(request: Request, scope: ScopeDep, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The queue: filters, SLA clocks (即将超时 / 已超时), links to each case, export."""
    f = _filters(request)
    if not request.query_params:
        f["status"] = "open"
    rows = _queue(session, scope, settings, f)
    town = cases.default_township(session)
    cats = cases.categories(session, town) if town else []
    session.commit()
    counts = {"soon": sum(1 for _, c in rows if c["state"] == "soon"),
              "breached": sum(1 for _, c in rows if c["state"] == "breached")}
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    return _page(request, "cases.html", scope, session, rows=rows, f=f, categories=cats, counts=counts,
                 tz=_tz(settings), local=cases.local, query=query)


@router.get("/live/cases.json")
def live_cases_json(scope: ScopeDep, session: SessionDep, settings: SettingsDep,
                    village_id: str | None = None) -> JSONResponse:
    """The live map's case layer: the open cases in scope (WGS-84, as the worker markers) with
    their SLA clock (``ok``, ``soon`` 即将超时, ``breached`` 已超时). A village office asking
    for another village gets 404, as for its pages."""
    if village_id and not scope.sees_village(village_id):
        raise NotVisible(f"village {village_id}")
    tz = _tz(settings)
    rows = cases.list_cases(session, _scope(scope), status="open", village_id=village_id or None,
                            sla=_sla(session, village_id or scope.default_village(session)), limit=500)
    out = [{"case_id": c.id, "category": c.category, "status": c.status,
            "status_zh": cases.STATUS_WORDS[c.status], "text": c.text[:60], "grid_id": c.grid_id,
            "village_id": c.village_id, "lon": round(float(c.geom.x), 7), "lat": round(float(c.geom.y), 7),
            "clock": clock["state"], "clock_zh": clock["label"], "due_at": cases.local(clock["due_at"], tz),
            "reported_at": cases.local(c.reported_at, tz), "url": f"/office/cases/{c.id}"}
           for c, clock in rows]
    counts = {k: sum(1 for r in out if r["clock"] == k) for k in ("ok", "soon", "breached", "done")}
    return JSONResponse({"cases": out, "counts": counts, "clock_zh": CLOCK_ZH})


def _export_rows(rows: list[tuple[Case, dict]], tz: str) -> tuple[list[str], list[list[Any]]]:
    headers = ["事件编号", "类别", "状态", "描述", "网格", "村", "上报人", "上报时间", "受理时间",
               "办结时间", "复杂事件", "有效", "时限", "时限截止", "经度(WGS-84)", "纬度(WGS-84)"]
    out = []
    for c, clock in rows:
        out.append([c.id, c.category, cases.STATUS_WORDS[c.status], c.text, c.grid_id or "", c.village_id or "",
                    c.reporter_id or c.reported_by_office or "", cases.local(c.reported_at, tz),
                    cases.local(c.accepted_at, tz), cases.local(c.closed_at, tz), "是" if c.complex else "否",
                    "" if c.valid is None else ("是" if c.valid else "否"), clock["label"],
                    cases.local(clock["due_at"], tz), round(float(c.geom.x), 7), round(float(c.geom.y), 7)])
    return headers, out


@router.get("/cases/export.{fmt}")
def export(fmt: str, request: Request, scope: ScopeDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The filtered queue as CSV (UTF-8 with BOM) or xlsx, Chinese headers."""
    if fmt not in ("csv", "xlsx"):
        return Response("csv 或 xlsx", status_code=404)
    rows = _queue(session, scope, settings, _filters(request), limit=100_000)
    headers, cells = _export_rows(rows, _tz(settings))
    name = f"cases-{dt.date.today().isoformat()}"
    if fmt == "xlsx":
        body = to_xlsx(headers, cells, "事件", "事件列表")
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, media = to_csv(headers, cells), "text/csv; charset=utf-8"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _case_data(session: Any, case: Case, tz: str) -> dict[str, Any]:
    """What the case page's map draws: the case, the instructions' places, the grid."""
    grid = session.get(Grid, case.grid_id) if case.grid_id else None
    data: dict[str, Any] = {"case": {"lon": float(case.geom.x), "lat": float(case.geom.y),
                                     "label": f"{case.category} #{case.id}"},
                            "instructions": [], "grid": None}
    if grid is not None:
        from shapely.geometry import mapping

        data["grid"] = {"grid_id": grid.grid_id, "geometry": mapping(grid.geom)}
    for ins in cases.instructions_of(session, case.id):  # type: ignore[arg-type]
        data["instructions"].append({"lon": float(ins.geom.x), "lat": float(ins.geom.y),
                                     "label": f"{ins.worker_id} {ins.place_text or ''} 截止 "
                                              f"{cases.local(ins.deadline_at, tz)}"})
    return data


def _history_rows(session: Any, case: Case, tz: str) -> list[dict[str, Any]]:
    """The audit rows of the case, each at the time of its transition (the report's device
    time, a back-dated decision's time), not the time the row was written."""
    out = []
    for h in cases.history(session, case.id):  # type: ignore[arg-type]
        after = h.after or {}
        at = dt.datetime.fromisoformat(after["at"]) if after.get("at") else h.at
        out.append({"at": cases.local(at, tz), "actor": h.actor, "action": h.action, "reason": h.reason,
                    "status": cases.STATUS_WORDS.get(after.get("status", ""), "")})
    return out


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, scope: ScopeDep, session: SessionDep,
              settings: SettingsDep) -> HTMLResponse:
    """The case: details and clock, the map, photos, instructions, history, the forms."""
    case = _case_or_404(session, scope, case_id)
    tz = _tz(settings)
    workers = list(session.scalars(sa.select(Worker).where(Worker.active.is_(True),
                                                           Worker.village_id == case.village_id)
                                   .order_by(Worker.worker_id))) if case.village_id else []
    village = session.get(Village, case.village_id) if case.village_id else None
    cfg = get_office_settings()
    map_cfg = {"tile_url": cfg.tile_url, "attribution": cfg.tile_attribution, "max_zoom": cfg.tile_max_zoom}
    data = _case_data(session, case, tz)
    return _page(request, "case.html", scope, session, c=case, tz=tz, local=cases.local,
                 clock=cases.sla_clock(case, dt.datetime.now(dt.UTC), _sla(session, case.village_id)),
                 instructions=cases.instructions_of(session, case.id),  # type: ignore[arg-type]
                 history=_history_rows(session, case, tz), workers=workers,
                 village=village, next_moves=cases.TRANSITIONS[case.status],
                 data_json=json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
                 map_json=json.dumps(map_cfg))


@router.get("/cases/{case_id}/photos/{photo_id}")
def case_photo(case_id: int, photo_id: str, scope: ScopeDep, session: SessionDep,
               settings: SettingsDep) -> Response:
    """A photo of the case or of one of its instructions (scope checked first)."""
    case = _case_or_404(session, scope, case_id)
    photos = list(case.photos or [])
    for ins in cases.instructions_of(session, case.id):  # type: ignore[arg-type]
        photos += ins.photos or []
    for p in photos:
        if p.get("id") == photo_id and p.get("path"):
            path = (Path(settings.data_dir) / p["path"]).resolve()
            if Path(settings.data_dir).resolve() in path.parents and path.exists():
                return FileResponse(path, media_type=p.get("content_type") or "image/jpeg")
    return Response("没有这张照片", status_code=404)


@router.post("/cases/categories")
def categories_form(scope: TownshipScopeDep, session: SessionDep,
                    names: Annotated[str, Form(max_length=2000)]) -> Response:
    """The township office edits the category list (one per line, in order; audited)."""
    town = cases.default_township(session)
    try:
        cases.set_categories(session, town, names.splitlines(), actor=scope.actor)  # type: ignore[arg-type]
    except cases.CaseInvalid as exc:
        session.rollback()
        return redirect_with_message("/office/cases", error=exc.message)
    session.commit()
    return redirect_with_message("/office/cases", msg="事件类别已更新")


def _done(case_id: int, msg: str) -> Response:
    return redirect_with_message(f"/office/cases/{case_id}", msg=msg)


def _act(session: Any, settings: Any, case_id: int, fn: Any, msg: str) -> Response:
    try:
        fn()
    except cases.CaseNotFound:
        raise NotVisible(f"case {case_id}") from None
    except cases.CaseInvalid as exc:
        session.rollback()
        return redirect_with_message(f"/office/cases/{case_id}", error=f"{exc.message}（{exc.field}）")
    case = session.get(Case, case_id)
    _reevaluate(session, case, _tz(settings))
    session.commit()
    return _done(case_id, msg)


@router.post("/cases/{case_id}/accept")
def accept_form(case_id: int, scope: ScopeDep, session: SessionDep, settings: SettingsDep,
                reason: Annotated[str, Form(max_length=2000)] = "",
                complex_: Annotated[str, Form(alias="complex", max_length=8)] = "") -> Response:
    """受理 (a valid report); 复杂事件 gets 15 days to close."""
    return _act(session, settings, case_id, lambda: cases.accept(
        session, case_id, scope=_scope(scope), actor=scope.actor, complex_=bool(complex_),
        reason=reason or None), "已受理")


@router.post("/cases/{case_id}/reject")
def reject_form(case_id: int, scope: ScopeDep, session: SessionDep, settings: SettingsDep,
                reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """无效 (not counted by NB-VOLUME); the reason is required."""
    return _act(session, settings, case_id, lambda: cases.reject(
        session, case_id, scope=_scope(scope), actor=scope.actor, reason=reason), "已标记为无效")


@router.post("/cases/{case_id}/dispatch")
def dispatch_form(case_id: int, scope: ScopeDep, session: SessionDep, settings: SettingsDep,
                  worker_id: Annotated[str, Form(max_length=32)],
                  place_text: Annotated[str, Form(max_length=200)] = "",
                  lon: Annotated[str, Form(max_length=32)] = "",
                  lat: Annotated[str, Form(max_length=32)] = "",
                  deadline_h: Annotated[str, Form(max_length=8)] = "24",
                  note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """派单: a worker of the case's village, a place (default: the case's), a deadline."""
    try:
        plon = float(lon) if lon.strip() else None
        plat = float(lat) if lat.strip() else None
        hours = float(deadline_h)
    except ValueError:
        return redirect_with_message(f"/office/cases/{case_id}", error="经纬度或时限不是数字")
    return _act(session, settings, case_id, lambda: cases.dispatch(
        session, case_id, scope=_scope(scope), actor=scope.actor, worker_id=worker_id, lon=plon, lat=plat,
        place_text=place_text or None, note=note or None, deadline_h=hours), f"已派单给 {worker_id}")


@router.post("/cases/{case_id}/close")
def close_form(case_id: int, scope: ScopeDep, session: SessionDep, settings: SettingsDep,
               reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """办结."""
    return _act(session, settings, case_id, lambda: cases.close(
        session, case_id, scope=_scope(scope), actor=scope.actor, reason=reason or None), "已办结")


__all__ = ["router"]
