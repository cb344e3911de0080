"""`GET /healthz` answered inside Kindred's middleware, before FastAPI's routing.

The health check says the process is up and serving; a load balancer asks it every few
seconds, and the bench uses it as the floor of what any request costs here. Routed like
a page, it waited behind every route of the app (FastAPI tries them in order, some two
hundred regular expressions and scope look-ups: 0.3-1 ms of CPU per check). Answered here,
innermost of Kindred's own middleware, it still passes through all of them (HEAD as GET,
Cache-Control, the security headers, the body limit), so it measures what they cost and
nothing else. The FastAPI route stays for the other methods (405) and the route tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/healthz"
BODY = b'{"status":"ok"}'  # what the route's JSONResponse would send
_HEADERS = ((b"content-length", str(len(BODY)).encode()), (b"content-type", b"application/json"))
_BODY_MESSAGE: Message = {"type": "http.response.body", "body": BODY, "more_body": False}


class HealthCheckMiddleware:
    """Answers `GET /healthz` with `{"status":"ok"}` itself; everything else passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            # a fresh start message: the middleware outside adds headers to it
            await send({"type": "http.response.start", "status": 200, "headers": list(_HEADERS)})
            await send(dict(_BODY_MESSAGE))
            return
        await self.app(scope, receive, send)
