"""Former members: the neutral name a deleted account goes by, and the hold on their old
username. Light on imports, so that registration can ask."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
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
