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


# the mobile API's error codes (server/mobile/errors.py, docs/mobile-api.md) as the phone user
# reads them; the code stays the machine's key, the English technical text goes to ``detail``
MOBILE_ZH = {
    "bad_credentials": "手机号或密码不正确",
    "bad_credentials.old_password": "原密码不正确",  # code.field: a message of its own
    "activation_invalid": "激活码不正确或已作废，请向村里重新领取",
    "activation_used": "激活码已经用过，请直接登录",
    "activation_expired": "激活码已过期，请向村里重新领取",
    "device_pending": "这部手机还在等待村里批准，批准后再登录",
    "device_revoked": "这部手机已被停用，请联系村里",
    "device_other_worker": "这部手机已登记给其他网格员，请联系村里",
    "token_missing": "请先登录",
    "token_invalid": "登录已失效，请重新登录",
    "token_expired": "登录已过期，请重新登录",
    "token_revoked": "登录已被注销，请重新登录",
    "refresh_invalid": "登录已失效，请重新登录",
    "refresh_reused": "登录已失效（可能在别处使用），请重新登录",
    "forbidden": "没有权限",
    "not_found": "没有找到该记录",
    "rate_limited": "操作太频繁，请稍后再试",
    "body_too_large": "上传内容太大",
    "photo_too_large": "照片太大（不超过 8 兆、4000 万像素）",
    "photo_not_image": "照片无法识别，请重新拍摄",
    "photo_required": "请拍一张现场照片",
    "too_many_photos": "照片太多（最多 9 张）",
    "batch_too_large": "一次上传的定位太多（最多 500 条）",
    "malformed_json": "数据格式有误，请更新 App 后重试",
    "unsupported_media_type": "数据格式有误，请更新 App 后重试",
    "validation_failed": "填写的内容有误",
    "missing_utc_offset": "时间缺少时区",
    "date_not_covered": "该日期不在考核日历内",
    "conflict": "与现有记录冲突",
    "no_assignment": "今天没有分配网格",
    "method_not_allowed": "不支持此操作",
    "internal_error": "服务器内部错误，操作未生效，请稍后再试",
}

# fields the phone sends, in the user's words (the last part of ``items.3.lat``)
MOBILE_FIELD_ZH = {
    "phone": "手机号", "password": "密码", "old_password": "原密码", "new_password": "新密码",
    "code": "激活码", "device_uid": "手机标识", "lat": "纬度", "lon": "经度", "datum": "坐标系",
    "items": "定位数据", "photos": "照片", "text": "内容", "date": "日期", "period": "考核期",
    "reported_at": "上报时间", "recorded_at": "定位时间", "category": "类别", "address": "地址",
    "kind": "类型", "start": "开始时间", "end": "结束时间", "reason": "理由",
    "client_id": "记录编号", "patrol_id": "巡查编号", "request_id": "申请编号",
    "instruction_id": "指令编号", "accuracy_m": "精度", "at": "时间", "datum_out": "坐标系",
}


def mobile_message(code: str, status: int, field: str | None = None) -> str:
    """The Chinese message of a mobile API error: by its code (else its HTTP status), naming
    the field of a 422 (what the phone user has to fix)."""
    own = MOBILE_ZH.get(f"{code}.{field}")
    if own:
        return own
    text = MOBILE_ZH.get(code) or http_message(status)[1]
    if field and status == 422:  # what to fix in a form; other statuses say it already
        part = next((p for p in reversed(field.split(".")) if not p.isdigit()), "")
        if part in MOBILE_FIELD_ZH and MOBILE_FIELD_ZH[part] not in text:
            text += f"：{MOBILE_FIELD_ZH[part]}"
    return text


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
