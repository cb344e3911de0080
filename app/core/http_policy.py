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

from app.core.seclog import CURRENT_SCOPE
from app.core.timing import HOLDER, wait_for_answer_time

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = tuple[tuple[bytes, bytes], ...]

PERSONAL_API_PREFIXES = ("/api/v1/me", "/api/v1/notifications", "/api/v1/auth")
PERSONAL_PAGE_PREFIXES = ("/settings", "/notifications", "/reset-password", "/verify-email")

# The headers each policy adds, built once: the middleware runs on every request, and the
# health check (core.health) measures what it costs.
_VARY = (b"vary", b"Cookie, Authorization")
_POLICY_HEADERS: dict[bytes, Headers] = {
    b"no-store": ((b"cache-control", b"no-store"),),
    b"public, no-cache": ((b"cache-control", b"public, no-cache"), _VARY),
    b"private, no-cache": ((b"cache-control", b"private, no-cache"), _VARY),
    b"no-cache": ((b"cache-control", b"no-cache"), _VARY),
}


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
    """Pure ASGI, and cheap: the policy's headers are built once, a response's header list
    is copied only when headers are added, and no Request object is made (the security
    log builds one from the scope when it writes a line)."""

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
        added = _POLICY_HEADERS[policy] if policy is not None else ()
        started = False
        # core.timing.uniform_duration may ask for the answer to wait (after the commit)
        answer_time: dict[str, float] = {}
        scope[HOLDER] = answer_time

        async def send_with_policy(message: Message) -> None:
            nonlocal started
            kind = message["type"]
            if kind == "http.response.start":
                if answer_time:
                    await wait_for_answer_time(answer_time)
                started = True
                if added:
                    headers = message.get("headers") or ()
                    for name, _value in headers:
                        if name == b"cache-control":  # the route said what may be kept
                            break
                    else:
                        message["headers"] = [*headers, *added]
                await send(message)
            elif head and kind == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
            else:
                await send(message)

        async def receive_for_head() -> Message:
            # a HEAD request has no body, and a stream answering it ends once started
            if started:
                return {"type": "http.disconnect"}
            return await receive()

        token = CURRENT_SCOPE.set(scope)
        try:
            await self.app(scope, receive_for_head if head else receive, send_with_policy)
        finally:
            CURRENT_SCOPE.reset(token)
