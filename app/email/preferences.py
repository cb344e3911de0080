"""Members' e-mail preferences, and the one-click unsubscribe that changes them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.errors import BadRequest
from app.core.security import Signer
from app.db import dialect_insert, utcnow
from app.email.mailer import BAD_UNSUBSCRIBE, read_unsubscribe_token
from app.email.models import (
    DEFAULT_MODES,
    EmailMode,
    EmailPreference,
)
from app.notifications.models import NotificationKind

Preferences = dict[NotificationKind, EmailMode]


async def get_preferences(session: AsyncSession, *, user_id: int) -> Preferences:
    modes = dict(DEFAULT_MODES)
    rows = await session.execute(
        select(EmailPreference.kind, EmailPreference.mode).where(EmailPreference.user_id == user_id)
    )
    for kind, mode in rows:
        modes[NotificationKind(kind)] = EmailMode(mode)
    return modes


async def set_preferences(
    session: AsyncSession, *, user_id: int, changes: Preferences
) -> Preferences:
    """Set the given kinds (others keep their setting); returns every kind's mode."""
    if changes:
        now = utcnow()
        stmt = dialect_insert(session, EmailPreference).values(
            [
                {"user_id": user_id, "kind": k.value, "mode": m.value, "updated_at": now}
                for k, m in changes.items()
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "kind"],
                set_={"mode": stmt.excluded.mode, "updated_at": stmt.excluded.updated_at},
            )
        )
    return await get_preferences(session, user_id=user_id)


@dataclass(frozen=True, slots=True)
class UnsubscribeTarget:
    user_id: int
    username: str
    kinds: tuple[NotificationKind, ...]
    everything: bool


async def unsubscribe_target(
    session: AsyncSession, signer: Signer, *, token: str
) -> UnsubscribeTarget:
    """Who and what a link unsubscribes; BadRequest (400) for an altered link."""
    scope = read_unsubscribe_token(signer, token)
    username = await session.scalar(select(User.username).where(User.id == scope.user_id))
    if username is None:
        raise BadRequest(BAD_UNSUBSCRIBE, code="bad_token")
    return UnsubscribeTarget(scope.user_id, username, scope.kinds, scope.everything)


async def unsubscribe(
    session: AsyncSession, signer: Signer, *, token: str, everything: bool = False
) -> UnsubscribeTarget:
    """Set the link's kinds (or, when asked, every kind) to "never". Idempotent. The link
    itself is the credential: no sign-in, no CSRF token (see email_pages.py)."""
    target = await unsubscribe_target(session, signer, token=token)
    kinds = tuple(NotificationKind) if everything else target.kinds
    await set_preferences(
        session, user_id=target.user_id, changes=dict.fromkeys(kinds, EmailMode.never)
    )
    return UnsubscribeTarget(
        target.user_id, target.username, kinds, everything or target.everything
    )
