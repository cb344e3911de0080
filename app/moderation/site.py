"""Settings administrators change at run time (one row)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.db import utcnow
from app.moderation import audit
from app.moderation.models import SiteSettings


async def get_site_settings(session: AsyncSession) -> SiteSettings:
    row = await session.get(SiteSettings, 1)
    if row is None:  # the migration inserts it; recreate it if someone removed it
        row = SiteSettings(id=1)
        session.add(row)
        await session.flush()
    return row


LABELS = {
    "flag_hide_threshold": "flag threshold",
    "hold_first_posts": "held first posts",
    "flag_trust_posts": "posts before flags count",
    "flag_trust_days": "days before flags count",
}


async def update_site_settings(
    session: AsyncSession,
    *,
    admin: User,
    flag_hide_threshold: int | None = None,
    hold_first_posts: int | None = None,
    flag_trust_posts: int | None = None,
    flag_trust_days: int | None = None,
) -> SiteSettings:
    check_permission(admin, Action.manage_site_settings)
    row = await get_site_settings(session)
    wanted = {
        "flag_hide_threshold": flag_hide_threshold,
        "hold_first_posts": hold_first_posts,
        "flag_trust_posts": flag_trust_posts,
        "flag_trust_days": flag_trust_days,
    }
    changes = []
    for name, value in wanted.items():
        old = getattr(row, name)
        if value is not None and value != old:
            changes.append(f"{LABELS[name]} {old} → {value}")
            setattr(row, name, value)
    if changes:
        row.updated_at = utcnow()
        await audit.record(
            session,
            actor=admin,
            action="update_settings",
            target_type="site",
            target_id=1,
            target_label="; ".join(changes),
        )
    await session.flush()
    return row
