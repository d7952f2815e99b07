"""Error answers in Chinese: a styled HTML page for a browser on the office pages, JSON with
a machine-readable ``error`` code, a Chinese ``message`` and the ``field`` for the APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from server.messages import FIELD_ZH, http_message

_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TITLES = {403: "没有权限", 404: "未找到", 409: "冲突", 422: "填写有误", 429: "操作太频繁",
          500: "服务器出错", 503: "服务暂不可用"}


def wants_html(request: Request) -> bool:
    """A browser on the office pages (``/office/...``, not the JSON API)."""
    return request.url.path.startswith("/office") and not request.url.path.startswith(
        "/office/static")


def error_response(request: Request, status: int, *, message: str | None = None,
                   code: str | None = None, field: str | None = None, detail: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The error page or JSON for ``status``; ``message`` defaults to the status's Chinese."""
    default_code, default_msg = http_message(status)
    code, message = code or default_code, message or default_msg
    if wants_html(request):
        return _templates.TemplateResponse(request, "error.html", {
            "status": status, "title": TITLES.get(status, "出错了"), "message": message,
            "code": code, "field": FIELD_ZH.get(field or "", field),
            "request_id": request.headers.get("x-request-id")}, status_code=status,
            headers=headers)
    body: dict[str, Any] = {"error": code, "message": message, "field": field}
    if detail is not None:
        body["detail"] = detail  # FastAPI's own shape, kept for existing clients
    return JSONResponse(body, status, headers=headers)
