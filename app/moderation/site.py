"""Settings administrators change at run time (one row)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.moderation.models import SiteSettings


async def get_site_settings(session: AsyncSession) -> SiteSettings:
    row = await session.get(SiteSettings, 1)
    if row is None:  # the migration inserts it; recreate it if someone removed it
        row = SiteSettings(id=1)
        session.add(row)
        await session.flush()
    return row
