"""Codes and evidence in the user's words (scoring/words.zh-CN.yaml), for pages and exports.

Pure formatting shared by the web pages (server/messages.py re-exports these) and the score
exports (checkins/formats/scoresheet.py): one place that turns ``{'lost_s': {'gap': 14138}}``
into 未计入：信号中断 3 小时 55 分.
"""

from __future__ import annotations

from typing import Any

from scoring.profiles import default_words


def label(table: str, code: Any) -> str:
    """The Chinese word for a code (``label('spoof', 'mock_location')`` -> 模拟定位)."""
    if code is None:
        return ""
    return str(default_words()["labels"].get(table, {}).get(str(code), code))


def labels(table: str, codes: Any) -> str:
    """Several codes in Chinese, joined with 、."""
    return "、".join(label(table, c) for c in (codes or []))


def duration(seconds: Any) -> str:
    """``14138`` -> ``3 小时 55 分``; under a minute: ``N 秒``."""
    if seconds is None:
        return ""
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s} 秒"
    h, m = divmod(s // 60, 60)
    return f"{h} 小时 {m} 分" if h else f"{m} 分钟"


def _status(v: Any) -> str:
    """A patrol or sign-in status in Chinese (the tables share codes: ok, missing)."""
    words = default_words()["labels"]
    return str(words["patrol_status"].get(v) or words["signin_status"].get(v) or v)


def evidence(ev: Any, skip: tuple[str, ...] = ()) -> str:
    """An evidence dictionary in Chinese: ``{'lost_s': {'gap': 14138}}`` -> 未计入：信号中断
    3 小时 55 分; seconds become durations, codes their labels, booleans 是/否, lists of
    records their count."""
    if not isinstance(ev, dict):
        return "" if ev is None else str(ev)
    names = default_words()["labels"]["evidence"]
    parts = []
    for k, v in ev.items():
        if k in skip:
            continue
        name = names.get(k, k)
        if k == "lost_s" and isinstance(v, dict):
            text = "，".join(f"{label('lost', r)} {duration(s)}" for r, s in v.items() if s)
            if text:
                parts.append(f"{name}：{text}")
            continue
        if isinstance(v, bool):
            text = "是" if v else "否"
        elif k.endswith("_s") and isinstance(v, int | float):
            text = duration(v)
        elif k == "cause":
            text = label("cause", v)
        elif k == "window":
            text = label("window", v)
        elif k == "item":
            text = label("item", v)
        elif k == "status":
            text = _status(v)
        elif k == "decision":
            text = label("decision", v)
        elif k == "reasons" and isinstance(v, list):
            text = labels("spoof", v)
        elif v is None:
            continue
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            text = f"{len(v)} 条"
        elif isinstance(v, list):
            text = "、".join(str(x) for x in v)
        elif isinstance(v, dict):
            text = evidence(v)
        else:
            text = str(v)
        parts.append(f"{name} {text}")
    return "；".join(parts)


def value(v: Any) -> str:
    """A value for a page or an export: None -> '–', True/False -> 是/否."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)
