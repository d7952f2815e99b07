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

from scoring.words import duration, evidence, label, labels, value

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


# the formatting of codes and evidence is shared with the exports: scoring/words.py
__all__ = ["DEFAULT_TZ", "FIELD_ZH", "HTTP_ZH", "duration", "evidence", "http_message",
           "install_filters", "label", "labels", "local_time", "value"]


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


def install_filters(env: Any) -> None:
    """Register the filters (``local_time``, ``zh_label``, ``zh_labels``, ``duration``,
    ``zh_evidence``, ``zh_value``) on a Jinja environment."""
    env.filters.update(local_time=local_time, zh_label=lambda c, t: label(t, c),
                       zh_labels=lambda cs, t: labels(t, cs), duration=duration,
                       zh_evidence=evidence, zh_value=value)
