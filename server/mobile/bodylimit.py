"""Refuse oversized request bodies early (413), before anything parses them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


class BodyLimitMiddleware:
    """ASGI middleware: a byte limit per path prefix, by Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, *, prefix: str, limit_bytes: int,
                 overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.prefix = prefix
        self.limit_bytes = limit_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for suffix, limit in self.overrides.items():
            if path.startswith(self.prefix + suffix):
                return limit
        return self.limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length < 0 or length > limit:
                    await _reject(send, limit)
                    return
        seen = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned BodyTooLarge into its own error (e.g. FastAPI's 400)
                if msg["type"] == "http.response.start" and not started:
                    started = True
                    await _reject(send, limit)
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


async def _reject(send: Send, limit: int) -> None:
    from server.messages import mobile_message

    body = json.dumps({"error": {"code": "body_too_large",
                                 "message": mobile_message("body_too_large", 413),
                                 "field": None,
                                 "detail": f"request body larger than {limit} bytes"}},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
