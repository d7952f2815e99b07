"""Period score exports: CSV (one row per subject) and .xlsx laid out like the offices' sheets.

The workbook has one sheet per village (Chinese headers: 序号, 编号, 姓名, 岗位, one column per
rule item with its points, 合计, 一票否决, 等次, 排名, 奖励(元), 备注), a 扣分明细 sheet with
every trail entry (rule id and evidence) and a 等次名额 sheet with the tier quotas.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from os import PathLike
from typing import Any

from scoring.period import PeriodScores, Sheet, num
from scoring.words import evidence, label

ROLE_ZH = {"head": "网格长", "fulltime": "专职网格员", "parttime": "兼职网格员", None: ""}


def _item_columns(scores: PeriodScores) -> list[tuple[str, str]]:
    cols: dict[str, str] = {}
    for s in scores.sheets:
        for i in s.items:
            if i.rule not in cols:
                cap = f"({num(i.max_points)})" if i.max_points is not None else ""
                cols[i.rule] = f"{i.title}{cap}"
    return list(cols.items())


def score_rows_zh(scores: PeriodScores) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the office's CSV export: Chinese headers (item titles with their
    rule ids), values in Chinese (是/否, the tier's label or 无考核数据), the notes."""
    cols = _item_columns(scores)
    header = ["考核期", "编号", "姓名", "岗位", "村", *[f"{t} {r}" for r, t in cols],
              "合计", "一票否决", "等次", "排名", "奖励(元)", "备注"]
    rows = []
    for s in scores.sheets:
        pts = {i.rule: num(i.points) for i in s.items}
        rows.append([s.period, s.subject.subject_id, s.subject.name or "",
                     ROLE_ZH.get(s.subject.role, s.subject.role or ""), s.subject.village_id or "",
                     *[pts.get(r, "") for r, _ in cols], num(s.total), "是" if s.vetoed else "否",
                     s.tier_label or "", s.rank or "", num(s.payout_total()), _remark(s)])
    return header, rows


def score_rows(scores: PeriodScores) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the CLI's CSV (FORMATS.md: rule ids as item columns)."""
    cols = _item_columns(scores)
    header = ["period", "subject_id", "name", "role", "village_id", *[r for r, _ in cols],
              "total", "vetoed", "tier", "rank", "payout_cny", "incomplete"]
    rows = []
    for s in scores.sheets:
        pts = {i.rule: num(i.points) for i in s.items}
        rows.append([s.period, s.subject.subject_id, s.subject.name or "", s.subject.role or "",
                     s.subject.village_id or "", *[pts.get(r, "") for r, _ in cols], num(s.total),
                     "yes" if s.vetoed else "no", s.tier or "", s.rank or "", num(s.payout_total()),
                     "; ".join(s.incomplete)])
    return header, rows


def write_csv(scores: PeriodScores, *, zh: bool = False) -> str:
    """The CSV export as text (``zh``: the office's Chinese columns and values)."""
    header, rows = score_rows_zh(scores) if zh else score_rows(scores)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _remark(s: Sheet) -> str:
    parts = [v.reason for v in s.veto]
    if s.tier_note:
        parts.append(s.tier_note)
    parts += [p.reason for p in s.payouts]
    parts += list(s.incomplete)
    return "; ".join(parts)


def write_xlsx(scores: PeriodScores, path: str | PathLike[str], title: str = "") -> None:
    """Write the workbook: one sheet per village, then 扣分明细 and 等次名额."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    cols = _item_columns(scores)
    groups: dict[str, list[Sheet]] = defaultdict(list)
    for s in scores.sheets:
        key = s.subject.village_id if s.subject.kind == "worker" else "办事处"
        groups[key or "未分村"].append(s)
    headers = ["序号", "编号", "姓名", "岗位", *[t for _, t in cols], "合计", "一票否决", "等次", "排名", "奖励(元)", "备注"]
    for village in sorted(groups):
        ws = wb.create_sheet(title=str(village)[:31])
        ws.cell(1, 1, f"{title} {scores.period} 考核评分表 ({village})".strip()).font = Font(bold=True, size=13)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        for c, h in enumerate(headers, 1):
            cell = ws.cell(2, c, h)
            cell.font, cell.fill, cell.border = Font(bold=True), head_fill, box
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheets = sorted(groups[village], key=lambda s: (s.subject.role or "", s.rank or 10**6, -s.total,
                                                        s.subject.subject_id))
        for n, s in enumerate(sheets, 1):
            pts = {i.rule: num(i.points) for i in s.items}
            row = [n, s.subject.subject_id, s.subject.name or "", ROLE_ZH.get(s.subject.role, s.subject.role),
                   *[pts.get(r) for r, _ in cols], num(s.total), "是" if s.vetoed else "否",
                   s.tier_label or "", s.rank, num(s.payout_total()), _remark(s)]
            for c, v in enumerate(row, 1):
                cell = ws.cell(n + 2, c, v)
                cell.border = box
        widths = [6, 10, 10, 12, *[12] * len(cols), 8, 9, 8, 6, 10, 60]
        for c, w in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(c)].width = w
        ws.row_dimensions[2].height = 32
        ws.freeze_panes = "E3"
    ws = wb.create_sheet("扣分明细")
    trail_head = ["编号", "项目", "规则", "分值", "计入", "原因", "日期/时段", "证据"]
    for c, h in enumerate(trail_head, 1):
        cell = ws.cell(1, c, h)
        cell.font, cell.fill = Font(bold=True), head_fill
    r = 2
    for s in scores.sheets:
        for it in s.items:
            for t in it.trail:
                ev = t.evidence
                when = ev.get("date") or ev.get("when") or ev.get("period") or ""
                if ev.get("start"):
                    when = f"{when} {str(ev['start'])[11:16]}-{str(ev.get('end', ''))[11:16]}"
                elif ev.get("window"):
                    when = f"{when} {label('window', ev['window'])}"
                row = [s.subject.subject_id, it.title, t.rule, num(t.points), "是" if t.charged else "否",
                       t.reason, when, evidence(dict(ev))]
                for c, v in enumerate(row, 1):
                    ws.cell(r, c, v)
                r += 1
    for c, w in enumerate([10, 16, 16, 8, 6, 50, 22, 60], 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws = wb.create_sheet("等次名额")
    q_head = ["村", "岗位", "参评人数", "否决", "优秀", "良好", "合格", "名额来源", "调整人", "调整理由", "排名顺序"]
    for c, h in enumerate(q_head, 1):
        cell = ws.cell(1, c, h)
        cell.font, cell.fill = Font(bold=True), head_fill
    r = 2
    for rec in scores.tiering:
        if "quota" not in rec:
            continue
        ov = rec.get("override") or {}
        row = [rec["village_id"], ROLE_ZH.get(rec["role"], rec["role"]), rec["ranked"], ", ".join(rec["vetoed"]),
               rec["quota"]["excellent"], rec["quota"]["good"], rec["quota"]["pass"],
               "镇网格办调整" if rec["quota_source"] == "override" else "按比例(最大余数)",
               ", ".join(ov.get("by", [])), ov.get("reason", ""), ", ".join(rec["order"])]
        for c, v in enumerate(row, 1):
            ws.cell(r, c, v)
        r += 1
    wb.save(path)
