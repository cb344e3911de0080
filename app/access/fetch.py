"""Fetch-and-authorize: one object by its address, if this viewer may see it, else 404."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from itertools import accumulate

from sqlalchemy import Integer, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.visibility import (
    can_see_discussion,
    can_see_group,
    can_see_post,
    can_see_status,
)
from app.accounts.models import Actor, User
from app.core.errors import Invalid, NotAuthenticated, NotFound
from app.core.rows import Query, fetch_one, inline
from app.core.validation import is_storable
from app.db import table_of
from app.discussions.models import Discussion, Post
from app.groups.models import Group
from app.moderation.models import SiteSettings
from app.notifications.models import DiscussionFollow


async def access_group(session: AsyncSession, slug: str) -> Group:
    group = None
    if is_storable(slug) and len(slug) <= 80:
        group = await session.scalar(select(Group).where(Group.slug == slug))
    if group is None:
        raise NotFound("There is no group at this address.")
    return group


async def access_discussion(
    session: AsyncSession, discussion_id: int, *, viewer: Actor | None
) -> tuple[Discussion, Group]:
    """The discussion and its group, if it exists and this viewer may see it (a held
    discussion is its author's and the moderators'; a hidden one the same)."""
    row = (
        await session.execute(
            select(Discussion, Group)
            .join(Group, Group.id == Discussion.group_id)
            .where(Discussion.id == discussion_id, Discussion.deleted_at.is_(None))
        )
    ).one_or_none()
    if (
        row is None
        or not can_see_discussion(viewer, row[0])
        or not can_see_group(viewer, row[1].visibility)
    ):
        raise NotFound("There is no discussion at this address.")
    return row[0], row[1]


async def access_post(session: AsyncSession, post_id: int, *, viewer: Actor | None) -> Post:
    """The post, if this viewer may see it and the discussion it lives in. A deleted post
    is still found (its place in the thread stays, and deleting it again is harmless);
    what shows a post leaves its text out (`PostView`, `shown_to_everybody`)."""
    row = (
        await session.execute(
            select(Post, Discussion, Group.visibility)
            .join(Discussion, Discussion.id == Post.discussion_id)
            .join(Group, Group.id == Discussion.group_id)
            .where(Post.id == post_id, Discussion.deleted_at.is_(None))
        )
    ).one_or_none()
    if (
        row is None
        or not can_see_group(viewer, row[2])
        or not can_see_discussion(viewer, row[1])
        or not can_see_status(viewer, row[0])
    ):
        raise NotFound("There is no post at this address.")
    return row[0]


async def access_reply_target(
    session: AsyncSession, post_id: int, *, discussion: Discussion, viewer: Actor
) -> Post:
    """The post a reply answers (`reply_to`): in this discussion, not deleted, and one the
    replier may see. Anything else is a bad field (422), not a missing page."""
    post = await session.get(Post, post_id)
    check_reply_target(post, discussion=discussion, viewer=viewer)
    assert post is not None
    return post


# -- a reply: what writing it needs to know, in one statement --------------------------------


@dataclass(slots=True)
class Replier:
    """The member writing, as their row holds them now (not as the session's sign-in
    look-up saw them): what the permission table, the hold of new members' first posts,
    the safety checks and auto-follow read."""

    id: int
    username: str
    role: str
    auto_follow: bool
    post_count: int
    country: str | None
    suspended_at: datetime | None
    suspended_until: datetime | None


@dataclass(slots=True)
class ReplyGroup:
    id: int
    name: str
    visibility: str
    archived_at: datetime | None
    last_activity_at: datetime | None


@dataclass(slots=True)
class AnsweredPost:
    """The post a reply answers (`reply_to`), the columns the rule and the thread need."""

    id: int
    discussion_id: int
    author_id: int
    status: str
    deleted_at: datetime | None
    is_opening: bool
    depth: int
    root_id: int | None


@dataclass(slots=True)
class ReplyContext:
    discussion: Discussion  # built from the row, in no session (nothing reads it back)
    group: ReplyGroup
    member: Replier
    answered: AnsweredPost | None  # None: no reply_to, or no such post
    hold_first_posts: int | None  # the site setting; None: its row is missing
    following: bool = False  # the member has a follow level for the discussion already


_DISCUSSION_COLUMNS = (
    "id", "group_id", "author_id", "title", "slug", "reply_count", "top_level_count",
    "created_at", "last_activity_at", "status", "is_locked", "pinned_at",
)  # fmt: skip
# (table, the columns read, in the order of the plain row's fields)
_PARTS = (
    (table_of(Discussion), _DISCUSSION_COLUMNS),
    (table_of(Group), tuple(f.name for f in fields(ReplyGroup))),
    (table_of(User), tuple(f.name for f in fields(Replier))),
    (table_of(Post), tuple(f.name for f in fields(AnsweredPost))),
)
_D, _G, _U, _P = (table for table, _names in _PARTS)
_FOLLOWS = table_of(DiscussionFollow)
_REPLY_CONTEXT = Query(
    select(
        *(table.c[name] for table, names in _PARTS for name in names),
        select(SiteSettings.hold_first_posts).where(SiteSettings.id == inline(1)).scalar_subquery(),
        # whether the member already has a level for this discussion (auto-follow adds none)
        exists()
        .where(_FOLLOWS.c.user_id == _U.c.id, _FOLLOWS.c.discussion_id == _D.c.id)
        .label("following"),
    )
    .select_from(_D)
    .join(_G, _G.c.id == _D.c.group_id)
    # the member's own row, and the post answered: one row each at most, by primary key
    .outerjoin(_U, _U.c.id == bindparam("member", type_=Integer))
    .outerjoin(_P, _P.c.id == bindparam("reply_to", type_=Integer))
    .where(_D.c.id == bindparam("discussion", type_=Integer), _D.c.deleted_at.is_(None)),
    lambda *values: values,
)
# where each part's columns end in the row
_ENDS = tuple(accumulate(len(names) for _table, names in _PARTS))


async def access_reply_context(
    session: AsyncSession, discussion_id: int, *, reply_to_id: int | None, viewer: Actor
) -> ReplyContext:
    """Everything writing a reply reads, in one statement of plain columns (no ORM load):
    the discussion and its group if this viewer may see them (404 otherwise, as
    `access_discussion`), the member's row (401 when it is gone), the post answered (checked
    by the caller, `check_reply_target`, in the order the reply's checks run), the
    site's hold of new members' first posts and whether the member follows the discussion.
    Read outside the reply's write transaction, as the ORM reads it replaces were: on
    SQLite on the process's reader, with no hand-off to the driver's thread."""
    row = await fetch_one(
        session, _REPLY_CONTEXT, discussion=discussion_id, member=viewer.id, reply_to=reply_to_id
    )
    if row is None:
        raise NotFound("There is no discussion at this address.")
    d, g, u, p = _ENDS
    discussion = Discussion(**dict(zip(_DISCUSSION_COLUMNS, row[:d], strict=True)), deleted_at=None)
    group = ReplyGroup(*row[d:g])
    if not can_see_discussion(viewer, discussion) or not can_see_group(viewer, group.visibility):
        raise NotFound("There is no discussion at this address.")
    if row[g] is None:
        raise NotAuthenticated("Please sign in to do that.")
    answered = AnsweredPost(*row[u:p]) if row[u] is not None else None
    return ReplyContext(discussion, group, Replier(*row[g:u]), answered, row[p], bool(row[p + 1]))


def check_reply_target(
    answered: AnsweredPost | Post | None, *, discussion: Discussion, viewer: Actor
) -> AnsweredPost | Post:
    """The post a reply answers must be in this discussion, not deleted, and one the
    replier may see; anything else is a bad field (422), not a missing page."""
    if (
        answered is None
        or answered.discussion_id != discussion.id
        or not can_see_post(viewer, answered, discussion)
    ):
        raise Invalid(
            "reply_to must be a post in this discussion.", field="reply_to", code="bad_reply_to"
        )
    return answered
