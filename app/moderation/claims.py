"""How a moderation verb claims its change, so that of two moderators acting at once exactly
one succeeds and the other hears who got there first.

The claim is `UPDATE ... WHERE id = :id AND <the state the verb expects> RETURNING id`: on
PostgreSQL the second UPDATE waits for the first's row lock, then re-checks its WHERE against
the committed row and matches nothing; on SQLite writers take turns (busy_timeout) and the
second finds the state already changed. A verb does its counters, audit entry and notices only
after it won the claim. The loser's 409 names the moderator from the audit log, which the
winner wrote in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.errors import Conflict
from app.discussions.models import Discussion, Post, Visibility
from app.moderation.models import AuditEntry

# what each audited action did, for the 409 that names who got there first
DONE = {
    "approve_post": "approved",
    "hide_post": "hidden",
    "restore_post": "restored",
    "delete_post": "deleted",
    "dismiss_flags": "reviewed",
    "lock": "locked",
    "unlock": "unlocked",
    "pin": "pinned",
    "unpin": "unpinned",
    "move": "moved",
    "suspend": "suspended",
    "unsuspend": "unsuspended",
    "set_role": "given a new role",
}


async def already_done(
    session: AsyncSession,
    target_type: str,
    target_id: int,
    what: str,
    actions: tuple[str, ...] = (),
) -> Conflict:
    """409 naming the moderator whose action made this one moot: the latest audit entry on
    the target among `actions` (any action when none are given)."""
    query = select(AuditEntry).where(
        AuditEntry.target_type == target_type, AuditEntry.target_id == target_id
    )
    if actions:
        query = query.where(AuditEntry.action.in_(actions))
    last = await session.scalar(query.order_by(AuditEntry.id.desc()).limit(1))
    if last is not None:
        what = DONE.get(last.action, what)
        who = f" by {last.actor_name} at {last.created_at:%H:%M UTC on %d %b %Y}"
    else:
        who = ""
    return Conflict(
        f"This {target_type} was already {what}{who}.",
        code="already_resolved",
        extra={"resolved_by": last.actor_name if last else None},
    )


async def claim(
    session: AsyncSession,
    model: type[Post] | type[Discussion] | type[User],
    row_id: int,
    *expected: ColumnElement[bool],
    **values: Any,
) -> bool:
    """Change the row only if it is still in the `expected` state; True if this transaction
    won it. The object in the session is updated in place."""
    result = await session.execute(
        update(model)
        .where(model.id == row_id, *expected)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session="fetch")
    )
    return result.first() is not None


def live(status: Visibility) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Post.status == status.value, Post.deleted_at.is_(None)


async def lock_post(session: AsyncSession, post: Post) -> None:
    """Take the post's row for this transaction (a write that changes nothing), so a check
    that follows sees what a moderator acting at the same moment committed."""
    await session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(status=Post.status)
        .execution_options(synchronize_session=False)
    )
