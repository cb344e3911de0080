"""The security log: one structured line per event that matters for an account's safety
(ASVS 16.3.1-16.3.3, 16.4.1).

Events: sign-in success and failure, lockouts (rate limits), password and e-mail changes,
API token creation and revocation, sessions ended, permission refusals. Each line is JSON
on the `kindred.security` logger: `event`, `at` (UTC, ISO 8601), `user_id` and `username`
(who was signed in, or who the event is about), `client` (the address, as rate limits see
it), `method` and `path`, plus the event's own fields. Never a password, token, cookie or
reset link: callers pass names and ids only. JSON escapes every control character (a
newline typed into a username cannot start a forged line) and `ensure_ascii` keeps the
line plain ASCII.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request

from app.core.client import client_ip
from app.db import utcnow

log = logging.getLogger("kindred.security")
# The request being served, as its ASGI scope (set by core.http_policy); a Request is built
# from it only when a line is written, not on every request.
CURRENT_SCOPE: contextvars.ContextVar[MutableMapping[str, Any] | None] = contextvars.ContextVar(
    "kindred_security_scope", default=None
)
_FORBIDDEN_KEYS = frozenset({"password", "token", "cookie", "secret", "new_password"})


def security_event(event: str, *, user: Any = None, **fields: Any) -> None:
    """Write one line. `user`: whoever the event is about when it is not the signed-in
    member (a sign-in, a failed sign-in naming an account)."""
    secret = _FORBIDDEN_KEYS.intersection(fields)
    if secret:
        raise ValueError(f"the security log never holds a {sorted(secret)[0]}")
    if not log.isEnabledFor(logging.INFO):
        return
    record: dict[str, Any] = {"event": event, "at": utcnow().isoformat()}
    scope = CURRENT_SCOPE.get()
    request = Request(scope) if scope is not None else None
    if user is None and request is not None:
        auth = getattr(request.state, "auth", None)
        user = getattr(auth, "viewer", None)
    if user is not None:
        record["user_id"] = getattr(user, "id", None)
        record["username"] = getattr(user, "username", None)
    if request is not None:
        record["client"] = client_ip(request)
        record["method"] = request.method
        record["path"] = request.url.path
    record.update(fields)
    log.info(json.dumps(record, ensure_ascii=True, default=str, sort_keys=False))


def configure() -> None:
    """Send the security log to standard error, one JSON line each, unless the process
    already set up a handler for it (create_app calls this)."""
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
