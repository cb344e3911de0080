"""Small account rules that both sign-in and the account e-mails need: how an address is
compared, and ending a member's other sessions and tokens."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, User, UserSession


def email_key(email: str) -> str:
    return email.strip().lower()


async def end_other_sessions(
    session: AsyncSession,
    *,
    user: User,
    keep_session_id: str | None,
    keep_token_id: int | None,
) -> None:
    """End every session and API token of the member but the ones kept ("sign out
    everywhere else", a password change or reset)."""
    await session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.id != (keep_session_id or "")
        )
    )
    await session.execute(
        delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.id != (keep_token_id or 0))
    )
