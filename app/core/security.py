"""Password hashing, random tokens, CSRF tokens and the ASGI middleware for security
headers and request-size limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from anyio import to_thread
from fastapi import HTTPException
from passlib.context import CryptContext

# the browser session (its random token) and, before sign-in, the anonymous cookie that
# CSRF tokens of visitors' forms are tied to
SESSION_COOKIE = "kindred_session"
ANON_COOKIE = "kindred_anon"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PasswordHasher:
    """argon2id through passlib (libpass). Hashing runs in a worker thread: it is meant to be
    slow and must not stall the event loop."""

    def __init__(self, *, fast: bool = False) -> None:
        # Tests use small (still argon2id) parameters so the suite stays quick.
        params = (
            {"argon2__memory_cost": 1024, "argon2__time_cost": 1, "argon2__parallelism": 1}
            if fast
            else {}
        )
        self.context = CryptContext(schemes=["argon2"], argon2__type="ID", **params)
        self._dummy = self.context.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self.context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Constant work whether or not the account exists."""
        target = password_hash or self._dummy
        ok = await to_thread.run_sync(self._verify, password, target)
        return ok and password_hash is not None

    def _verify(self, password: str, password_hash: str) -> bool:
        try:
            return bool(self.context.verify(password, password_hash))
        except (ValueError, TypeError):
            return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def verify(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value), signature)


CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds the security headers to every response (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = [
            (b"content-security-policy", content_security_policy().encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (
                b"permissions-policy",
                b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
            ),
        ]
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.headers = tuple(headers)  # built once; each response gets one new list

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(message.get("headers") or ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413, whether announced by Content-Length
    or streamed in chunks, before anything is parsed or written."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"The request is too large (the limit is {self.max_bytes // 1000} KB)."

    async def _refuse(self, scope: Scope, send: Send) -> None:
        import json

        path = scope.get("path", "")
        if path.startswith("/api/"):
            body = json.dumps({"detail": self._detail(), "code": "payload_too_large"}).encode()
            ctype = b"application/json"
        else:
            body = f"<!doctype html><title>Too large</title><p>{self._detail()}</p>".encode()
            ctype = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
