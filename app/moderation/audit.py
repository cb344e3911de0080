"""The audit log: one entry per moderation action, written in the action's transaction.
There is deliberately no function here (nor anywhere) that edits or deletes an entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.moderation.models import AuditEntry

AUTOMATIC = "Kindred (automatic)"


async def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    reason: str = "",
) -> AuditEntry:
    """Append one entry; `actor=None` is the site acting on its own (e.g. hiding a post
    after enough flags)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else AUTOMATIC,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:200],
        reason=reason,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


async def list_entries(
    session: AsyncSession,
    *,
    viewer: User,
    limit: int = 50,
    before: int | None = None,
    action: str | None = None,
) -> AuditPage:
    """Newest first, keyset-paginated on id."""
    check_permission(viewer, Action.read_audit_log)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if action:
        query = query.where(AuditEntry.action == action)
    entries = list((await session.scalars(query)).all())
    next_before = None
    if len(entries) > limit:
        entries = entries[:limit]
        next_before = entries[-1].id
    return AuditPage(entries=entries, next_before=next_before)


def describe(entry: AuditEntry) -> str:
    action = entry.action.replace("_", " ")
    return f"{entry.actor_name} {action} {entry.target_type} #{entry.target_id}"
