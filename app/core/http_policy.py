"""What every HTTP response owes: HEAD answered wherever GET is, and a Cache-Control that
says what may be kept; the request made visible to the security log; and the wait of
answers that must take a uniform time (core.timing).

- HEAD is served as GET with the body dropped (headers, Content-Length included, stay as
  GET's), so any route that answers GET answers HEAD.
- Cache-Control, unless the route set one: `no-store` for every API answer carrying
  personal data (the member's own resources under /api/v1/me, notifications, settings,
  and any API call made with a session or a token, whose answers are shaped for the
  caller), and for the settings pages; other API answers `public, no-cache` (a cache may
  keep them but must ask again); other pages for a signed-in member `private, no-cache`,
  for visitors `no-cache`. Static files keep what StaticFiles sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from app.core.seclog import CURRENT_REQUEST
from app.core.timing import HOLDER, wait_for_answer_time

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PERSONAL_API_PREFIXES = ("/api/v1/me", "/api/v1/notifications", "/api/v1/auth")
PERSONAL_PAGE_PREFIXES = ("/settings", "/notifications", "/reset-password", "/verify-email")


def _has_credentials(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return True
        if name == b"cookie" and b"kindred_session=" in value:
            return True
    return False


def cache_control(scope: Scope) -> bytes | None:
    path: str = scope.get("path", "")
    if path.startswith("/static/"):
        return None
    signed_in = _has_credentials(scope)
    if path.startswith("/api/"):
        if signed_in or path.startswith(PERSONAL_API_PREFIXES):
            return b"no-store"
        return b"public, no-cache"
    if path.startswith(PERSONAL_PAGE_PREFIXES):
        return b"no-store"
    return b"private, no-cache" if signed_in else b"no-cache"


class HttpPolicyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = dict(scope, method="GET")
        policy = cache_control(scope)
        started = False
        # core.timing.uniform_duration may ask for the answer to wait (after the commit)
        answer_time: dict[str, float] = {}
        scope[HOLDER] = answer_time

        async def send_with_policy(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if answer_time:
                    await wait_for_answer_time(answer_time)
                started = True
                headers = list(message.get("headers", []))
                if policy is not None and not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", policy))
                    if policy != b"no-store":
                        headers.append((b"vary", b"Cookie, Authorization"))
                message["headers"] = headers
                await send(message)
            elif message["type"] == "http.response.body" and head:
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
            else:
                await send(message)

        async def receive_for_head() -> Message:
            # a HEAD request has no body, and a stream answering it ends once started
            if started:
                return {"type": "http.disconnect"}
            return await receive()

        token = CURRENT_REQUEST.set(Request(scope))
        try:
            await self.app(scope, receive_for_head if head else receive, send_with_policy)
        finally:
            CURRENT_REQUEST.reset(token)
