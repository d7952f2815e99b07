"""The web layer's zh-CN message catalogue and the Jinja filters that show data in Chinese.

Words that belong to the rules (reason templates, labels of codes: spoof reasons, phone-off
causes, flag kinds, ...) come from ``scoring/words.zh-CN.yaml`` (a profile may override
them); this module holds only what the web layer itself says (HTTP errors) and formats
data for people: times in the township's zone, durations, evidence dictionaries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from scoring.profiles import default_words

DEFAULT_TZ = "Asia/Shanghai"

HTTP_ZH = {
    400: ("bad_request", "请求有误"),
    401: ("login_required", "请先登录"),
    403: ("forbidden", "没有权限查看此页面"),
    404: ("not_found", "未找到该页面或记录（可能不在您的管辖范围内）"),
    405: ("method_not_allowed", "不支持此操作"),
    409: ("conflict", "与现有记录冲突"),
    413: ("too_large", "上传内容太大"),
    422: ("invalid", "填写的内容有误"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
    500: ("internal", "服务器内部错误，操作未生效，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}

FIELD_ZH = {"reason": "理由", "decision": "决定", "kind": "类型", "key": "标记", "date": "日期",
            "period": "考核期", "profile": "考核办法", "file": "文件", "at": "时间"}


def http_message(status: int) -> tuple[str, str]:
    """(machine code, Chinese message) of an HTTP status."""
    return HTTP_ZH.get(status, ("http_error" if status < 500 else "internal",
                                "请求未能完成" if status < 500 else HTTP_ZH[500][1]))


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


def local_time(value: Any, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC or offset time (datetime or ISO text) in the township's zone; '' for None."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(ZoneInfo(tz or DEFAULT_TZ)).strftime(fmt)
    return str(value)


EVIDENCE_ZH = {"lost_s": "未计入", "in_grid_s": "网格内", "required_s": "应满", "fixes": "定位数",
               "accuracy_m": "精度(米)", "extent_m": "范围(米)", "distance_m": "距离(米)",
               "speed_kmh": "时速(公里)", "duration_s": "时长", "tolerance_s": "容差",
               "stationary": "静止", "started_in_app": "在手机上开始", "window": "时段",
               "status": "状态", "cause": "原因", "other_grid_id": "其他网格", "item": "事项",
               "occurrences": "次数", "period": "考核期", "case_id": "事件", "start": "开始",
               "end": "结束", "worker_id": "网格员", "village_id": "村", "value": "数值"}


def evidence(ev: Any, skip: tuple[str, ...] = ()) -> str:
    """An evidence dictionary in Chinese: ``{'lost_s': {'gap': 14138}}`` -> 未计入：信号中断
    3 小时 55 分; seconds become durations, codes their labels, booleans 是/否."""
    if not isinstance(ev, dict):
        return "" if ev is None else str(ev)
    parts = []
    for k, v in ev.items():
        if k in skip:
            continue
        name = EVIDENCE_ZH.get(k, k)
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
        elif v is None:
            continue
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


def install_filters(env: Any) -> None:
    """Register the filters (``local_time``, ``zh_label``, ``zh_labels``, ``duration``,
    ``zh_evidence``, ``zh_value``) on a Jinja environment."""
    env.filters.update(local_time=local_time, zh_label=lambda c, t: label(t, c),
                       zh_labels=lambda cs, t: labels(t, cs), duration=duration,
                       zh_evidence=evidence, zh_value=value)
