"""Rate limits on sign-in, registration, posting and editing, with the `limits` library.

Budgets used up by failures only (sign-in, the current password) are checked first with
`check_limit` and counted with `limit` after the failure; registration counts the accounts
created. The client's address is the connecting peer unless that peer is a trusted proxy
(`client_ip`).

Counters live in process memory by default and in Redis when KINDRED_REDIS_URL is set, so
several server processes share them. A refused request gets 429 with Retry-After.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter as AsyncLimiter
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter as SyncLimiter

from app.config import Settings
from app.core.client import client_ip as client_ip
from app.core.errors import RateLimited

Rule = Literal[
    "login_ip",
    "login_user",
    "register_ip",
    "post_user",
    "edit_user",
    "flag_user",
    "email_ip",
    "password_user",
    "render_user",
    "export_user",
]

MESSAGES: dict[Rule, str] = {
    "login_ip": "Too many sign-in attempts from your network. Please wait and try again.",
    "login_user": "Too many sign-in attempts for this account. Please wait and try again.",
    "register_ip": "Too many new accounts from your network. Please try again later.",
    "post_user": "You are posting very quickly. Please wait a moment before posting again.",
    "flag_user": "You have flagged many posts in a short time. Moderators will review them; "
    "please wait before flagging more.",
    "email_ip": "Too many e-mail requests from your network. Please try again later.",
    "export_user": "You have downloaded your data several times recently. Please try later.",
    "edit_user": "You are editing very quickly. Please wait a moment before editing again.",
    "password_user": "Too many wrong current passwords. Please wait and try again.",
    "render_user": "You are reloading this page very quickly. Please wait a moment.",
}


class _MemoryCounters(MemoryStorage):
    """limits' memory storage, expiring old entries inline at most once a second. The
    library starts a thread (`threading.Timer`, 10 ms) to expire them after nearly every
    hit: on the write path that thread cost a reply more CPU than the counting. Expiry
    only frees memory (a moving window reads its entries' times), so doing it later
    changes no answer."""

    EXPIRE_EVERY = 1.0  # seconds

    def __init__(self) -> None:
        self._next_expiry = 0.0
        super().__init__()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's (private)
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self.EXPIRE_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        # Redis is shared by every process; without it, counters live in this process, in
        # the synchronous memory storage (the async one hands every key to a thread to
        # expire it, which costs more than the counting)
        self.shared: AsyncLimiter | None = None
        self.local: SyncLimiter | None = None
        if settings.redis_url:
            uri = settings.redis_url.replace("redis://", "async+redis://", 1)
            self.shared = AsyncLimiter(storage_from_string(uri))
        else:
            self.local = SyncLimiter(_MemoryCounters())
        self.rules: dict[Rule, list[RateLimitItem]] = {
            "login_ip": parse_many(settings.rate_limit_login_ip),
            "login_user": parse_many(settings.rate_limit_login_user),
            "register_ip": parse_many(settings.rate_limit_register_ip),
            "post_user": parse_many(settings.rate_limit_post_user),
            "flag_user": parse_many(settings.rate_limit_flag_user),
            "email_ip": parse_many(settings.rate_limit_email_ip),
            "export_user": parse_many(settings.rate_limit_export_user),
            "edit_user": parse_many(settings.rate_limit_edit_user),
            "password_user": parse_many(settings.rate_limit_password_user),
            "render_user": parse_many(settings.rate_limit_render_user),
        }

    async def hit(self, rule: Rule, key: str) -> None:
        """Count one attempt against `rule` for `key`; raise RateLimited when over."""
        if not self.enabled:
            return
        for item in self.rules[rule]:
            if self.shared is not None:
                allowed = await self.shared.hit(item, rule, key)
            else:
                assert self.local is not None
                allowed = self.local.hit(item, rule, key)
            if not allowed:
                await self._refuse(rule, item, key)

    async def check(self, rule: Rule, key: str) -> None:
        """Raise RateLimited when `key` has used up `rule`, without counting this request
        (for budgets that only failures use up: see `hit` after the failure)."""
        if not self.enabled:
            return
        for item in self.rules[rule]:
            if self.shared is not None:
                allowed = await self.shared.test(item, rule, key)
            else:
                assert self.local is not None
                allowed = self.local.test(item, rule, key)
            if not allowed:
                await self._refuse(rule, item, key)

    async def _refuse(self, rule: Rule, item: RateLimitItem, key: str) -> None:
        stats = (
            await self.shared.get_window_stats(item, rule, key)
            if self.shared is not None
            else self.local.get_window_stats(item, rule, key)  # type: ignore[union-attr]
        )
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        from app.core.seclog import security_event

        security_event("rate_limited", rule=rule)
        raise RateLimited(
            f"{MESSAGES[rule]} (You can try again in {retry_after} seconds.)",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )


async def limit(request: Request, rule: Rule, key: str) -> None:
    """Count this request against `rule` for `key` (429 when over)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(rule, key)


async def check_limit(request: Request, rule: Rule, key: str) -> None:
    """429 when `key` has used up `rule`; this request is not counted (see `limit`)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.check(rule, key)
