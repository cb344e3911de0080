"""Administrators create, edit and archive groups. Every change is in the audit log.

An archived group is read-only (no new discussions, no replies) and leaves the listings
(the groups page, the home page, the move-to list); its discussions keep their addresses.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Conflict
from app.db import utcnow
from app.groups import service
from app.groups.models import Group
from app.moderation import audit


async def all_groups(session: AsyncSession, *, admin: User) -> list[Group]:
    """Every group, archived ones last: the administrators' list."""
    check_permission(admin, Action.manage_groups)
    rows = await session.scalars(select(Group).order_by(Group.archived_at.is_not(None), Group.name))
    return list(rows.all())


async def create_group(
    session: AsyncSession, *, admin: User, slug: str, name: str, description: str = ""
) -> Group:
    check_permission(admin, Action.manage_groups)
    group = await service.create_group(session, slug=slug, name=name, description=description)
    await audit.record(
        session,
        actor=admin,
        action="create_group",
        target_type="group",
        target_id=group.id,
        target_label=f"{group.slug}: {group.name}",
    )
    return group


async def update_group(
    session: AsyncSession, *, admin: User, group: Group, name: str, description: str
) -> Group:
    check_permission(admin, Action.manage_groups)
    changes = []
    if name != group.name:
        changes.append(f"name: {group.name} → {name}")
        group.name = name
    if description != group.description:
        changes.append("description")
        group.description = description
    if changes:
        await session.flush()
        await audit.record(
            session,
            actor=admin,
            action="update_group",
            target_type="group",
            target_id=group.id,
            target_label=f"{group.slug}: {group.name}",
            reason="; ".join(changes),
        )
    return group


async def set_archived(
    session: AsyncSession, *, admin: User, group: Group, archived: bool, reason: str = ""
) -> Group:
    check_permission(admin, Action.manage_groups)
    if (group.archived_at is not None) == archived:
        raise Conflict(
            f"The group is already {'archived' if archived else 'open'}.", code="already_done"
        )
    group.archived_at = utcnow() if archived else None
    await session.flush()
    await audit.record(
        session,
        actor=admin,
        action="archive_group" if archived else "unarchive_group",
        target_type="group",
        target_id=group.id,
        target_label=f"{group.slug}: {group.name}",
        reason=reason,
    )
    return group
