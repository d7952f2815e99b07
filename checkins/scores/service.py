"""Township scoring service: entered items, period scores from the database, close/reopen.

The pure part is :mod:`scoring` (``scoring.score.score`` / ``whatif``); this module feeds it
the stored ``day_result`` entries (the ``evaluate`` day JSON, read back with
``scoring.dayjson.day_from_json``), the ``entered_item`` rows and the worker roster of one
township, under the township's rule profile, and stores the result in ``period_result``.

* An open period is scored live from the current inputs on every read.
* :func:`close_period` scores it once more and freezes the result (``status`` closed): later
  day results, decisions and items change nothing; :func:`reopen_period` (township office,
  reason required) opens it again; closing again re-scores it. Both are audited.
* Every entry, import, withdrawal, quota override, close and reopen writes one audit row.

Scope (:class:`checkins.auth.office.OfficeScope`): a village office sees and enters items of
its own village only (other villages' objects are :class:`NotVisible`, HTTP 404), and cannot
close, reopen, override quotas or enter township items (:class:`ScoresError` 403).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from checkins.audit.service import write_audit
from checkins.auth.office import NotVisible, OfficeScope
from checkins.evaluation import sums as period_sums
from checkins.evaluation.models import DayResult
from checkins.scores.models import EnteredItem as ItemRow
from checkins.scores.models import PeriodResult
from checkins.township.models import Township, Village, Worker
from checkins.township.profile import profile_named
from scoring import items as si
from scoring.dayjson import DayJsonError, ScoredDay, day_from_json
from scoring.items import ItemError, Period, check_items, parse_period
from scoring.period import (
    ItemScore,
    Payout,
    PeriodScores,
    ScoreError,
    Sheet,
    Subject,
    TrailEntry,
    office_profile,
    sum_labels,
    township_item,
)
from scoring.profiles import Profile, ProfileError, load_profile, note, parse_profile

MIN_REASON_CHARS = 2
KIND_ZH = {"month": "月度", "quarter": "季度", "year": "年度"}  # period kinds in messages
ROLE_ZH = {"head": "网格长", "fulltime": "专职网格员", "parttime": "兼职网格员"}


class ScoresError(ValueError):
    """A request the service refuses: HTTP ``status`` (403, 409, 422) and the field."""

    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


# ----------------------------------------------------------------------------- township


def township_for(session: Session, scope: OfficeScope | None, township_id: str | None = None
                 ) -> Township:
    """The township the caller works in: a village office's own, else ``township_id``/the first."""
    if scope is not None and scope.village_id is not None:
        v = scope.village(session, scope.village_id)
        if township_id is not None and township_id != v.township_id:
            raise NotVisible(f"township {township_id}")
        t = session.get(Township, v.township_id)
    elif township_id is not None:
        t = session.get(Township, township_id)
    else:
        t = session.scalars(sa.select(Township).order_by(Township.township_id).limit(1)).first()
    if t is None:
        raise NotVisible(f"township {township_id or ''}")
    return t


def township_profile(township: Township) -> Profile:
    """The township's rule profile (``township.profile``), parsed once per file version."""
    return profile_named(township.profile)


def period_for(text: str, profile: Profile) -> Period:
    """Parse ``2026-03`` / ``2026Q1`` / ``2026``; refused if the profile has no such period."""
    try:
        p = parse_period(text)
    except ValueError as exc:
        raise ScoresError(str(exc), 422, "period") from None
    if p.kind not in profile.periods:
        raise ScoresError(f"考核规则 {profile.id} 按{'、'.join(KIND_ZH.get(k, k) for k in profile.periods)}"
                          f"考核，没有{KIND_ZH.get(p.kind, p.kind)}考核", 422, "period")
    return p


def _lock(session: Session, township: Township) -> None:
    """Serialise close/reopen/quota of one township (row lock on PostgreSQL)."""
    session.execute(sa.select(Township.township_id).where(
        Township.township_id == township.township_id).with_for_update())


def _require_township_office(scope: OfficeScope) -> None:
    if not scope.all_villages:
        raise ScoresError("需要镇网格办或管理员账号", 403)


def _reason(reason: str | None, field_name: str = "reason") -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ScoresError(f"请填写理由（{field_name}），至少 {MIN_REASON_CHARS} 个字",
                          422, field_name)
    return text


# ----------------------------------------------------------------------------- items


def item_out(row: ItemRow) -> dict[str, Any]:
    """JSON of an entered item row."""
    return {"item_id": row.item_id, "subject_id": row.subject_id, "village_id": row.village_id,
            "rule": row.rule, "item": row.item, "value": row.value,
            "date": row.work_date.isoformat() if row.work_date else None, "period": row.period,
            "note": row.note, "entered_by": row.entered_by,
            "entered_at": row.entered_at.isoformat() if row.entered_at else None,
            "source": row.source, "withdrawn": row.withdrawn_at is not None,
            "withdrawn_by": row.withdrawn_by, "withdraw_reason": row.withdraw_reason}


def to_scoring(row: ItemRow) -> si.EnteredItem:
    """An ``entered_item`` row as a ``scoring.items.EnteredItem``."""
    return si.EnteredItem(
        item_id=row.item_id, subject_id=row.subject_id, rule=row.rule, item=row.item,
        value=Decimal(row.value), note=row.note, date=row.work_date,
        period=parse_period(row.period) if row.period else None, entered_by=row.entered_by,
        source=row.source)


def _subject_village(session: Session, scope: OfficeScope, township: Township, profile: Profile,
                     it: si.EnteredItem) -> str | None:
    """The village an item belongs to, checking that the caller may enter it."""
    if township_item(profile, it):
        _require_township_office(scope)
        if ":" in it.subject_id:  # a YK-TIER quota of "village:role"
            vid = it.subject_id.split(":", 1)[0]
            v = scope.village(session, vid)
            if v.township_id != township.township_id:
                raise NotVisible(f"village {vid}")
            return vid
        return None
    if office_profile(profile):
        v = scope.village(session, it.subject_id)
        if v.township_id != township.township_id:
            raise NotVisible(f"village {it.subject_id}")
        return v.village_id
    w = scope.worker(session, it.subject_id)
    v = session.get(Village, w.village_id)
    if v is None or v.township_id != township.township_id:
        raise NotVisible(f"worker {it.subject_id}")
    return w.village_id


def _check(items: list[si.EnteredItem], profile: Profile) -> None:
    try:
        check_items(items, profile)
    except ItemError as exc:
        where = f"{exc.item.source}: " if exc.item is not None and exc.item.source else ""
        raise ScoresError(where + exc.message, 422, exc.field) from None


def _taken(session: Session, ids: Iterable[str]) -> list[str]:
    ids = list(ids)
    if not ids:
        return []
    return sorted(session.scalars(sa.select(ItemRow.item_id).where(ItemRow.item_id.in_(ids))))


def closed_periods_touched(session: Session, township: Township, items: Iterable[si.EnteredItem]
                           ) -> list[str]:
    """Labels of the closed periods of the township that any of ``items`` falls in."""
    closed = [parse_period(p) for p in session.scalars(sa.select(PeriodResult.period).where(
        PeriodResult.township_id == township.township_id, PeriodResult.status == "closed"))]
    items = list(items)
    return sorted({p.label for p in closed for it in items if it.within(p)})


def _row(it: si.EnteredItem, township: Township, village_id: str | None, actor: str,
         source: str | None) -> ItemRow:
    return ItemRow(item_id=it.item_id, township_id=township.township_id, village_id=village_id,
                   subject_id=it.subject_id, rule=it.rule, item=it.item, value=str(it.value),
                   work_date=it.date, period=it.period.label if it.period else None,
                   note=it.note, entered_by=actor, source=source)


def add_item(session: Session, scope: OfficeScope, township: Township, *, subject_id: str,
             rule: str, item: str, note: str, value: str | Decimal | int | float = 1,
             date: dt.date | None = None, period: str | None = None,
             item_id: str | None = None) -> dict[str, Any]:
    """Enter one item with its evidence note (``entered_by`` = the caller); one audit row."""
    profile = township_profile(township)
    note = (note or "").strip()
    if not note:
        raise ScoresError("请填写依据说明（note）", 422, "note")
    if (date is None) == (period is None):
        raise ScoresError("请填写日期（date）或时段（period）之一", 422, "date")
    try:
        dec = Decimal(str(value).strip().removesuffix("%"))
        if str(value).strip().endswith("%"):
            dec = dec / 100
        if not dec.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise ScoresError(f"数值（value）{value!r} 不是数字", 422, "value") from None
    per = None
    if period is not None:
        try:
            per = parse_period(period)
        except ValueError as exc:
            raise ScoresError(str(exc), 422, "period") from None
    it = si.EnteredItem(item_id=item_id or f"E{secrets.token_hex(5)}", subject_id=subject_id,
                        rule=rule, item=item, value=dec, note=note, date=date, period=per,
                        entered_by=scope.actor)
    _check([it], profile)
    village_id = _subject_village(session, scope, township, profile, it)
    if _taken(session, [it.item_id]):
        raise ScoresError(f"事项编号（item_id）{it.item_id!r} 已被使用", 409, "item_id")
    row = _row(it, township, village_id, scope.actor, None)
    session.add(row)
    session.flush()
    out = item_out(row)
    write_audit(session, actor=scope.actor, action="item.enter", entity="entered_item",
                entity_id=row.item_id, after=out)
    out["closed_periods"] = closed_periods_touched(session, township, [it])
    return out


def import_items(session: Session, scope: OfficeScope, township: Township, data: bytes,
                 filename: str = "<upload>") -> dict[str, Any]:
    """Import an entered-items CSV (all or nothing); one audit row for the file."""
    from checkins.formats.errors import FormatError
    from checkins.formats.items import read_items

    profile = township_profile(township)
    try:
        items = read_items(data, name=filename, profile=profile)
    except FormatError as exc:
        raise ScoresError(str(exc), 422, "file") from None
    if not items:
        raise ScoresError(f"{filename}: no items", 422, "file")
    _check(items, profile)
    villages = [_subject_village(session, scope, township, profile, it) for it in items]
    taken = _taken(session, (it.item_id for it in items))
    if taken:
        raise ScoresError(f"{filename}: item ids already used: {', '.join(taken[:20])}", 409,
                          "item_id")
    for it, vid in zip(items, villages, strict=True):
        session.add(_row(it, township, vid, scope.actor, it.source))
    session.flush()
    digest = hashlib.sha256(data).hexdigest()
    write_audit(session, actor=scope.actor, action="item.import", entity="entered_item",
                entity_id=filename[:64],
                after={"file": filename, "sha256": digest, "count": len(items),
                       "item_ids": [it.item_id for it in items]})
    return {"imported": len(items), "item_ids": [it.item_id for it in items], "sha256": digest,
            "closed_periods": closed_periods_touched(session, township, items)}


def _visible_item(session: Session, scope: OfficeScope, item_id: str) -> ItemRow:
    row = session.scalars(sa.select(ItemRow).where(ItemRow.item_id == item_id)).first()
    if row is None:
        raise NotVisible(f"item {item_id}")
    if row.village_id is None:
        if not scope.all_villages:
            raise NotVisible(f"item {item_id}")
    elif not scope.sees_village(row.village_id):
        raise NotVisible(f"item {item_id}")
    return row


def withdraw_item(session: Session, scope: OfficeScope, item_id: str, reason: str | None
                  ) -> dict[str, Any]:
    """Withdraw an item (it stops counting; the row stays), reason required; one audit row."""
    row = _visible_item(session, scope, item_id)
    town = session.get(Township, row.township_id)
    if town is not None and row.rule in township_profile(town).rules and township_item(
            township_profile(town), to_scoring(row)):
        _require_township_office(scope)  # a quota override or county rank is the township's
    reason = _reason(reason)
    if row.withdrawn_at is not None:
        raise ScoresError(f"事项 {item_id} 已撤回", 409)
    before = item_out(row)
    row.withdrawn_at = dt.datetime.now(dt.UTC)
    row.withdrawn_by = scope.actor
    row.withdraw_reason = reason
    session.flush()
    out = item_out(row)
    write_audit(session, actor=scope.actor, action="item.withdraw", entity="entered_item",
                entity_id=item_id, reason=reason, before=before, after=out)
    return out


def list_items(session: Session, scope: OfficeScope, township: Township, *,
               period: str | None = None, village_id: str | None = None,
               subject_id: str | None = None, include_withdrawn: bool = False
               ) -> list[dict[str, Any]]:
    """Entered items the caller may see (filters: period, village, subject)."""
    q = sa.select(ItemRow).where(ItemRow.township_id == township.township_id)
    if village_id is not None:
        scope.village(session, village_id)
        q = q.where(ItemRow.village_id == village_id)
    if not scope.all_villages:
        q = q.where(ItemRow.village_id == scope.village_id)
    if subject_id is not None:
        q = q.where(ItemRow.subject_id == subject_id)
    if not include_withdrawn:
        q = q.where(ItemRow.withdrawn_at.is_(None))
    rows = list(session.scalars(q.order_by(ItemRow.id)))
    if period is not None:
        try:
            per = parse_period(period)
        except ValueError as exc:
            raise ScoresError(str(exc), 422, "period") from None
        rows = [r for r in rows if to_scoring(r).within(per)]
    return [item_out(r) for r in rows]


def set_quota(session: Session, scope: OfficeScope, township: Township, period: str, *,
              village_id: str, role: str, excellent: int | None, good: int | None,
              pass_: int | None, reason: str | None) -> dict[str, Any]:
    """The township's YK-TIER quota override for one village and role (replaces an earlier one)."""
    _require_township_office(scope)
    profile = township_profile(township)
    per = period_for(period, profile)
    rules = profile.rules_of_kind("tier")
    if not rules:
        raise ScoresError(f"考核规则 {profile.id} 不评等次", 422, "period")
    rule = rules[0]
    if per.kind != rule.params["period"]:
        raise ScoresError(f"{rule.id} tiers are per {rule.params['period']}", 422, "period")
    if role not in rule.params["roles"]:
        raise ScoresError(f"岗位（role）{role!r} 不评等次（评等次的岗位：{'、'.join(rule.params['roles'])}）", 422,
                          "role")
    v = scope.village(session, village_id)
    if v.township_id != township.township_id:
        raise NotVisible(f"village {village_id}")
    reason = _reason(reason)
    _lock(session, township)
    counts = {"quota_excellent": excellent, "quota_good": good, "quota_pass": pass_}
    if all(c is None for c in counts.values()):
        raise ScoresError("请至少填写优秀（excellent）、良好（good）、合格（pass）名额之一", 422, "excellent")
    subject = f"{village_id}:{role}"
    items = [si.EnteredItem(item_id=f"Q{secrets.token_hex(5)}", subject_id=subject, rule=rule.id,
                            item=code, value=Decimal(int(n)), note=reason, period=per,
                            entered_by=scope.actor)
             for code, n in counts.items() if n is not None]
    _check(items, profile)
    old = [r for r in session.scalars(sa.select(ItemRow).where(
        ItemRow.township_id == township.township_id, ItemRow.subject_id == subject,
        ItemRow.rule == rule.id, ItemRow.withdrawn_at.is_(None))) if to_scoring(r).within(per)]
    now = dt.datetime.now(dt.UTC)
    for r in old:
        r.withdrawn_at, r.withdrawn_by = now, scope.actor
        r.withdraw_reason = "replaced by a new quota override"
    rows = [_row(it, township, village_id, scope.actor, None) for it in items]
    session.add_all(rows)
    session.flush()
    out = {"village_id": village_id, "role": role, "period": per.label,
           "quota": {k.removeprefix("quota_"): v for k, v in counts.items() if v is not None},
           "reason": reason, "item_ids": [r.item_id for r in rows],
           "replaced": [r.item_id for r in old]}
    write_audit(session, actor=scope.actor, action="tier.quota_override", entity="period_result",
                entity_id=f"{township.township_id}/{per.label}", reason=reason,
                before={"replaced": [item_out(r) for r in old]} if old else None, after=out)
    out["closed_periods"] = closed_periods_touched(session, township, items)
    return out


# ----------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    """What a period score of a township is computed from."""

    days: list[ScoredDay]
    items: list[si.EnteredItem]
    roster: dict[str, Subject]
    provisional_days: int = 0
    digest: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What went in (stored with the result): counts, item ids, a digest of the inputs."""
        return {"days": len(self.days), "provisional_days": self.provisional_days,
                "items": sorted(i.item_id for i in self.items), "workers": len(self.roster),
                "digest": self.digest}


def load_inputs(session: Session, township: Township, period: Period, *,
                digest: bool = False) -> Inputs:
    """Stored day results, live entered items and the roster of the township for ``period``.

    ``digest``: also hash every day entry and item (stored with a closed result).
    """
    villages = {v.village_id for v in session.scalars(
        sa.select(Village).where(Village.township_id == township.township_id))}
    workers = list(session.scalars(sa.select(Worker).where(Worker.village_id.in_(villages))
                                   .order_by(Worker.worker_id))) if villages else []
    by_id = {w.worker_id: w for w in workers}
    rows = session.execute(
        sa.select(DayResult.id, DayResult.worker_id, DayResult.work_date, DayResult.result,
                  DayResult.provisional)
        .join(Worker, Worker.worker_id == DayResult.worker_id)
        .where(Worker.village_id.in_(villages), DayResult.work_date >= period.start,
               DayResult.work_date <= period.end)
        .order_by(DayResult.worker_id, DayResult.work_date)).all() if villages else []
    h = hashlib.sha256()
    days: list[ScoredDay] = []
    provisional = 0
    for rid, wid, _date, result, prov in rows:
        try:
            d = day_from_json(result, "day_result", rid)
        except DayJsonError as exc:
            raise ScoresError(f"{wid} {_date} 的日结果无法读取：{exc}", 422) from None
        # the whole scored day: its case records too (the rules computed from them)
        days.append(dataclasses.replace(d, village_id=by_id[wid].village_id))
        provisional += bool(prov)
        if digest:
            h.update(json.dumps([wid, str(_date), result], sort_keys=True, default=str).encode())
    items = live_items(session, township, period)
    for it in items:
        h.update(json.dumps([it.item_id, it.subject_id, it.rule, it.item, str(it.value), it.note,
                             it.when()]).encode())
    with_data = {d.result.worker_id for d in days} | {i.subject_id for i in items}
    roster = {w.worker_id: Subject(w.worker_id, "worker", w.role, w.village_id, w.name)
              for w in workers if w.active or w.worker_id in with_data}
    notes = [note("provisional_days", n=provisional, total=len(days))] if provisional else []
    return Inputs(days, items, roster, provisional, h.hexdigest() if digest else "", notes)


def live_items(session: Session, township: Township, period: Period,
               subject_id: str | None = None) -> list[si.EnteredItem]:
    """The township's entered items (not withdrawn) of ``period`` (of one subject if given)."""
    q = sa.select(ItemRow).where(ItemRow.township_id == township.township_id,
                                 ItemRow.withdrawn_at.is_(None))
    if subject_id is not None:
        q = q.where(ItemRow.subject_id == subject_id)
    return [it for it in map(to_scoring, session.scalars(q.order_by(ItemRow.item_id)))
            if it.within(period)]


def _roster_rows(session: Session, township: Township) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(
        sa.select(Worker.worker_id, Worker.role, Worker.village_id, Worker.name, Worker.active)
        .join(Village, Village.village_id == Worker.village_id)
        .where(Village.township_id == township.township_id).order_by(Worker.worker_id))]


def _roster_stamp(session: Session, township: Township) -> str:
    """Changes whenever a worker of the township is added, removed or changes role, village,
    name or active: one aggregated string from the database, hashed here (the roster's rows are
    not read into Python on every request)."""
    sep = "\x1f"
    row = (Worker.worker_id + sep + sa.func.coalesce(Worker.role, "") + sep
           + sa.func.coalesce(Worker.village_id, "") + sep + sa.func.coalesce(Worker.name, "")
           + sep + sa.func.coalesce(sa.cast(Worker.active, sa.String), ""))
    sub = (sa.select(row.label("r")).join(Village, Village.village_id == Worker.village_id)
           .where(Village.township_id == township.township_id).order_by(Worker.worker_id)
           .subquery())
    # the order inside the aggregate is not guaranteed: another order only costs a recompute
    text = session.scalar(sa.select(sa.func.aggregate_strings(sub.c.r, "\x1e"))) or ""
    return hashlib.sha256(text.encode()).hexdigest()


def _items_stamp(session: Session, township: Township) -> tuple[Any, ...]:
    """Changes whenever an item of the township is entered or withdrawn.

    The newest entry time and item id are in it too: a rolled-back entry's row id is reused by
    the next one (SQLite), so count and max(id) alone can repeat with other content.
    """
    return tuple(session.execute(sa.select(
        sa.func.count(ItemRow.id), sa.func.max(ItemRow.id), sa.func.count(ItemRow.withdrawn_at),
        sa.func.max(ItemRow.withdrawn_at), sa.func.max(ItemRow.entered_at),
        sa.func.max(ItemRow.item_id)).where(ItemRow.township_id == township.township_id)).one())


# (township, period) -> (key, doc, sheets by subject): the open period's score from the sums, until a sum, an item,
# the roster or the profile changes (each process keeps its own; the key is read every time)
_DOCS: dict[tuple[str, str], tuple[Any, dict[str, Any], dict[str, dict[str, Any]]]] = {}


def sums_doc(session: Session, township: Township, period: Period,
             profile: Profile | None = None) -> dict[str, Any]:
    """The open period's score JSON from the stored day sums and the live items and roster.

    Sheets carry one trail line per rule for the day deductions; :func:`sheet` gives one
    subject's day-by-day trail. Recomputed only when its inputs changed.
    """
    from scoring.score import score

    profile = profile or township_profile(township)
    labels = sum_labels(profile, period)
    key = (profile.id, profile.version, period_sums.versions(session, township.township_id, labels),
           _items_stamp(session, township), _roster_stamp(session, township))
    got = _DOCS.get((township.township_id, period.label))
    if got is not None and got[0] == key and 0 not in key[2]:
        return got[1]
    roster_rows = _roster_rows(session, township)
    stored_sums = period_sums.load(session, township.township_id, labels, profile)
    items = live_items(session, township, period)
    with_data = ({sid for by in stored_sums.sums.values() for sid, x in by.items() if x.days}
                 | {i.subject_id for i in items})
    roster = {w: Subject(w, "worker", role, vid, name) for w, role, vid, name, active in roster_rows
              if active or w in with_data}
    try:
        result = score(profile, period, [], items, roster, sums=stored_sums.sums)
    except (ItemError, ScoreError) as exc:
        raise ScoresError(str(exc), 422) from None
    doc = result.to_json()
    prov, days = sum(stored_sums.provisional.values()), stored_sums.days()
    if prov:
        doc["notes"] = list(doc["notes"]) + [note("provisional_days", n=prov, total=days)]
    doc["inputs"] = {"days": days, "provisional_days": prov,
                     "items": sorted(i.item_id for i in items), "workers": len(roster),
                     "digest": "", "sums": dict(zip(labels, stored_sums.versions, strict=True))}
    key = (*key[:2], period_sums.versions(session, township.township_id, labels), *key[3:])
    _DOCS[(township.township_id, period.label)] = (key, doc, {x["subject_id"]: x for x in doc["sheets"]})
    return doc


def compute(session: Session, township: Township, period: Period,
            profile: Profile | None = None, *, digest: bool = False
            ) -> tuple[PeriodScores, Inputs]:
    """Score ``period`` from the stored days and the entered items (nothing is stored)."""
    from scoring.score import score

    profile = profile or township_profile(township)
    inputs = load_inputs(session, township, period, digest=digest)
    try:
        result = score(profile, period, inputs.days, inputs.items, inputs.roster)
    except (ItemError, ScoreError) as exc:
        raise ScoresError(str(exc), 422) from None
    return result, inputs


# ----------------------------------------------------------------------------- periods


def stored(session: Session, township: Township, period: Period) -> PeriodResult | None:
    """The ``period_result`` row of the township and period, if any."""
    return session.scalars(sa.select(PeriodResult).where(
        PeriodResult.township_id == township.township_id,
        PeriodResult.period == period.label)).first()


def _doc(result: PeriodScores, inputs: Inputs) -> dict[str, Any]:
    doc = result.to_json()
    doc["notes"] = list(doc["notes"]) + inputs.notes
    return doc


def period_doc(session: Session, township: Township, period: Period) -> dict[str, Any]:
    """The period's score JSON: the frozen snapshot if closed, else computed now.

    ``state``: ``{status: open|closed, frozen, revision, computed_at, closed_at, closed_by,
    inputs}``.
    """
    row = stored(session, township, period)
    if row is not None and row.status == "closed":
        doc = dict(row.result)
        doc["state"] = _state(row)
        return doc
    doc = dict(sums_doc(session, township, period))
    doc["state"] = {"status": "open", "frozen": False,
                    "revision": row.revision if row is not None else 0,
                    "computed_at": dt.datetime.now(dt.UTC).isoformat(), "closed_at": None,
                    "closed_by": None, "inputs": doc.pop("inputs"),
                    "last_closed": _state(row) if row is not None else None}
    return doc


def _sheet_of(doc: dict[str, Any], township: Township, period: Period, subject_id: str
              ) -> list[dict[str, Any]]:
    """The sheet of ``subject_id`` in a period doc (a list of 0 or 1); a cached doc by the index
    kept with it (searched once, not once per request)."""
    got = _DOCS.get((township.township_id, period.label))
    if got is not None and got[1]["sheets"] is doc["sheets"]:
        one = got[2].get(subject_id)
        return [] if one is None else [one]
    return [s for s in doc["sheets"] if s["subject_id"] == subject_id][:1]


# (township, period, subject) -> (key, sheet JSON): one subject's day-by-day sheet, until its
# days, the township's items or its roster row change; bounded (least recently used dropped)
_SUBJECT_SHEETS: OrderedDict[tuple[str, str, str], tuple[Any, dict[str, Any]]] = OrderedDict()
SUBJECT_SHEETS_KEPT = 2000


def subject_sheet_json(session: Session, township: Township, period: Period, subject_id: str,
                       profile: Profile | None = None, *, items_stamp: Any = None
                       ) -> dict[str, Any] | None:
    """:func:`subject_sheet` as JSON, kept per process until its inputs change.

    The key is read every time: the text of the subject's stored days in the period (read as
    text and hashed, not parsed: the parsing and scoring are what is saved), the township's
    items stamp (``items_stamp``: as just read by the caller) and the roster rows of the subject.
    """
    profile = profile or township_profile(township)
    office = office_profile(profile)
    who = (sa.select(Worker.worker_id).join(Village, Village.village_id == Worker.village_id)
           .where(Village.township_id == township.township_id))
    who = who.where(Worker.village_id == subject_id) if office else who.where(
        Worker.worker_id == subject_id)
    h = hashlib.sha256()
    for r in session.execute(
            sa.select(Worker.worker_id, Worker.role, Worker.village_id, Worker.name)
            .where(Worker.worker_id.in_(who.scalar_subquery())).order_by(Worker.worker_id)):
        h.update(repr(tuple(r)).encode())
    for wid, date, text in session.execute(
            sa.select(DayResult.worker_id, DayResult.work_date, sa.cast(DayResult.result, sa.Text))
            .where(DayResult.worker_id.in_(who.scalar_subquery()),
                   DayResult.work_date >= period.start, DayResult.work_date <= period.end)
            .order_by(DayResult.worker_id, DayResult.work_date)):
        h.update(f"{wid}|{date}|".encode())
        h.update(text.encode())
    key = (profile.id, profile.version, h.hexdigest(),
           _items_stamp(session, township) if items_stamp is None else items_stamp)
    ck = (township.township_id, period.label, subject_id)
    got = _SUBJECT_SHEETS.get(ck)
    if got is not None and got[0] == key:
        _SUBJECT_SHEETS.move_to_end(ck)
        return got[1]
    own = subject_sheet(session, township, period, subject_id, profile)
    out = None if own is None else own.to_json()
    _SUBJECT_SHEETS[ck] = (key, out)
    while len(_SUBJECT_SHEETS) > SUBJECT_SHEETS_KEPT:
        _SUBJECT_SHEETS.popitem(last=False)
    return out


def subject_sheet(session: Session, township: Township, period: Period, subject_id: str,
                  profile: Profile | None = None) -> Sheet | None:
    """One subject's sheet with its day-by-day trail, from that subject's days only.

    A worker's own day results (an office profile: the office's workers' days); no tier, rank
    or payout (those are the township's: :func:`sheet` adds them).
    """
    from scoring.period import score_period

    profile = profile or township_profile(township)
    office = office_profile(profile)
    roster_q = (sa.select(Worker).join(Village, Village.village_id == Worker.village_id)
                .where(Village.township_id == township.township_id))
    roster_q = roster_q.where(Worker.village_id == subject_id) if office else roster_q.where(
        Worker.worker_id == subject_id)
    workers = list(session.scalars(roster_q))
    if not workers and not office:
        return None
    by_id = {w.worker_id: w for w in workers}
    rows = session.execute(
        sa.select(DayResult.id, DayResult.worker_id, DayResult.work_date, DayResult.result)
        .where(DayResult.worker_id.in_(sorted(by_id)), DayResult.work_date >= period.start,
               DayResult.work_date <= period.end)
        .order_by(DayResult.worker_id, DayResult.work_date)).all() if by_id else []
    days = []
    for rid, wid, date, result in rows:
        try:
            # the whole scored day: its case records too (the rules computed from them)
            days.append(dataclasses.replace(day_from_json(result, "day_result", rid),
                                            village_id=by_id[wid].village_id))
        except DayJsonError as exc:
            raise ScoresError(f"{wid} {date} 的日结果无法读取：{exc}", 422) from None
    items = live_items(session, township, period, subject_id)
    items = [i for i in items if not township_item(profile, i)]
    roster = {w.worker_id: Subject(w.worker_id, "worker", w.role, w.village_id, w.name)
              for w in workers}
    try:
        return score_period(profile, period, days, items, roster).by_subject().get(subject_id)
    except (ItemError, ScoreError) as exc:
        raise ScoresError(str(exc), 422) from None


# what a subject's sheet takes from the township's scoring (the rest is its own days and items)
TOWNSHIP_FIELDS = ("name", "rank", "tier", "tier_label", "tier_note", "payouts", "payout_total")


def closing_doc(session: Session, township: Township, period: Period, profile: Profile
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The score JSON a close freezes and its inputs summary, from the sums (ranks, tiers,
    payouts) and one pass over the days, one worker at a time, for the day-by-day trails and
    the digest: memory holds one worker's days (and the sheets being written), not the
    township's. The same JSON and digest as scoring every day at once (:func:`compute`).
    """
    from scoring.period import score_period

    base = sums_doc(session, township, period, profile)
    if office_profile(profile):
        # an office's trail is its workers' days of each date together (few subjects):
        # scored per office like one sheet
        own = {s["subject_id"]: subject_sheet_json(session, township, period, s["subject_id"], profile)
               for s in base["sheets"]}
        digest = _days_digest(session, township, period, None)
    else:
        workers = {w.worker_id: w for w in session.scalars(
            sa.select(Worker).join(Village, Village.village_id == Worker.village_id)
            .where(Village.township_id == township.township_id))}
        items_of: dict[str, list[si.EnteredItem]] = {}
        for it in live_items(session, township, period):
            if not township_item(profile, it):
                items_of.setdefault(it.subject_id, []).append(it)
        wanted = {s["subject_id"] for s in base["sheets"]}
        own = {}

        def finish(wid: str, days: list[ScoredDay]) -> None:
            if wid not in wanted or wid not in workers:
                return
            w = workers[wid]
            try:
                sh = score_period(profile, period, days, items_of.get(wid, []),
                                  {wid: Subject(wid, "worker", w.role, w.village_id, w.name)}
                                  ).by_subject().get(wid)
            except (ItemError, ScoreError) as exc:
                raise ScoresError(str(exc), 422) from None
            own[wid] = None if sh is None else sh.to_json()

        state: dict[str, Any] = {"wid": None, "days": []}

        def each(rid: int, wid: str, date: dt.date, result: Any) -> None:
            if wid != state["wid"]:
                if state["wid"] is not None:
                    finish(state["wid"], state["days"])
                state["wid"], state["days"] = wid, []
            try:
                state["days"].append(ScoredDay(day_from_json(result, "day_result", rid).result,
                                               workers[wid].village_id))
            except DayJsonError as exc:
                raise ScoresError(f"{wid} {date} 的日结果无法读取：{exc}", 422) from None

        digest = _days_digest(session, township, period, each)
        if state["wid"] is not None:
            finish(state["wid"], state["days"])
        for sid in sorted(wanted - set(own)):
            finish(sid, [])  # no days in the period: its items only
    sheets = [{**own[s["subject_id"]], **{k: s[k] for k in TOWNSHIP_FIELDS}}
              if own.get(s["subject_id"]) is not None else s for s in base["sheets"]]
    doc = {k: v for k, v in base.items() if k != "inputs"}
    doc["sheets"] = sheets
    inputs = base["inputs"]
    summary = {"days": inputs["days"], "provisional_days": inputs["provisional_days"],
               "items": inputs["items"], "workers": inputs["workers"], "digest": digest}
    return doc, summary


def _days_digest(session: Session, township: Township, period: Period,
                 each: Callable[[int, str, dt.date, Any], None] | None) -> str:
    """The inputs digest of :func:`load_inputs` (every day entry, then every live item), the
    days streamed in batches; ``each`` sees every day row in (worker, date) order."""
    h = hashlib.sha256()
    q = (sa.select(DayResult.id, DayResult.worker_id, DayResult.work_date, DayResult.result)
         .join(Worker, Worker.worker_id == DayResult.worker_id)
         .join(Village, Village.village_id == Worker.village_id)
         .where(Village.township_id == township.township_id, DayResult.work_date >= period.start,
                DayResult.work_date <= period.end)
         .order_by(DayResult.worker_id, DayResult.work_date)
         .execution_options(yield_per=period_sums.BATCH))
    for rid, wid, date, result in session.execute(q):
        h.update(json.dumps([wid, str(date), result], sort_keys=True, default=str).encode())
        if each is not None:
            each(rid, wid, date, result)
    for it in live_items(session, township, period):
        h.update(json.dumps([it.item_id, it.subject_id, it.rule, it.item, str(it.value), it.note,
                             it.when()]).encode())
    return h.hexdigest()


def _state(row: PeriodResult) -> dict[str, Any]:
    return {"status": row.status, "frozen": row.status == "closed", "revision": row.revision,
            "computed_at": row.computed_at.isoformat(), "computed_by": row.computed_by,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            "closed_by": row.closed_by, "inputs": row.inputs}


def close_period(session: Session, scope: OfficeScope, township: Township, period: str,
                 reason: str | None = None) -> dict[str, Any]:
    """Score the period now and freeze the result (township office); one audit row."""
    _require_township_office(scope)
    profile = township_profile(township)
    per = period_for(period, profile)
    _lock(session, township)
    row = stored(session, township, per)
    if row is not None and row.status == "closed":
        raise ScoresError(f"{per.label} 已结算锁定（如需修改请先重新开放）", 409)
    doc, summary_in = closing_doc(session, township, per, profile)
    result = scores_from_json(doc)
    now = dt.datetime.now(dt.UTC)
    if row is None:
        row = PeriodResult(township_id=township.township_id, period=per.label, kind=per.kind,
                           profile=profile.id, profile_version=profile.version, status="closed",
                           result=doc, inputs=summary_in, revision=1, computed_at=now,
                           computed_by=scope.actor, closed_at=now, closed_by=scope.actor)
        session.add(row)
    else:
        row.profile, row.profile_version = profile.id, profile.version
        row.status, row.result, row.inputs = "closed", doc, summary_in
        row.revision += 1
        row.computed_at, row.computed_by = now, scope.actor
        row.closed_at, row.closed_by = now, scope.actor
    session.flush()
    summary = _audit_summary(result, row, summary_in)
    write_audit(session, actor=scope.actor, action="period.close", entity="period_result",
                entity_id=f"{township.township_id}/{per.label}",
                reason=(reason or "").strip() or None, after=summary)
    return {"township_id": township.township_id, "period": per.label, **_state(row),
            "sheets": len(result.sheets)}


def _audit_summary(result: PeriodScores, row: PeriodResult, inputs: dict[str, Any]
                   ) -> dict[str, Any]:
    return {"status": row.status, "revision": row.revision, "profile": result.profile,
            "profile_version": result.profile_version, "inputs": inputs,
            "totals": {s.subject.subject_id: float(s.total) for s in result.sheets},
            "tiers": {s.subject.subject_id: s.tier for s in result.sheets if s.tier},
            "payouts": {s.subject.subject_id: float(s.payout_total()) for s in result.sheets}}


def reopen_period(session: Session, scope: OfficeScope, township: Township, period: str,
                  reason: str | None) -> dict[str, Any]:
    """Open a closed period again (township office, reason required); one audit row."""
    _require_township_office(scope)
    profile = township_profile(township)
    per = period_for(period, profile)
    reason = _reason(reason)
    _lock(session, township)
    row = stored(session, township, per)
    if row is None or row.status != "closed":
        raise ScoresError(f"{per.label} 尚未结算锁定", 409)
    before = _state(row)
    row.status = "open"
    session.flush()
    write_audit(session, actor=scope.actor, action="period.reopen", entity="period_result",
                entity_id=f"{township.township_id}/{per.label}", reason=reason,
                before=before, after=_state(row))
    return {"township_id": township.township_id, "period": per.label, **_state(row)}


# ----------------------------------------------------------------------------- views


def visible_doc(doc: dict[str, Any], scope: OfficeScope | None) -> dict[str, Any]:
    """The score JSON limited to the villages of ``scope`` (None: everything)."""
    if scope is None or scope.all_villages:
        return doc
    out = dict(doc)
    out["sheets"] = [s for s in doc["sheets"] if scope.sees_village(s.get("village_id"))]
    out["tiering"] = [t for t in doc.get("tiering", []) if scope.sees_village(t.get("village_id"))]
    return out


def ranking(session: Session, scope: OfficeScope, township: Township, period: str
            ) -> dict[str, Any]:
    """Per village: the subjects by role and rank with totals, veto, tiers and payouts."""
    profile = township_profile(township)
    per = period_for(period, profile)
    doc = visible_doc(period_doc(session, township, per), scope)
    names = {v.village_id: v.name for v in scope.villages(session)}
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in doc["sheets"]:
        vid = s.get("village_id") or ""
        groups.setdefault(vid, []).append({
            "subject_id": s["subject_id"], "name": s.get("name"), "role": s.get("role"),
            "total": s["total"], "vetoed": s["vetoed"], "rank": s.get("rank"),
            "tier": s.get("tier"), "tier_label": s.get("tier_label"),
            "payout_total": s.get("payout_total"), "incomplete": s.get("incomplete", []),
            "payouts": s.get("payouts", [])})
    role_order = {r: i for i, r in enumerate(("head", "fulltime", "parttime"))}
    villages = []
    for vid in sorted(groups):
        rows = sorted(groups[vid], key=lambda r: (role_order.get(r["role"], 9),
                                                  r["rank"] or 10**6, -r["total"], r["subject_id"]))
        villages.append({"village_id": vid, "name": names.get(vid, vid), "subjects": rows,
                         "payout_total": round(sum(r["payout_total"] or 0 for r in rows), 2)})
    return {"township_id": township.township_id, "period": per.label, "kind": per.kind,
            "profile": doc["profile"], "profile_version": doc["profile_version"],
            "state": doc["state"], "notes": doc.get("notes", []), "villages": villages,
            "tiering": doc.get("tiering", [])}


def sheet(session: Session, scope: OfficeScope | None, township: Township, period: str,
          subject_id: str, worker_id: str | None = None) -> dict[str, Any]:
    """One subject's sheet with its trail; ``worker_id`` (mobile) limits it to that worker."""
    profile = township_profile(township)
    per = period_for(period, profile)
    if worker_id is not None and subject_id != worker_id:
        raise NotVisible(f"subject {subject_id}")
    if scope is not None:
        if office_profile(profile):
            scope.village(session, subject_id)
        else:
            scope.worker(session, subject_id)
    doc = period_doc(session, township, per)
    for s in _sheet_of(doc, township, per, subject_id):
        if s["subject_id"] == subject_id:
            if not doc["state"]["frozen"]:
                # the township's sheet has the rank, tier and payouts; the trail day by day
                # is read for this one subject
                cached = _DOCS.get((township.township_id, per.label))
                # the doc is the cached one: its key, items stamp included, was read just now
                stamp = cached[0][3] if cached is not None and cached[1]["sheets"] is doc["sheets"] else None
                own = subject_sheet_json(session, township, per, subject_id, profile,
                                         items_stamp=stamp)
                if own is not None:
                    s = {**own, **{k: s[k] for k in TOWNSHIP_FIELDS}}
            return {"township_id": township.township_id, "period": per.label,
                    "profile": doc["profile"], "profile_version": doc["profile_version"],
                    "state": doc["state"], "sheet": s}
    raise NotVisible(f"subject {subject_id} in {per.label}")


def whatif(session: Session, scope: OfficeScope, township: Township, period: str, *,
           profile_name: str | None = None, profile_yaml: str | None = None,
           progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Score the period's current inputs under another profile; nothing is stored.

    The current profile's scores come from the stored sums; the other profile's from the days
    folded again one group at a time (bounded memory; ``progress`` gets the days read).
    """
    from scoring.profiles import list_profiles
    from scoring.score import compare, score

    _require_township_office(scope)
    base = township_profile(township)
    per = period_for(period, base)
    if (profile_name is None) == (profile_yaml is None):
        raise ScoresError("请选择一个内置考核办法或上传考核办法文件（二选一）", 422, "profile")
    try:
        if profile_yaml is not None:
            other = parse_profile(profile_yaml, "<what-if profile>")
        elif profile_name in list_profiles():
            other = load_profile(profile_name)
        else:
            raise ScoresError(f"没有名为 {profile_name} 的内置考核办法（可选："
                              f"{'、'.join(list_profiles())}）", 422, "profile")
    except ProfileError as exc:
        raise ScoresError(str(exc), 422, "profile") from None
    kind_zh = KIND_ZH
    mapped: list[Any] = []
    if per.kind not in other.periods:
        finer = [k for k in ("month", "quarter") if k in other.periods
                          and ("month", "quarter", "year").index(k)
                          < ("month", "quarter", "year").index(per.kind)]
        if not finer:
            raise ScoresError(
                f"{other.title}（{other.id}）没有{kind_zh.get(per.kind, per.kind)}考核，"
                f"{per.label} 也不能拆成它的考核期（它只有"
                f"{'、'.join(kind_zh.get(k, k) for k in other.periods)}考核）", 422, "profile")
        # a quarter under a profile scored by month: its months (the quarter's figure under
        # the other profile = the mean of its months' totals; payouts add up)
        mapped = per.sub_periods(finer[-1])
    doc = sums_doc(session, township, per, base)
    a = scores_from_json(doc)
    items = live_items(session, township, per)
    usable, dropped = [], []
    for it in items:
        try:
            check_items([it], other)
            usable.append(it)
        except ItemError:
            dropped.append(it.item_id)
    # the days folded again under the other profile: streaming, one group at a time
    def folded(p: Period) -> dict[str, Any]:
        out = {}
        for label in sum_labels(other, p):
            out[label], _ = period_sums.fold_period(
                session, township.township_id, parse_period(label), other, progress)
        return out

    roster = {s.subject.subject_id: s.subject for s in a.sheets if s.subject.kind == "worker"}
    for w, role, vid, name, active in _roster_rows(session, township):
        if active and w not in roster:
            roster[w] = Subject(w, "worker", role, vid, name)
    try:
        def one(p: Period) -> Any:
            return score(other, p, [], usable, roster, sums=folded(p))
        results = [one(sp) for sp in mapped] if mapped else [one(per)]
        diffs = _mapped_diffs(a, results) if mapped else compare(a, results[0])
    except (ItemError, ScoreError) as exc:
        raise ScoresError(f"按 {other.title}（{other.id}）计算失败：{exc}", 422) from None
    row = stored(session, township, per)
    notes = list(doc.get("notes", []))
    if mapped:
        notes.insert(0, f"{other.title}（{other.id}）没有{kind_zh.get(per.kind, per.kind)}考核："
                     f"{per.label} 按它的{kind_zh.get(mapped[0].kind, mapped[0].kind)}考核计算"
                     f"（{'、'.join(sp.label for sp in mapped)}），总分取各期平均，奖励各期相加，"
                     "不评等次")
    if dropped:
        notes.append(note("whatif_dropped", profile=f"{other.title}（{other.id}）",
                          items="、".join(dropped)))
    if row is not None and row.status == "closed":
        notes.append(note("whatif_closed", period=per.label))
    if office_profile(base) != office_profile(other):
        notes.append(note("whatif_subjects"))
    others = [sh for part in results for sh in part.sheets]
    visible = {s.subject.subject_id for s in (*a.sheets, *others)
               if scope.sees_village(s.subject.village_id)}
    return {"township_id": township.township_id, "period": per.label,
            "profiles": [f"{base.id} v{base.version}", f"{other.id} v{other.version}"],
            "notes": notes,
            "differences": [d.to_json() for d in diffs if d.changed and d.subject_id in visible],
            "unchanged": [d.subject_id for d in diffs if not d.changed and d.subject_id in visible],
            "mapped_periods": [sp.label for sp in mapped],
            "stored_changed": False}


def _mapped_diffs(a: Any, parts: list[Any]) -> list[Any]:
    """Differences of ``a`` (one period) against several finer periods under another profile:
    total = the mean of the parts' totals, payout = their sum, no tier."""
    from scoring.score import Difference

    def f(x: Any) -> float | None:
        return None if x is None else float(x)

    by_a = a.by_subject()
    by_parts = [p.by_subject() for p in parts]
    out = []
    for sid in sorted(set(by_a) | {k for p in by_parts for k in p}):
        sa_, sb = by_a.get(sid), [p[sid] for p in by_parts if sid in p]
        total_b = (round(sum(float(s.total) for s in sb) / len(sb), 2) if sb else None)
        out.append(Difference(
            sid, f(sa_.total) if sa_ else None, total_b, sa_.tier if sa_ else None, None,
            sa_.vetoed if sa_ else None, any(s.vetoed for s in sb) if sb else None,
            f(sa_.payout_total()) if sa_ else None,
            float(sum(s.payout_total() for s in sb)) if sb else None, {}))
    return out


# ----------------------------------------------------------------------------- exports


def _dec(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def scores_from_json(doc: dict[str, Any]) -> PeriodScores:
    """Rebuild ``PeriodScores`` from its JSON (a stored snapshot) for the exports."""
    def trail(t: dict[str, Any]) -> TrailEntry:
        return TrailEntry(t["rule"], _dec(t["points"]) or Decimal(0), t["reason"],
                          t.get("evidence", {}), t.get("charged", True))

    sheets = []
    for s in doc["sheets"]:
        items = tuple(ItemScore(i["rule"], i["title"], i.get("part"), i.get("kind", ""),
                                _dec(i.get("max_points")), _dec(i["raw_points"]) or Decimal(0),
                                _dec(i["points"]) or Decimal(0), bool(i["capped"]),
                                tuple(trail(t) for t in i.get("trail", [])), i.get("detail", {}))
                      for i in s["items"])
        sheets.append(Sheet(
            subject=Subject(s["subject_id"], s.get("subject_kind", "worker"), s.get("role"),
                            s.get("village_id"), s.get("name")),
            period=s["period"], method=s.get("method", "items"), items=items,
            total=_dec(s["total"]) or Decimal(0), veto=tuple(trail(v) for v in s.get("veto", [])),
            incomplete=tuple(s.get("incomplete", [])),
            sub_scores=tuple((x["period"], _dec(x["total"]) or Decimal(0))
                             for x in s.get("sub_scores", [])),
            tier=s.get("tier"), tier_label=s.get("tier_label"), tier_note=s.get("tier_note"),
            rank=s.get("rank"),
            payouts=tuple(Payout(p["rule"], _dec(p.get("amount")), p["reason"], p["period"],
                                 p.get("evidence", {})) for p in s.get("payouts", []))))
    return PeriodScores(doc["profile"], doc["profile_version"], doc["period"], tuple(sheets),
                        tuple(doc.get("tiering", [])), tuple(doc.get("notes", [])))


def export(session: Session, scope: OfficeScope, township: Township, period: str, fmt: str
           ) -> tuple[bytes, str, str]:
    """The period's scores as CSV or .xlsx (one sheet per visible village): bytes, type, name."""
    import os
    import tempfile

    from checkins.formats.scoresheet import write_csv, write_xlsx

    profile = township_profile(township)
    per = period_for(period, profile)
    doc = visible_doc(period_doc(session, township, per), scope)
    scores = scores_from_json(doc)
    base = f"scores-{township.township_id}-{per.label}"
    if fmt == "csv":
        return (("\ufeff" + write_csv(scores, zh=True)).encode("utf-8"), "text/csv; charset=utf-8",
                f"{base}.csv")
    if fmt != "xlsx":
        raise ScoresError(f"导出格式（fmt）{fmt!r} 不支持：只能是 csv 或 xlsx", 422, "fmt")
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(scores, path, title=profile.title)
        with open(path, "rb") as f:
            data = f.read()
    finally:
        os.unlink(path)
    return (data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{base}.xlsx")


def worker_period_sheet(session: Session, worker_id: str, period: str) -> dict[str, Any]:
    """A worker's own sheet (mobile): NotVisible if the worker has none in the period."""
    # one read for the worker's township (a phone asks this often)
    t = session.scalars(sa.select(Township).join(Village, Village.township_id == Township.township_id)
                        .join(Worker, Worker.village_id == Village.village_id)
                        .where(Worker.worker_id == worker_id)).first()
    if t is None:
        raise NotVisible(f"worker {worker_id}")
    if office_profile(township_profile(t)):
        raise NotVisible("this township scores offices, not workers")
    return sheet(session, None, t, period, worker_id, worker_id=worker_id)
