"""Former members: the neutral name a deleted account goes by, the hold on their old
username, and the audit log read with their name replaced. Light on imports, so that
registration and the audit log can ask."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.db import utcnow
from app.moderation.models import AuditEntry
from app.safety.models import UsernameHold


def neutral_name(user_id: int) -> str:
    return f"former-member-{user_id}"


def hold_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def username_held(session: AsyncSession, key: str) -> bool:
    """Whether a deleted member's old username is still held (registration asks)."""
    until = await session.scalar(
        select(UsernameHold.until).where(UsernameHold.key_hash == hold_hash(key))
    )
    return until is not None and until > utcnow()


async def redact_audit(session: AsyncSession, entries: list[AuditEntry]) -> list[AuditEntry]:
    """The audit log cannot change; when read, entries about a deleted member (or by one)
    show the neutral name. The moderators' names stay."""
    ids = {e.target_id for e in entries if e.target_type == "user" and e.target_id} | {
        e.actor_id for e in entries if e.actor_id
    }
    if not ids:
        return entries
    deleted = set(
        (
            await session.scalars(
                select(User.id).where(User.id.in_(ids), User.deleted_at.is_not(None))
            )
        ).all()
    )
    if not deleted:
        return entries
    for entry in entries:
        about = entry.target_type == "user" and entry.target_id in deleted
        by = entry.actor_id in deleted
        if about or by:
            session.expunge(entry)  # a read-only copy: the table refuses updates
            if about and entry.target_id is not None:
                entry.target_label = neutral_name(entry.target_id)
            if by and entry.actor_id is not None:
                entry.actor_name = neutral_name(entry.actor_id)
    return entries
