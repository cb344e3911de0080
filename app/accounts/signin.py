"""Sign-in and the other password checks as the routes run them: rate limits that only
failures use up, and the security log. Shared by the JSON API and the HTML forms.

- Sign-in is limited per address (`login_ip`) and per account (`login_user`): the account
  the typed name or address resolves to, so a name and an e-mail address share one budget
  (a name with no account is its own key). The budgets are checked before the password
  and counted only when it is wrong: a member who signs in often never locks themselves
  out.
- Wrong current passwords (password change, e-mail change) count against `password_user`
  for the member.
"""

from __future__ import annotations

import contextlib

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import User
from app.core.errors import Forbidden, Invalid, NotAuthenticated, RateLimited
from app.core.ratelimit import check_limit, client_ip, limit
from app.core.seclog import security_event
from app.core.security import PasswordHasher


async def sign_in(
    request: Request,
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    login: str,
    password: str,
    via: str,
) -> User:
    address = client_ip(request)
    await check_limit(request, "login_ip", address)
    user = await service.find_login_user(session, login)
    account_key = f"id:{user.id}" if user is not None else "name:" + login.strip().lower()
    await check_limit(request, "login_user", account_key)
    try:
        user = await service.authenticate(
            session, hasher, login=login, password=password, user=user
        )
    except NotAuthenticated:
        await limit(request, "login_ip", address)
        await limit(request, "login_user", account_key)
        security_event("sign_in_failed", user=user, login=login[:100], via=via)
        raise
    except Forbidden as exc:
        security_event("sign_in_refused", user=user, reason=exc.code, via=via)
        raise
    security_event("sign_in", user=user, via=via)
    return user


async def check_current_password(request: Request, user: User) -> None:
    """429 when the member has used up their wrong-current-password budget."""
    await check_limit(request, "password_user", str(user.id))


async def count_wrong_current_password(request: Request, user: User, exc: Invalid) -> None:
    """After a refused change: count it when the current password was wrong."""
    if exc.code == "wrong_password":
        security_event("current_password_wrong", user=user)
        # this answer is already a refusal; the next attempt gets the 429
        with contextlib.suppress(RateLimited):
            await limit(request, "password_user", str(user.id))
