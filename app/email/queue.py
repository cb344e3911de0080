"""E-mail for notifications goes through the durable outbox, queued in the same transaction
as the notifications themselves (see outbox.py for how messages gather and dedupe)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import after_commit
from app.email.outbox import attach_post_notifications, queue_notifications


async def _wake() -> None:
    from app.email.worker import wake_workers

    wake_workers()


def wake_after_commit(session: AsyncSession) -> None:
    """E-mail was queued: the workers look at the outbox once the transaction commits."""
    after_commit(session, _wake)


async def enqueue_for_post(session: AsyncSession, *, post_id: int) -> None:
    """Queue e-mail for the notifications just written about `post_id`, following each
    member's preferences (immediately, daily digest or never). Safe to call again: a
    notification already in an e-mail is not queued twice."""
    settings = session.info.get("settings")
    if await queue_notifications(session, post_id=post_id, settings=settings):
        wake_after_commit(session)


async def attach_for_post(session: AsyncSession, *, post_id: int) -> None:
    """The second half of `enqueue_for_post` for a post whose notifications' messages were
    upserted with them (`outbox.messages_with`, PostgreSQL): attach each notification."""
    settings = session.info.get("settings")
    if await attach_post_notifications(session, post_id=post_id, settings=settings):
        wake_after_commit(session)


async def enqueue_for_notification(session: AsyncSession, *, notification_id: int) -> None:
    """Queue e-mail for one notification (e.g. a moderation notice)."""
    settings = session.info.get("settings")
    if await queue_notifications(session, notification_id=notification_id, settings=settings):
        after_commit(session, _wake)
