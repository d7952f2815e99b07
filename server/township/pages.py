"""Township scoring pages under ``/office/township`` (server-rendered, office login and scope).

Ranking per village with tiers and payouts, a subject's sheet with its trail, entered items
(form and CSV import), close/reopen and quota forms, what-if. Village offices see their own
village read-only (and may enter items for their workers); forms post here and redirect back
with a message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from checkins.auth.office import OfficeScope
from checkins.scores import service as svc
from scoring.items import period_of
from scoring.profiles import list_profiles
from server.deps import SessionDep
from server.messages import install_filters
from server.office.auth import ScopeDep
from server.office.pages import redirect_with_message
from server.security import install_template_globals

router = APIRouter(prefix="/office/township", include_in_schema=False)
TQ = Annotated[str | None, Query(max_length=32)]
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=[str(_HERE / "templates"),
                                       str(_HERE.parent / "office" / "templates")])
templates.env.globals.update(role_zh=svc.ROLE_ZH)
install_template_globals(templates.env)  # csrf_field(), csrf_token()
install_filters(templates.env)  # zh_evidence, zh_label, local_time, ...


def _profile_titles() -> dict[str, str]:
    """Packaged profiles by their Chinese title (the what-if choice)."""
    from scoring.profiles import list_profiles, load_profile

    return {p: load_profile(p).title for p in list_profiles()}


def _page(request: Request, name: str, scope: OfficeScope, session: Any, **ctx: Any
          ) -> HTMLResponse:
    tid = request.query_params.get("township_id")
    ctx.update(tq=f"?township_id={quote(tid)}" if tid else "", tid=tid or "")
    villages = scope.villages(session)
    if ctx.get("town") is not None:  # a county's database holds several townships: this one's
        villages = [v for v in villages if v.township_id == ctx["town"].township_id]
    ctx.update(request=request, scope=scope, villages=villages,
               message=request.query_params.get("msg"), error=request.query_params.get("error"))
    return templates.TemplateResponse(request, name, ctx)


def _base(period: str, township_id: str | None = None) -> str:
    tq = f"?township_id={quote(township_id)}" if township_id else ""
    return f"/office/township/periods/{quote(period)}{tq}"


def _items(township_id: str | None = None) -> str:
    return "/office/township/items" + (f"?township_id={quote(township_id)}" if township_id else "")


@router.get("")
def home(scope: ScopeDep, session: SessionDep, township_id: TQ = None,
         p: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """The ranking of the current quarter (or the profile's first period kind); ``p``: of
    that period (the period switch, a plain form: the CSP allows no inline script)."""
    if p:
        return RedirectResponse(_base(p.strip(), township_id), status_code=303)
    t = svc.township_for(session, scope, township_id)
    prof = svc.township_profile(t)
    kind = "quarter" if "quarter" in prof.periods else prof.periods[0]
    return RedirectResponse(_base(period_of(dt.date.today(), kind).label, township_id),
                            status_code=303)


# Above this many rows the ranking page lists the villages and shows one village's rows at a
# time: a county's 5,000 rows in one page took 3.4 s to render and are unreadable on a phone.
RANKING_PAGE_ROWS = 500


@router.get("/periods/{period}", response_class=HTMLResponse)
def ranking_page(request: Request, period: str, scope: ScopeDep, session: SessionDep,
                 township_id: TQ = None,
                 village_id: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    """Ranking per village with tiers and payouts; close/reopen and quota forms. A large
    township shows its villages' summary first (``village_id`` picks one village's rows)."""
    t = svc.township_for(session, scope, township_id)
    data = svc.ranking(session, scope, t, period)
    villages = data["villages"]
    summary = [{"village_id": v["village_id"], "name": v["name"], "subjects": len(v["subjects"]),
                "payout_total": v["payout_total"],
                "tiers": {k: sum(s["tier"] == k for s in v["subjects"])
                          for k in ("excellent", "good", "pass")}} for v in villages]
    if village_id:
        data = {**data, "villages": [v for v in villages if v["village_id"] == village_id]}
        if not data["villages"]:
            raise HTTPException(404, f"本时段没有村 {village_id} 的考核对象（或无权查看）")
    elif sum(len(v["subjects"]) for v in villages) > RANKING_PAGE_ROWS:
        data = {**data, "villages": []}
    else:
        summary = []
    prof = svc.township_profile(t)
    tier_rules = prof.rules_of_kind("tier")
    return _page(request, "township_ranking.html", scope, session, town=t, r=data, period=period,
                 summary=summary, picked=village_id or "",
                 periods=prof.periods,
                 tier_roles=tier_rules[0].params["roles"] if tier_rules else [],
                 tier_period=tier_rules[0].params["period"] if tier_rules else None)


@router.get("/periods/{period}/sheets/{subject_id}", response_class=HTMLResponse)
def sheet_page(request: Request, period: str, subject_id: str, scope: ScopeDep,
               session: SessionDep, township_id: TQ = None) -> HTMLResponse:
    """A subject's score sheet: items, caps, every trail entry with its evidence."""
    t = svc.township_for(session, scope, township_id)
    data = svc.sheet(session, scope, t, period, subject_id)
    return _page(request, "township_sheet.html", scope, session, d=data, s=data["sheet"],
                 period=period)


@router.post("/periods/{period}/close")
def close_form(period: str, scope: ScopeDep, session: SessionDep, township_id: TQ = None,
               reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Close (freeze) the period from the ranking page."""
    t = svc.township_for(session, scope, township_id)
    try:
        out = svc.close_period(session, scope, t, period, reason)
    except svc.ScoresError as exc:
        return redirect_with_message(_base(period, township_id), error=str(exc))
    session.commit()
    return redirect_with_message(_base(period, township_id), msg=f"{period} 已结算锁定 (第 {out['revision']} 版)")


@router.post("/periods/{period}/reopen")
def reopen_form(period: str, scope: ScopeDep, session: SessionDep, township_id: TQ = None,
                reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Reopen the period (reason required)."""
    t = svc.township_for(session, scope, township_id)
    try:
        svc.reopen_period(session, scope, t, period, reason)
    except svc.ScoresError as exc:
        return redirect_with_message(_base(period, township_id), error=str(exc))
    session.commit()
    return redirect_with_message(_base(period, township_id), msg=f"{period} 已重新开放")


@router.post("/periods/{period}/quota")
def quota_form(period: str, scope: ScopeDep, session: SessionDep,
               village_id: Annotated[str, Form(max_length=32)],
               role: Annotated[str, Form(max_length=16)],
               reason: Annotated[str, Form(max_length=2000)] = "",
               excellent: Annotated[str, Form(max_length=6)] = "",
               good: Annotated[str, Form(max_length=6)] = "",
               pass_: Annotated[str, Form(max_length=6, alias="pass")] = "",
        township_id: TQ = None) -> Response:
    """The township's quota override for a village and role."""
    t = svc.township_for(session, scope, township_id)

    def n(x: str) -> int | None:
        return int(x) if x.strip().isdigit() else None

    try:
        svc.set_quota(session, scope, t, period, village_id=village_id, role=role,
                      excellent=n(excellent), good=n(good), pass_=n(pass_), reason=reason)
    except svc.ScoresError as exc:
        return redirect_with_message(_base(period, township_id), error=str(exc))
    session.commit()
    return redirect_with_message(_base(period, township_id), msg=f"{village_id} 等次名额已调整")


@router.get("/periods/{period}/whatif", response_class=HTMLResponse)
def whatif_page(request: Request, period: str, scope: ScopeDep, session: SessionDep, township_id: TQ = None,
                profile: str | None = None) -> Response:
    """What-if: the period under another packaged profile, differences per subject."""
    t = svc.township_for(session, scope, township_id)
    result = None
    if profile:
        try:
            result = svc.whatif(session, scope, t, period, profile_name=profile)
        except svc.ScoresError as exc:
            if exc.status == 403:
                raise
            return redirect_with_message(_base(period + "/whatif", township_id), error=str(exc))
    elif not scope.all_villages:
        raise svc.ScoresError("township office or administrator role required", 403)
    return _page(request, "township_whatif.html", scope, session, period=period,
                 profiles=list_profiles(), profile_titles=_profile_titles(), chosen=profile, w=result,
                 current=svc.township_profile(t).id)


@router.post("/periods/{period}/whatif", response_class=HTMLResponse)
def whatif_upload(request: Request, period: str, scope: ScopeDep, session: SessionDep,
                  file: Annotated[UploadFile, File()],
        township_id: TQ = None) -> Response:
    """What-if with an uploaded profile YAML (a copy of the profile with a number changed)."""
    t = svc.township_for(session, scope, township_id)
    text = file.file.read(200_001).decode("utf-8", errors="replace")
    try:
        result = svc.whatif(session, scope, t, period, profile_yaml=text)
    except svc.ScoresError as exc:
        if exc.status == 403:
            raise
        return redirect_with_message(_base(period + "/whatif", township_id), error=str(exc))
    return _page(request, "township_whatif.html", scope, session, period=period,
                 profiles=list_profiles(), profile_titles=_profile_titles(), chosen=file.filename, w=result,
                 current=svc.township_profile(t).id)


@router.get("/items", response_class=HTMLResponse)
def items_page(request: Request, scope: ScopeDep, session: SessionDep, township_id: TQ = None,
               period: str | None = None, village_id: str | None = None) -> HTMLResponse:
    """Entered items of the visible villages, the entry form and the CSV import."""
    t = svc.township_for(session, scope, township_id)
    rows = svc.list_items(session, scope, t, period=period or None,
                          village_id=village_id or None, include_withdrawn=True)
    prof = svc.township_profile(t)
    from scoring.items import allowed_items

    codes = {r.id: sorted(allowed_items(prof, r.id)) for r in prof.rules.values()
             if allowed_items(prof, r.id)}
    return _page(request, "township_items.html", scope, session, town=t, items=rows,
                 period=period or "",
                 village_id=village_id or "", codes=codes)


@router.post("/items")
def item_form(scope: ScopeDep, session: SessionDep,
              subject_id: Annotated[str, Form(max_length=64)],
              rule: Annotated[str, Form(max_length=32)],
              item: Annotated[str, Form(max_length=64)],
              note: Annotated[str, Form(max_length=2000)] = "",
              value: Annotated[str, Form(max_length=40)] = "1",
              date: Annotated[str, Form(max_length=10)] = "",
              period: Annotated[str, Form(max_length=8)] = "",
        township_id: TQ = None) -> Response:
    """Enter one item from the items page."""
    t = svc.township_for(session, scope, township_id)
    try:
        day = dt.date.fromisoformat(date) if date.strip() else None
    except ValueError:
        return redirect_with_message(_items(township_id), error=f"日期格式错误: {date}")
    try:
        out = svc.add_item(session, scope, t, subject_id=subject_id.strip(), rule=rule.strip(),
                           item=item.strip(), note=note, value=value or "1", date=day,
                           period=period.strip() or None)
    except svc.ScoresError as exc:
        return redirect_with_message(_items(township_id), error=str(exc))
    session.commit()
    extra = f"（{', '.join(out['closed_periods'])} 已锁定，重新开放后才计入）" if out["closed_periods"] else ""
    return redirect_with_message(_items(township_id), msg=f"已录入 {out['item_id']}{extra}")


@router.post("/items/import")
def import_form(scope: ScopeDep, session: SessionDep,
                file: Annotated[UploadFile, File()],
        township_id: TQ = None) -> Response:
    """Import an entered-items CSV from the items page."""
    t = svc.township_for(session, scope, township_id)
    data = file.file.read(5 * 1024 * 1024 + 1)
    try:
        if len(data) > 5 * 1024 * 1024:
            raise svc.ScoresError("文件过大 (5 MB)", 413)
        out = svc.import_items(session, scope, t, data, file.filename or "<upload>")
    except svc.ScoresError as exc:
        return redirect_with_message(_items(township_id), error=str(exc))
    session.commit()
    return redirect_with_message(_items(township_id), msg=f"已导入 {out['imported']} 条")


@router.post("/items/{item_id}/withdraw")
def withdraw_form(item_id: str, scope: ScopeDep, session: SessionDep, township_id: TQ = None,
                  reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Withdraw an entered item (reason required)."""
    try:
        svc.withdraw_item(session, scope, item_id, reason)
    except svc.ScoresError as exc:
        return redirect_with_message(_items(township_id), error=str(exc))
    session.commit()
    return redirect_with_message(_items(township_id), msg=f"已撤回 {item_id}")
