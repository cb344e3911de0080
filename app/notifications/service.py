"""Notifications: the set-based fan-out when a post becomes visible, the list, marking read,
and the unread count folded into the sign-in look-up.

Fan-out is one `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING user_id` for every
kind at once, however many followers: each member gets the first kind, in priority order
(mention, reply to you, watched reply, new discussion), that would notify them. The partial
unique index on (user_id, post_id) keeps a member from being told twice of one post (an
approved or restored post is published again).

Who is never notified: the author; suspended members; members who muted the discussion
(or its group, unless they set a level on the discussion itself); and, while the discussion
is not visible to everybody, anyone but moderators (and its author, while it is pending).
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.visibility import notification_shown_now, visible_notifications
from app.accounts.models import Role, User
from app.core.errors import Invalid, NotFound
from app.core.rows import Step, Write, execute_write, inline
from app.core.validation import MAX_ID
from app.db import dialect_insert, insert_for_dialect, table_of, utcnow
from app.discussions.models import Discussion, Post, Visibility
from app.email import outbox
from app.notifications.mentions import MAX_MENTIONS, not_suspended
from app.notifications.models import (
    DiscussionFollow,
    FollowLevel,
    GroupFollow,
    Notification,
    NotificationKind,
)

# the header shows "99+" past this; counting stops there
UNREAD_CAP = 100
PAGE_SIZE = 30

_COLUMNS = [
    "user_id",
    "kind",
    "post_id",
    "discussion_id",
    "actor_id",
    "message",
    "created_at",
    "shown",
]


# -- fan-out ------------------------------------------------------------------------------


# The fan-out statements are built once for each shape they take (which kind, who may hear,
# how the answered author is found, per dialect) with bind parameters for the values: built
# afresh for every post they cost a reply a few milliseconds of CPU. Parameters: post_id,
# discussion_id, group_id, author_id (the actor), discussion_author_id, now, and
# mention_ids, reply_to_post_id or reply_to_author_id where the shape uses them.
_NOW = bindparam("now", type_=Notification.created_at.type)


def _level_in(user_id: Any) -> ColumnElement[Any]:
    """The member's level for the discussion: their own choice for it, else their choice
    for its group, else normal."""
    own = (
        select(DiscussionFollow.level)
        .where(
            DiscussionFollow.user_id == user_id,
            DiscussionFollow.discussion_id == bindparam("discussion_id", type_=Integer),
        )
        .correlate(User)
        .scalar_subquery()
    )
    group = (
        select(GroupFollow.level)
        .where(
            GroupFollow.user_id == user_id,
            GroupFollow.group_id == bindparam("group_id", type_=Integer),
        )
        .correlate(User)
        .scalar_subquery()
    )
    return func.coalesce(own, group, literal(FollowLevel.normal.value))


def audience_of(discussion: Discussion) -> str:
    """Who may hear of a post in this discussion: everybody, or (a held discussion) its
    author and staff, or (hidden or deleted) staff only."""
    if discussion.status == Visibility.visible and discussion.deleted_at is None:
        return "everybody"
    if discussion.status == Visibility.pending and discussion.deleted_at is None:
        return "author_and_staff"
    return "staff"


def _may_hear(audience: str) -> ColumnElement[bool]:
    """Conditions on `User` every recipient meets."""
    conditions = [User.id != bindparam("author_id", type_=Integer), not_suspended(_NOW)]
    staff = User.role.in_([literal(Role.moderator.value), literal(Role.admin.value)])
    if audience == "author_and_staff":
        conditions.append(or_(staff, User.id == bindparam("discussion_author_id", type_=Integer)))
    elif audience == "staff":
        conditions.append(staff)
    return and_(*conditions)


# the mentioned members are bound one parameter each (none: NULL, which matches no one), so
# the statement is the same whoever is mentioned and is compiled once
_MENTION_SLOTS = [f"mention_{i}" for i in range(MAX_MENTIONS)]
# which kind claims a member that several reasons would notify: the first in this order
_RANK = {
    NotificationKind.mention: 1,
    NotificationKind.reply_to_you: 2,
    NotificationKind.watched_reply: 3,
    NotificationKind.new_discussion: 3,
}


def _recipients(kind: NotificationKind, audience: str, answered: str) -> Select[int, int]:
    """Who one kind notifies, with the kind's rank; `answered` says how the author of the
    post answered is found ("post": by reply_to_post_id, "author": reply_to_author_id)."""
    recipients = select(User.id.label("user_id"), literal(_RANK[kind]).label("rank")).where(
        _may_hear(audience)
    )
    not_muted = _level_in(User.id) != FollowLevel.muted.value
    if kind == NotificationKind.mention:
        return recipients.where(
            User.id.in_([bindparam(name, type_=Integer) for name in _MENTION_SLOTS]), not_muted
        )
    if kind == NotificationKind.reply_to_you:
        recipients = recipients.where(not_muted)
        if answered == "post":  # the author of the post answered, in the same query
            return recipients.join(Post, Post.author_id == User.id).where(
                Post.id == bindparam("reply_to_post_id", type_=Integer)
            )
        return recipients.where(User.id == bindparam("reply_to_author_id", type_=Integer))
    if kind == NotificationKind.watched_reply:
        return recipients.join(DiscussionFollow, DiscussionFollow.user_id == User.id).where(
            DiscussionFollow.discussion_id == bindparam("discussion_id", type_=Integer),
            DiscussionFollow.level == FollowLevel.watching.value,
        )
    # a new discussion, to its group's watchers
    return recipients.join(GroupFollow, GroupFollow.user_id == User.id).where(
        GroupFollow.group_id == bindparam("group_id", type_=Integer),
        GroupFollow.level == FollowLevel.watching.value,
        not_muted,
    )


def _fan_out_insert(
    kinds: tuple[tuple[NotificationKind, str], ...], audience: str, dialect: str
) -> Any:
    """One INSERT ... SELECT of every kind's notifications: each kind's recipients with its
    rank, one row per member (the best rank: a member mentioned and watching is told of the
    mention), so a post costs one statement however many kinds and members it notifies.
    `kinds`: (kind, how the answered author is found) in rank order."""
    parts = [_recipients(kind, audience, answered) for kind, answered in kinds]
    candidates = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("candidates")
    best = func.min(candidates.c.rank)
    kind_of = case(
        *[(best == _RANK[kind], literal(kind.value)) for kind, _ in kinds],
        else_=literal(kinds[-1][0].value),
    )
    rows = (
        select(
            candidates.c.user_id,
            kind_of,
            bindparam("post_id", type_=Integer),
            bindparam("discussion_id", type_=Integer),
            bindparam("author_id", type_=Integer),
            literal(""),
            _NOW,
            true(),
        )
        .where(candidates.c.user_id.is_not(None))  # SQLite: a WHERE before the upsert
        .group_by(candidates.c.user_id)
    )
    return (
        insert_for_dialect(dialect, table_of(Notification))
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing()
    )


@functools.cache
def _fan_out(kinds: tuple[tuple[NotificationKind, str], ...], audience: str, dialect: str) -> Write:
    """The fan-out (`_fan_out_insert`), returning who was notified."""
    return Write(
        _fan_out_insert(kinds, audience, dialect).returning(table_of(Notification).c.user_id)
    )


@functools.cache
def _fan_out_with_messages(kinds: tuple[tuple[NotificationKind, str], ...], audience: str) -> Write:
    """PostgreSQL: the fan-out and its e-mail's gathering messages in one statement
    (`outbox.messages_with`), returning who was notified."""
    n = table_of(Notification).c
    notified = (
        _fan_out_insert(kinds, audience, "postgresql")
        .returning(n.id, n.user_id, n.kind, n.discussion_id)
        .cte("notified")
    )
    return Write(outbox.messages_with(notified))


async def notify_post(
    session: AsyncSession,
    *,
    post: Post,
    discussion: Discussion,
    author_id: int,
    mention_ids: list[int],
    reply_to_author_id: int | None,
    reply_to_post_id: int | None = None,
    only_mentions: bool = False,
    with_messages: bool = False,
) -> list[int]:
    """Write the notifications about a post that just became visible (or, with
    `only_mentions`, about names an edit added), in one statement. Returns who was
    notified.

    `with_messages` (PostgreSQL, a post written in this transaction: see
    `fans_out_with_messages`): the same statement upserts their e-mail's gathering
    messages (`outbox.messages_with`); the caller then attaches them
    (`email.queue.attach_for_post`) instead of queueing them."""
    step = notify_post_step(
        session.get_bind().dialect.name,
        session.info.get("settings"),
        post_id=post.id,
        is_opening=post.is_opening,
        discussion_id=discussion.id,
        group_id=discussion.group_id,
        discussion_author_id=discussion.author_id,
        audience=audience_of(discussion),
        author_id=author_id,
        mention_ids=mention_ids,
        reply_to_author_id=reply_to_author_id,
        reply_to_post_id=reply_to_post_id,
        only_mentions=only_mentions,
        with_messages=with_messages,
    )
    if step is None:
        return []
    return [row[0] for row in await execute_write(session, step.write, **step.params)]


def notify_post_step(
    dialect: str,
    settings: Any,
    *,
    post_id: int,
    is_opening: bool,
    discussion_id: int,
    group_id: int,
    discussion_author_id: int,
    audience: str,
    author_id: int,
    mention_ids: list[int],
    reply_to_author_id: int | None,
    reply_to_post_id: int | None = None,
    only_mentions: bool = False,
    with_messages: bool = False,
) -> Step | None:
    """`notify_post`'s statement and parameters, from plain values, for a write script
    (`core.rows.run_writes`); its answer is a row per member notified. None: nobody to
    notify of anything."""
    kinds: list[tuple[NotificationKind, str]] = []
    if mention_ids:
        kinds.append((NotificationKind.mention, ""))
    if not only_mentions and (reply_to_author_id or reply_to_post_id) is not None:
        kinds.append(
            (NotificationKind.reply_to_you, "post" if reply_to_post_id is not None else "author")
        )
    if not only_mentions:
        kinds.append(
            (NotificationKind.new_discussion, "")
            if is_opening
            else (NotificationKind.watched_reply, "")
        )
    if not kinds:
        return None
    mentioned = mention_ids[:MAX_MENTIONS]
    now = utcnow()
    params: dict[str, Any] = {
        "post_id": post_id,
        "discussion_id": discussion_id,
        "group_id": group_id,
        "author_id": author_id,
        "discussion_author_id": discussion_author_id,
        "now": now,
        "reply_to_post_id": reply_to_post_id,
        "reply_to_author_id": reply_to_author_id,
    } | {
        name: mentioned[i] if i < len(mentioned) else None for i, name in enumerate(_MENTION_SLOTS)
    }
    if with_messages:
        write = _fan_out_with_messages(tuple(kinds), audience)
        params |= outbox.queue_parameters(settings, now)
    else:
        write = _fan_out(tuple(kinds), audience, dialect)
    return Step(write, params)


def fans_out_with_messages(session: AsyncSession, *, new_post: bool) -> bool:
    """Whether `notify_post` can write a post's notifications and upsert their e-mail's
    messages in one statement: on PostgreSQL (a data-modifying WITH), for a post written
    in this transaction, whose notifications are then all among the rows written."""
    return new_post and session.get_bind().dialect.name == "postgresql"


async def notify_moderation(
    session: AsyncSession, *, user_id: int, post_id: int | None, message: str
) -> int:
    discussion_id = None
    if post_id is not None:
        discussion_id = await session.scalar(select(Post.discussion_id).where(Post.id == post_id))
    result = await session.execute(
        dialect_insert(session, Notification)
        .values(
            user_id=user_id,
            kind=NotificationKind.moderation.value,
            post_id=post_id,
            discussion_id=discussion_id,
            actor_id=None,
            message=message,
            created_at=utcnow(),
        )
        .returning(Notification.id)
    )
    return int(result.scalar_one())


# -- reading ------------------------------------------------------------------------------


async def refresh_shown(session: AsyncSession, *, post: Post) -> None:
    """A post became visible or stopped being (hidden, restored, approved, deleted): its
    notifications, and for a discussion's first post every notification of the
    discussion, say again whether they are shown."""
    await session.flush()
    target = (
        Notification.discussion_id == post.discussion_id
        if post.is_opening
        else Notification.post_id == post.id
    )
    await session.execute(
        update(Notification).where(target).values(shown=notification_shown_now()),
        execution_options={"synchronize_session": False},
    )


def unread_count_column(user_id: Any) -> ScalarSelect[int]:
    """A scalar subquery: the member's unread notifications, counted up to UNREAD_CAP in
    the partial index kept for it. Correlated to `user_id` (e.g. `User.id`), so it rides
    on the sign-in look-up."""
    inner = (
        select(inline(1))
        .select_from(Notification)
        .where(visible_notifications(user_id), Notification.read_at.is_(None))
        .correlate_except(Notification)
        .limit(inline(UNREAD_CAP))  # inline: see `core.rows.inline`
        .subquery()
    )
    return select(func.count()).select_from(inner).scalar_subquery()


async def unread_count(session: AsyncSession, *, user_id: int) -> int:
    return int(await session.scalar(select(unread_count_column(literal(user_id)))) or 0)


@dataclass(slots=True)
class NotificationView:
    id: int
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None
    post_id: int | None
    discussion_id: int | None
    discussion_title: str | None
    actor: str | None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    @property
    def target_url(self) -> str | None:
        return f"/posts/{self.post_id}" if self.post_id is not None else None

    @property
    def text(self) -> str:
        who = self.actor or "Someone"
        title = f"“{self.discussion_title}”" if self.discussion_title else "a discussion"
        match self.kind:
            case NotificationKind.mention:
                return f"{who} mentioned you in {title}"
            case NotificationKind.reply_to_you:
                return f"{who} replied to you in {title}"
            case NotificationKind.watched_reply:
                return f"{who} replied in {title}, which you watch"
            case NotificationKind.new_discussion:
                return f"{who} started {title} in a group you watch"
        return self.message or "A moderator acted on your post."


@dataclass(slots=True)
class NotificationPage:
    items: list[NotificationView]
    next_cursor: str | None
    unread: int


def encode_cursor(notification_id: int) -> str:
    return base64.urlsafe_b64encode(f"n{notification_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = raw[1:]
        if not (raw.startswith("n") and digits.isascii() and digits.isdigit()):
            raise ValueError
        if len(digits) > 10:
            raise ValueError
        value = int(digits)
        if not 1 <= value <= MAX_ID:  # ids are 32-bit: a larger one fails in the database
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "That page of notifications does not exist; start from the newest.", field="cursor"
        ) from None


async def list_notifications(
    session: AsyncSession, *, user: User, cursor: str | None = None, limit: int = PAGE_SIZE
) -> NotificationPage:
    """Newest first, `limit` at a time; the cursor is the last id shown."""
    actor = aliased(User)
    query = (
        select(
            Notification.id,
            Notification.kind,
            Notification.message,
            Notification.created_at,
            Notification.read_at,
            Notification.post_id,
            Notification.discussion_id,
            Discussion.title.label("discussion_title"),
            actor.username.label("actor"),
        )
        .outerjoin(Discussion, Discussion.id == Notification.discussion_id)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .where(visible_notifications(user.id))
        .order_by(Notification.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(Notification.id < decode_cursor(cursor))
    rows = (await session.execute(query)).all()
    items = [NotificationView(**row._mapping) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return NotificationPage(items, next_cursor, await unread_count(session, user_id=user.id))


async def mark_read(session: AsyncSession, *, user: User, notification_id: int) -> NotificationView:
    """Mark one of the member's notifications read (another member's: 404, as if absent)."""
    found = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if found is None:
        raise NotFound("There is no such notification.")
    if found.read_at is None:
        found.read_at = utcnow()
        await session.flush()
    page = await session.execute(
        select(Discussion.title, User.username)
        .select_from(Notification)
        .outerjoin(Discussion, Discussion.id == Notification.discussion_id)
        .outerjoin(User, User.id == Notification.actor_id)
        .where(Notification.id == found.id)
    )
    title, actor = page.one()
    return NotificationView(
        id=found.id,
        kind=found.kind,
        message=found.message,
        created_at=found.created_at,
        read_at=found.read_at,
        post_id=found.post_id,
        discussion_id=found.discussion_id,
        discussion_title=title,
        actor=actor,
    )


async def mark_all_read(session: AsyncSession, *, user: User) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
