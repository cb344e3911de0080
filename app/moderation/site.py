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


async def update_site_settings(
    session: AsyncSession,
    *,
    admin: User,
    flag_hide_threshold: int | None = None,
    hold_first_posts: int | None = None,
) -> SiteSettings:
    check_permission(admin, Action.manage_site_settings)
    row = await get_site_settings(session)
    changes = []
    if flag_hide_threshold is not None and flag_hide_threshold != row.flag_hide_threshold:
        changes.append(f"flag threshold {row.flag_hide_threshold} → {flag_hide_threshold}")
        row.flag_hide_threshold = flag_hide_threshold
    if hold_first_posts is not None and hold_first_posts != row.hold_first_posts:
        changes.append(f"held first posts {row.hold_first_posts} → {hold_first_posts}")
        row.hold_first_posts = hold_first_posts
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
