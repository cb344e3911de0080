"""Flags: members report posts; enough distinct reports hide a post until a moderator
looks; the queue shows open flags grouped by post, and posts waiting for approval."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.fetch import access_discussion
from app.access.permissions import Action, check_permission
from app.accounts.models import Role, User
from app.core.errors import Conflict, Invalid, NotFound
from app.db import dialect_insert, utcnow
from app.discussions.models import Discussion, Post, Visibility
from app.moderation import claims
from app.moderation import service as moderation
from app.moderation.models import Flag, FlagReason, SiteSettings
from app.moderation.site import get_site_settings
from app.safety.models import ReviewKind
from app.safety.queue import SafetyItem, open_safety_items


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


def in_good_standing(settings: SiteSettings, now: datetime) -> ColumnElement[bool]:
    """Members whose flags count toward hiding a post automatically: a verified e-mail and
    enough published posts, or an account old enough (site settings). A few accounts
    registered a minute ago cannot hide anybody's post; their flags still reach the queue."""
    return or_(
        and_(User.email_verified_at.is_not(None), User.post_count >= settings.flag_trust_posts),
        User.created_at <= now - timedelta(days=settings.flag_trust_days),
    )


async def counted_flags(session: AsyncSession, *, post: Post, settings: SiteSettings) -> int:
    """Open flags on the post from distinct members in good standing."""
    count = await session.scalar(
        select(func.count(func.distinct(Flag.reporter_id)))
        .join(User, User.id == Flag.reporter_id)
        .where(
            Flag.post_id == post.id,
            Flag.resolved_at.is_(None),
            in_good_standing(settings, utcnow()),
        )
    )
    return int(count or 0)


async def flag_post(
    session: AsyncSession, *, reporter: User, post: Post, reason: FlagReason, note: str = ""
) -> FlagResult:
    check_permission(reporter, Action.flag_post)
    # a post in a discussion the member may not see does not exist for them (404, as reading)
    await access_discussion(session, post.discussion_id, viewer=reporter)
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
    hidden = await _hide_if_enough(session, post=post)
    return FlagResult(flag=flag, hidden=hidden)


async def _hide_if_enough(session: AsyncSession, *, post: Post) -> bool:
    """The automatic hide, once enough members in good standing flagged a visible post.
    Moderators' and administrators' posts are never hidden automatically: their flags wait
    in the queue for another moderator."""
    if post.status != Visibility.visible:
        return False
    author_role = await session.scalar(select(User.role).where(User.id == post.author_id))
    if author_role in (Role.moderator.value, Role.admin.value):
        return False
    settings = await get_site_settings(session)
    counted = await counted_flags(session, post=post, settings=settings)
    if counted < settings.flag_hide_threshold:
        return False
    try:
        await moderation.hide_post(
            session, moderator=None, post=post, reason=f"Flagged by {counted} members"
        )
    except Conflict:  # hidden by a moderator or another flag meanwhile: nothing to do
        return False
    return True


async def access_flag(session: AsyncSession, flag_id: int, *, moderator: User) -> Flag:
    """A flag by its number, for a moderator (404 when there is none)."""
    check_permission(moderator, Action.moderate)
    flag = await session.get(Flag, flag_id)
    if flag is None:
        raise NotFound("There is no flag with that number.")
    return flag


async def resolve_flag(
    session: AsyncSession, *, moderator: User, flag: Flag, action: str, reason: str = ""
) -> str:
    """Resolve one flag (and with it every open flag on the same post): dismiss (the post is
    fine; restored if it was hidden), hide, or delete the post."""
    check_permission(moderator, Action.moderate)
    if action not in ("dismiss", "hide", "delete"):
        raise Invalid("The action is dismiss, hide or delete.", field="action")
    post = await session.get_one(Post, flag.post_id)
    # Take the post's row, then look at the flag again: of two moderators resolving the same
    # flag at once, the second reads it resolved by the first.
    await claims.lock_post(session, post)
    await session.refresh(flag)
    if flag.resolved_at is not None:
        raise Conflict(
            f"This flag was already {flag.resolution} by {flag.resolved_by_name} "
            f"at {flag.resolved_at:%H:%M UTC on %d %b %Y}.",
            code="already_resolved",
            extra={"resolved_by": flag.resolved_by_name},
        )
    await session.refresh(post)
    if action == "dismiss":
        if post.status == Visibility.hidden:
            await moderation.restore_post(session, moderator=moderator, post=post, reason=reason)
        else:
            await moderation.dismiss_flags(session, moderator=moderator, post=post, reason=reason)
    elif action == "hide":
        await moderation.hide_post(session, moderator=moderator, post=post, reason=reason)
    else:
        await moderation.moderator_delete_post(
            session, moderator=moderator, post=post, reason=reason
        )
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
    # app/safety: a possible crisis goes above everything, confirmed personal information
    # below everything
    crisis: list[SafetyItem] = field(default_factory=list)
    personal_information: list[SafetyItem] = field(default_factory=list)


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
    return Queue(
        flagged=flagged,
        pending=pending,
        crisis=await open_safety_items(session, kind=ReviewKind.crisis, limit=limit),
        personal_information=await open_safety_items(
            session, kind=ReviewKind.personal_information, limit=limit
        ),
    )
