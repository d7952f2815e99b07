"""Exports of the day table and the week view: CSV (UTF-8 with BOM) and .xlsx, Chinese headers.

The rows come from :mod:`checkins.office.queries` (already scoped); these functions only
lay them out. The CSV has a BOM so that Excel opens the Chinese headers correctly.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from checkins.office.queries import PATROL_ZH, ROLE_ZH, SIGNIN_ZH

DAY_HEADERS = (
    ("worker_id", "工号"), ("name", "姓名"), ("role", "角色"), ("grid_id", "网格"),
    ("signin_status", "签到状态"), ("signin_at", "签到时间"),
    ("am_status", "上午巡查"), ("am_in_grid_min", "上午网格内(分钟)"),
    ("pm_status", "下午巡查"), ("pm_in_grid_min", "下午网格内(分钟)"),
    ("offpost_count", "脱岗次数"), ("offpost_min", "脱岗(分钟)"),
    ("phone_off_count", "关机次数"), ("phone_off_min", "关机(分钟)"),
    ("suspect_fixes", "可疑定位"), ("points", "扣分"), ("rules", "规则"),
    ("provisional", "暂定"),
)
_LABELS = {"role": ROLE_ZH, "signin_status": SIGNIN_ZH, "am_status": PATROL_ZH,
           "pm_status": PATROL_ZH}


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key in _LABELS:
        return _LABELS[key].get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value


def day_table_rows(table: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Headers and cells of a day table (from :func:`office_queries.day_table`)."""
    headers = [zh for _, zh in DAY_HEADERS]
    rows = [[_cell(k, r.get(k)) if r["evaluated"] or k in ("worker_id", "name", "role") else ""
             for k, _ in DAY_HEADERS] for r in table["rows"]]
    return headers, rows


def week_rows(week: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Headers and cells of a week view: per date the points and the am/pm patrol status."""
    headers = ["工号", "姓名", "角色"]
    for d in week["dates"]:
        headers += [f"{d} 扣分", f"{d} 巡查(上午/下午)"]
    headers.append("合计扣分")
    rows = []
    for r in week["rows"]:
        line: list[Any] = [r["worker_id"], r["name"], ROLE_ZH.get(r["role"], r["role"])]
        for day in r["days"]:
            if day["evaluated"]:
                line += [day["points"], f"{PATROL_ZH.get(day['am_status'], day['am_status'] or '')}"
                                        f"/{PATROL_ZH.get(day['pm_status'], day['pm_status'] or '')}"]
            else:
                line += ["", ""]
        line.append(r["points"])
        rows.append(line)
    return headers, rows


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    """CSV bytes, UTF-8 with a BOM."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(headers: list[str], rows: list[list[Any]], sheet: str, title: str | None = None
            ) -> bytes:
    """An .xlsx workbook with one sheet (bold frozen header row)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    if title:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
    ws.append(headers)
    header_row = ws.max_row
    for c in ws[header_row]:
        c.font = Font(bold=True)
    ws.freeze_panes = f"A{header_row + 1}"  # a string: ws.cell() would create the row
    for r in rows:
        ws.append(r)
    from openpyxl.utils import get_column_letter

    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(24, len(str(h)) * 2 + 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA = "text/csv; charset=utf-8"


def _export(headers: list[str], rows: list[list[Any]], fmt: str, name: str, sheet: str,
            title: str) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of a table as ``xlsx`` (with its sheet and title)
    or else ``csv``."""
    if fmt == "xlsx":
        return to_xlsx(headers, rows, sheet, title), XLSX_MEDIA, f"{name}.xlsx"
    return to_csv(headers, rows), CSV_MEDIA, f"{name}.csv"


def export_day_table(table: dict[str, Any], fmt: str) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of a day table as ``csv`` or ``xlsx``."""
    headers, rows = day_table_rows(table)
    return _export(headers, rows, fmt, f"day-{table['village_id']}-{table['date']}", "日考核",
                   f"{table['village_name']} {table['date']} 日考核表")


def export_week(week: dict[str, Any], fmt: str) -> tuple[bytes, str, str]:
    """``(content, media type, file name)`` of a week view as ``csv`` or ``xlsx``."""
    headers, rows = week_rows(week)
    return _export(headers, rows, fmt, f"week-{week['village_id']}-{week['start']}", "周考核",
                   f"{week['village_name']} {week['start']} 起一周考核")


AUDIT_HEADERS = ["编号", "时间", "操作人", "操作", "对象", "对象编号", "理由", "之前", "之后",
                 "哈希"]


def export_audit(rows: list[dict[str, Any]]) -> bytes:
    """The audit log rows as CSV (before/after as JSON text)."""
    import json

    cells = [[r["id"], r["at"], r["actor"], r["action"], r["entity"], r["entity_id"] or "",
              r["reason"] or "",
              json.dumps(r["before"], ensure_ascii=False) if r["before"] is not None else "",
              json.dumps(r["after"], ensure_ascii=False) if r["after"] is not None else "",
              r["hash"]] for r in rows]
    return to_csv(AUDIT_HEADERS, cells)
