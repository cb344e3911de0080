"""The audit log: one entry per moderation action, written in the action's transaction.
There is deliberately no function here (nor anywhere) that edits or deletes an entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.discussions.models import Discussion, Post
from app.moderation.models import AuditEntry

AUTOMATIC = "Kindred (automatic)"
COMMAND_LINE = "Kindred (command line)"


async def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    reason: str = "",
    actor_name: str = AUTOMATIC,
) -> AuditEntry:
    """Append one entry; `actor=None` is the site acting on its own, named by `actor_name`
    (the automatic hide after enough flags, or the `kindred` command line)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else actor_name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:200],
        reason=reason,
    )
    session.add(entry)
    await session.flush()
    return entry


def post_label(post: Post, discussion: Discussion) -> str:
    return f"post #{post.id} in “{discussion.title}”"


async def record_post(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    post: Post,
    discussion: Discussion,
    reason: str = "",
) -> AuditEntry:
    """The entry every verb on a post writes: the post, named with its discussion."""
    return await record(
        session,
        actor=actor,
        action=action,
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
    )


@dataclass(slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


async def _page(session: AsyncSession, query: Select[AuditEntry], limit: int) -> AuditPage:
    """One page of a newest-first query that asked for `limit + 1` rows."""
    # entries about (or by) a deleted member already hold its neutral name (app/safety)
    entries = list((await session.scalars(query)).all())
    next_before = None
    if len(entries) > limit:
        entries = entries[:limit]
        next_before = entries[-1].id
    return AuditPage(entries=entries, next_before=next_before)


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
    return await _page(session, query, limit)


async def member_history(
    session: AsyncSession, *, viewer: User, member: User, limit: int = 50, before: int | None = None
) -> AuditPage:
    """Everything moderators did to this member and to their posts, newest first, by query
    (keyset-paginated on id), however many other actions happened since."""
    check_permission(viewer, Action.suspend_members)
    their_posts = select(Post.id).where(Post.author_id == member.id)
    query = (
        select(AuditEntry)
        .where(
            or_(
                and_(AuditEntry.target_type == "user", AuditEntry.target_id == member.id),
                and_(AuditEntry.target_type == "post", AuditEntry.target_id.in_(their_posts)),
            )
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return await _page(session, query, limit)


def describe(entry: AuditEntry) -> str:
    action = entry.action.replace("_", " ")
    return f"{entry.actor_name} {action} {entry.target_type} #{entry.target_id}"
