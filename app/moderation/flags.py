"""Flags: members report posts; enough distinct reports hide a post until a moderator
looks; the queue shows open flags grouped by post, and posts waiting for approval."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Conflict, Invalid
from app.db import dialect_insert, utcnow
from app.discussions.models import Discussion, Post, Visibility
from app.moderation import service as moderation
from app.moderation.models import Flag, FlagReason
from app.moderation.site import get_site_settings


@dataclass(slots=True)
class FlagResult:
    flag: Flag
    hidden: bool  # this flag tipped the post over the threshold


def parse_reason(reason: str) -> FlagReason:
    try:
        return FlagReason(reason)
    except ValueError:
        choices = ", ".join(r.value for r in FlagReason)
        raise Invalid(f"Choose a reason: {choices}.", field="reason") from None


async def flag_post(
    session: AsyncSession, *, reporter: User, post: Post, reason: FlagReason, note: str = ""
) -> FlagResult:
    check_permission(reporter, Action.flag_post)
    if post.author_id == reporter.id:
        raise Invalid("You cannot flag your own post.", code="own_post")
    if post.deleted_at is not None:
        raise Invalid("This post was deleted.", code="post_deleted")
    if reason == FlagReason.other and not note.strip():
        raise Invalid("Please say what is wrong in the note.", field="note")
    flag_id = (
        await session.execute(
            dialect_insert(session, Flag)
            .values(
                post_id=post.id,
                reporter_id=reporter.id,
                reason=reason.value,
                note=note,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[Flag.post_id, Flag.reporter_id])
            .returning(Flag.id)
        )
    ).scalar_one_or_none()
    if flag_id is None:
        raise Conflict("You have already flagged this post. Thank you.", code="already_flagged")
    flag = await session.get_one(Flag, flag_id)
    hidden = False
    if post.status == Visibility.visible:
        open_flags = await session.scalar(
            select(func.count(func.distinct(Flag.reporter_id))).where(
                Flag.post_id == post.id, Flag.resolved_at.is_(None)
            )
        )
        threshold = (await get_site_settings(session)).flag_hide_threshold
        if (open_flags or 0) >= threshold:
            await moderation.hide_post(
                session,
                moderator=None,
                post=post,
                reason=f"Flagged by {open_flags} members",
            )
            hidden = True
    return FlagResult(flag=flag, hidden=hidden)


async def resolve_flag(
    session: AsyncSession, *, moderator: User, flag: Flag, action: str, reason: str = ""
) -> str:
    """Resolve one flag (and with it every open flag on the same post): dismiss (the post is
    fine; restored if it was hidden), hide, or delete the post."""
    check_permission(moderator, Action.moderate)
    if flag.resolved_at is not None:
        raise Conflict(
            f"This flag was already {flag.resolution} by {flag.resolved_by_name} "
            f"at {flag.resolved_at:%H:%M UTC on %d %b %Y}.",
            code="already_resolved",
            extra={"resolved_by": flag.resolved_by_name},
        )
    post = await session.get_one(Post, flag.post_id)
    if action == "dismiss":
        if post.status == Visibility.hidden:
            await moderation.restore_post(session, moderator=moderator, post=post, reason=reason)
        else:
            await moderation.dismiss_flags(session, moderator=moderator, post=post, reason=reason)
    elif action == "hide":
        await moderation.hide_post(session, moderator=moderator, post=post, reason=reason)
    elif action == "delete":
        await moderation.moderator_delete_post(
            session, moderator=moderator, post=post, reason=reason
        )
    else:
        raise Invalid("The action is dismiss, hide or delete.", field="action")
    await session.refresh(flag)
    return flag.resolution or action


# -- the queue ----------------------------------------------------------------------------


@dataclass(slots=True)
class QueueItem:
    post_id: int
    discussion_id: int
    discussion_title: str
    discussion_slug: str
    author: str
    author_role: str
    body_md: str
    status: str
    is_opening: bool
    created_at: datetime
    flag_count: int = 0
    first_flagged_at: datetime | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    first_flag_id: int | None = None

    @property
    def excerpt(self) -> str:
        text = " ".join(self.body_md.split())
        return text if len(text) <= 300 else text[:297] + "…"


@dataclass(slots=True)
class Queue:
    flagged: list[QueueItem]
    pending: list[QueueItem]


_ITEM_COLUMNS = (
    Post.id.label("post_id"),
    Post.discussion_id,
    Discussion.title.label("discussion_title"),
    Discussion.slug.label("discussion_slug"),
    User.username.label("author"),
    User.role.label("author_role"),
    Post.body_md,
    Post.status,
    Post.is_opening,
    Post.created_at,
)


async def load_queue(session: AsyncSession, *, moderator: User, limit: int = 50) -> Queue:
    """Open flags grouped by post — most-flagged first, then oldest — and posts awaiting
    approval, oldest first."""
    check_permission(moderator, Action.moderate)
    grouped = (
        select(
            Flag.post_id,
            func.count().label("flag_count"),
            func.min(Flag.created_at).label("first_flagged_at"),
            func.min(Flag.id).label("first_flag_id"),
        )
        .where(Flag.resolved_at.is_(None))
        .group_by(Flag.post_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                *_ITEM_COLUMNS,
                grouped.c.flag_count,
                grouped.c.first_flagged_at,
                grouped.c.first_flag_id,
            )
            .join(grouped, grouped.c.post_id == Post.id)
            .join(Discussion, Discussion.id == Post.discussion_id)
            .join(User, User.id == Post.author_id)
            .order_by(grouped.c.flag_count.desc(), grouped.c.first_flagged_at, Post.id)
            .limit(limit)
        )
    ).all()
    flagged = [QueueItem(**row._mapping) for row in rows]
    if flagged:
        details = await session.execute(
            select(Flag.post_id, Flag.reason, Flag.note)
            .where(Flag.resolved_at.is_(None), Flag.post_id.in_([i.post_id for i in flagged]))
            .order_by(Flag.id)
        )
        by_post = {item.post_id: item for item in flagged}
        for post_id, reason, note in details:
            item = by_post[post_id]
            item.reasons[reason] = item.reasons.get(reason, 0) + 1
            if note:
                item.notes.append(note)
    pending_rows = (
        await session.execute(
            select(*_ITEM_COLUMNS)
            .join(Discussion, Discussion.id == Post.discussion_id)
            .join(User, User.id == Post.author_id)
            .where(Post.status == Visibility.pending.value, Post.deleted_at.is_(None))
            .order_by(Post.created_at, Post.id)
            .limit(limit)
        )
    ).all()
    pending = [QueueItem(**row._mapping) for row in pending_rows]
    return Queue(flagged=flagged, pending=pending)
