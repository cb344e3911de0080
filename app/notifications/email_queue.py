"""E-mail for notifications goes through the durable outbox, queued in the same transaction
as the notifications themselves."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


async def enqueue_for_post(session: AsyncSession, *, post_id: int) -> None:
    """Queue e-mail for the notifications just written about `post_id`, following each
    member's preferences (immediately, daily digest or never)."""


async def enqueue_for_notification(session: AsyncSession, *, notification_id: int) -> None:
    """Queue e-mail for one notification (e.g. a moderation notice)."""
