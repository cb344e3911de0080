"""Reading discussions: the hot queries of a discussion page, built once and run as plain
rows (app/core/rows.py), thread order, and a member's posts as a viewer may see them."""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.permissions import Action, can
from app.access.visibility import can_see_discussion, can_see_group, visible_posts
from app.accounts.models import Actor, Role, User
from app.core.errors import NotFound
from app.core.rows import Batch, Query, fetch_all, fetch_batch, fetch_one, inline
from app.discussions.models import (
    Discussion,
    Post,
    Reaction,
    Visibility,
)
from app.discussions.views import (
    MAX_INDENT,
    REACTION_BITS,
    AuthoredPost,
    DiscussionHead,
    DiscussionPage,
    PostView,
    Seer,
)
from app.groups.models import Group
from app.moderation.models import AuditEntry, SiteSettings
from app.notifications import follows

_VIEWER = bindparam("viewer", type_=Integer)  # 0 for a visitor

# The page's statements send PostgreSQL only what changes between requests (the viewer, the
# discussion, the page): their constants are written into their text (`core.rows.inline`),
# so PostgreSQL keeps one plan for each instead of planning it again on every request.


# The viewer's reactions to a post in one probe of the reactions' primary key, made only
# for posts somebody reacted to (the counts move with the rows, in the same transaction).
_MY_REACTIONS = case(
    (
        Post.helpful_count + Post.hug_count > inline(0),
        select(
            func.sum(
                case(
                    *(
                        (Reaction.kind == inline(k.value), inline(b))
                        for k, b in REACTION_BITS.items()
                    )
                )
            )
        )
        .where(Reaction.post_id == Post.id, Reaction.user_id == _VIEWER)
        .scalar_subquery(),
    )
)


_POST_OWN_COLUMNS = (
    Post.id,
    Post.reply_to_id,
    Post.root_id,
    Post.depth,
    Post.is_opening,
    Post.body_md,
    Post.body_html,
    Post.created_at,
    Post.edited_at,
    Post.deleted_at,
    Post.status,
    Post.helpful_count,
    Post.hug_count,
    Post.author_id,
)
_POST_COLUMNS = (*_POST_OWN_COLUMNS, User.username, User.role, _MY_REACTIONS)

# PostgreSQL: each post's author by its primary key, not by a hash of every member. With
# the plain join its planner scans the whole users table and hashes it for every page (501
# members: 0.35 of the posts statement's 0.9 ms, measured with EXPLAIN ANALYZE), because it
# prices 21 index probes above one scan of a small table; the OFFSET 0 keeps it from
# turning the lateral subquery back into that join. SQLite always probes the index.
_AUTHOR = (
    select(User.username, User.role)
    .where(User.id == Post.author_id)
    .offset(inline(0))
    .lateral("author")
)


def _posts_select(*where: ColumnElement[bool], postgresql: bool = False) -> Select[Any]:
    """The page's posts with their authors and the viewer's reactions."""
    columns: tuple[Any, ...]
    if postgresql:
        columns = (*_POST_OWN_COLUMNS, _AUTHOR.c.username, _AUTHOR.c.role, _MY_REACTIONS)
        return select(*columns).select_from(Post).join(_AUTHOR, true()).where(*where)
    columns = _POST_COLUMNS
    return select(*columns).join(User, User.id == Post.author_id).where(*where)


def _posts_query(*where: ColumnElement[bool]) -> Query[PostView]:
    return Query(_posts_select(*where), PostView, postgresql=_posts_select(*where, postgresql=True))


def held_for_approval(user_id: Any) -> ColumnElement[bool]:
    """Whether the member's next post will wait for a moderator, as `posting.initial_status`
    decides it, as a column (false for a visitor, id 0): so that a page can say so before
    they post without a statement of its own.

    Cheap for everyone but the newest members: two primary-key look-ups decide it for
    visitors, mentors and moderators (their role) and for members with enough published
    posts (`post_count` never exceeds the posts counted here: deleting a post lowers it
    but not its status). Only a member below the threshold has their posts counted, and
    the count stops at 100, the highest setting."""
    member = select(User.role, User.post_count).where(User.id == user_id).subquery()
    role = select(member.c.role).scalar_subquery()
    post_count = select(member.c.post_count).scalar_subquery()
    hold = (
        select(SiteSettings.hold_first_posts).where(SiteSettings.id == inline(1)).scalar_subquery()
    )
    published = (
        select(inline(1))
        .select_from(Post)
        .where(Post.author_id == user_id, Post.status == inline(Visibility.visible.value))
        .limit(inline(100))
        .subquery()
    )
    return case(
        # no role (a visitor: no row) is not a member either
        (func.coalesce(role != inline(Role.member.value), true()), false()),
        (post_count >= hold, false()),
        else_=select(func.count()).select_from(published).scalar_subquery() < hold,
    )


# Who locked a locked discussion: the latest lock in its audit entries (indexed on the
# target), looked up only for locked discussions, inside the page's one discussion read.
_LOCKED_BY = case(
    (
        Discussion.is_locked,
        select(AuditEntry.actor_name)
        .where(
            AuditEntry.target_type == inline("discussion"),
            AuditEntry.target_id == Discussion.id,
            AuditEntry.action == inline("lock"),
        )
        .order_by(AuditEntry.id.desc())
        .limit(inline(1))
        .scalar_subquery(),
    )
)

DISCUSSION_HEAD = Query(
    select(
        Discussion.id,
        Discussion.title,
        Discussion.slug,
        Discussion.status,
        Discussion.author_id,
        Discussion.group_id,
        Discussion.reply_count,
        Discussion.top_level_count,
        Discussion.created_at,
        Discussion.last_activity_at,
        Discussion.is_locked,
        Discussion.pinned_at,
        Group.slug,
        Group.name,
        User.username,
        User.role,
        follows.discussion_level_column(_VIEWER, Discussion.id),
        Group.archived_at,
        _LOCKED_BY,
        held_for_approval(_VIEWER),
        Group.visibility,
    )
    .join(Group, Group.id == Discussion.group_id)
    .join(User, User.id == Discussion.author_id)
    .where(Discussion.id == bindparam("discussion_id"), Discussion.deleted_at.is_(None)),
    DiscussionHead,
)

_TOP_LEVEL = (
    select(Post.id)
    .where(
        Post.discussion_id == bindparam("discussion_id"),
        Post.reply_to_id.is_(None),
        Post.is_opening.is_(False),
    )
    .order_by(Post.id)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
    .cte("top_level")
)

# Pending posts are shown to their author (and moderators) only: nobody else learns they exist.
_SHOWN_TO_VIEWER = or_(
    bindparam("sees_all", type_=Boolean),
    Post.status != inline(Visibility.pending.value),
    Post.author_id == _VIEWER,
)

_DISCUSSION_ID = bindparam("discussion_id", type_=Integer)
_IN_PAGE = or_(
    Post.is_opening.is_(True),
    Post.id.in_(select(_TOP_LEVEL.c.id)),
    Post.root_id.in_(select(_TOP_LEVEL.c.id)),
)

# The question and one page of top-level replies with every reply under them.
# (no ORDER BY: SQLite would sort the rows, bodies and all, in a temporary b-tree; the
# page sorts its few dozen rows in Python instead: `arrange_page`)
PAGE_POSTS = _posts_query(Post.discussion_id == _DISCUSSION_ID, _IN_PAGE, _SHOWN_TO_VIEWER)

# PAGE_POSTS for a page that holds every top-level reply (the first page of a discussion
# with at most a page of them: most discussions): every post of the discussion. Every post
# is the question, a top-level reply or under one (`root_id`: posting.reply), and
# `top_level_count` counts every top-level reply ever written, whatever became of it
# (posting.reply counts held ones too; none is ever removed), so it is never below their
# number. Without the page's CTE, which SQLite materialized and probed twice a row
# (~15 µs of a page's ~100 µs statement).
ALL_POSTS = _posts_query(Post.discussion_id == _DISCUSSION_ID, _SHOWN_TO_VIEWER)

# A page's discussion and posts in one statement (`core.rows.Batch`): one round trip to the
# database, not two. The posts are ALL_POSTS when every top-level reply fits on the first
# page (most discussions; a later page of such a discussion is a 404 whatever is read), else
# PAGE_POSTS, which of the two decided by the discussion's row in the same statement:
# neither database looks at the page's top-level replies (the CTE) when the count says all.
# The head decides whether the viewer may see the discussion at all (`read_discussion`);
# the posts of one they may not see are read for nothing and dropped.
_ALL_FIT = (
    select(Discussion.top_level_count <= bindparam("limit", type_=Integer))
    .where(Discussion.id == _DISCUSSION_ID)
    .scalar_subquery()
)
DISCUSSION_PAGE = Batch(
    DISCUSSION_HEAD,
    _posts_query(
        Post.discussion_id == _DISCUSSION_ID,
        or_(_ALL_FIT, _IN_PAGE),
        _SHOWN_TO_VIEWER,
    ),
)

_PARENT, _PARENT_AUTHOR = aliased(Post), aliased(User)
ONE_POST = Query(
    select(*_POST_COLUMNS, _PARENT_AUTHOR.username)
    .join(User, User.id == Post.author_id)
    .outerjoin(_PARENT, _PARENT.id == Post.reply_to_id)
    .outerjoin(_PARENT_AUTHOR, _PARENT_AUTHOR.id == _PARENT.author_id)
    .where(Post.id == bindparam("post_id")),
    PostView,
)


_by_id = attrgetter("id")


def _viewer_id(viewer: Actor | None) -> int:
    return viewer.id if viewer is not None else 0


async def discussion_head(
    session: AsyncSession, discussion_id: int, *, viewer: Actor | None
) -> DiscussionHead:
    """The discussion for its page, if it exists and this viewer may see it."""
    head = await fetch_one(
        session, DISCUSSION_HEAD, discussion_id=discussion_id, viewer=_viewer_id(viewer)
    )
    return _seen_head(head, viewer)


def _seen_head(head: DiscussionHead | None, viewer: Actor | None) -> DiscussionHead:
    if (
        head is None
        or not can_see_discussion(viewer, head)
        or not can_see_group(viewer, head.group_visibility)
    ):
        raise NotFound("There is no discussion at this address.")
    return head


def pages_for(top_level_count: int, page_size: int) -> int:
    return max(1, math.ceil(top_level_count / page_size))


async def read_discussion(
    session: AsyncSession,
    discussion_id: int,
    *,
    page: int,
    page_size: int,
    viewer: Actor | None,
) -> tuple[DiscussionHead, list[PostView]]:
    """The discussion, if it exists and this viewer may see it (as `discussion_head`), and
    the posts of one page of it as the viewer may see them, unsorted: one statement
    (`DISCUSSION_PAGE`). `arrange_page` makes the page of them."""
    head_rows, posts = await fetch_batch(
        session,
        DISCUSSION_PAGE,
        discussion_id=discussion_id,
        viewer=_viewer_id(viewer),
        sees_all=can(viewer, Action.see_hidden_content),
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    return _seen_head(head_rows[0] if head_rows else None, viewer), posts


async def load_discussion_page(
    session: AsyncSession,
    *,
    discussion: DiscussionHead,
    page: int,
    page_size: int,
    viewer: Actor | None,
) -> DiscussionPage:
    """The question and one page of top-level replies with every reply under them, in
    thread order: one statement whatever the discussion's size."""
    pages = pages_for(discussion.top_level_count, page_size)
    if page > pages:
        raise NotFound(f"This discussion has {pages} page{'s' if pages != 1 else ''}.")
    viewer_id, sees_all = _viewer_id(viewer), can(viewer, Action.see_hidden_content)
    if pages == 1:  # page 1 holds every top-level reply (`ALL_POSTS`)
        views = await fetch_all(
            session, ALL_POSTS, discussion_id=discussion.id, viewer=viewer_id, sees_all=sees_all
        )
    else:
        views = await fetch_all(
            session,
            PAGE_POSTS,
            discussion_id=discussion.id,
            viewer=viewer_id,
            sees_all=sees_all,
            limit=page_size,
            offset=(page - 1) * page_size,
        )
    return arrange_page(discussion, views, page=page, page_size=page_size, viewer=viewer)


def arrange_page(
    discussion: DiscussionHead,
    views: list[PostView],
    *,
    page: int,
    page_size: int,
    viewer: Actor | None,
) -> DiscussionPage:
    """The page of a discussion's posts read for it (404 past its last page): the question,
    and the replies in thread order, with what depends on the viewer filled in."""
    pages = pages_for(discussion.top_level_count, page_size)
    if page > pages:
        raise NotFound(f"This discussion has {pages} page{'s' if pages != 1 else ''}.")
    views.sort(key=_by_id)
    opening = None
    replies = []
    seer = Seer.of(viewer)
    for view in views:
        view.seen_by(seer)
        if view.is_opening:
            opening = view
        else:
            replies.append(view)
    return DiscussionPage(
        discussion=discussion,
        opening=opening,
        replies=thread_order(replies),
        page=page,
        pages=pages,
    )


async def post_view(session: AsyncSession, post_id: int, *, viewer: Actor | None) -> PostView:
    """One post as the discussion page shows it (live updates, the API)."""
    view = await fetch_one(session, ONE_POST, post_id=post_id, viewer=_viewer_id(viewer))
    if view is None:
        raise NotFound("There is no post at this address.")
    view.indent = min(view.depth, MAX_INDENT)
    if view.depth <= MAX_INDENT:
        view.in_reply_to = None
    return view.seen_by(Seer.of(viewer))


def thread_order(posts: list[PostView]) -> list[PostView]:
    """Depth-first order, oldest first among siblings, with capped indentation."""
    children: dict[int | None, list[PostView]] = {}
    by_id = {p.id: p for p in posts}
    for post in posts:  # posts arrive sorted by id, so siblings stay oldest-first
        if post.reply_to_id is not None and post.reply_to_id not in by_id:
            continue  # under a post this viewer may not see
        children.setdefault(post.reply_to_id, []).append(post)
    ordered: list[PostView] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        post = stack.pop()
        post.indent = min(post.depth, MAX_INDENT)
        if post.depth > MAX_INDENT and post.reply_to_id in by_id:
            post.in_reply_to = by_id[post.reply_to_id].author
        ordered.append(post)
        stack.extend(reversed(children.get(post.id, [])))
    return ordered


async def page_of_post(session: AsyncSession, *, post: Post, page_size: int) -> int:
    """Which page of its discussion a post is on (the question is on every page)."""
    if post.is_opening:
        return 1
    top_id = post.root_id or post.id
    before = await session.scalar(
        select(func.count()).where(
            Post.discussion_id == post.discussion_id,
            Post.reply_to_id.is_(None),
            Post.is_opening.is_(False),
            Post.id < top_id,
        )
    )
    return int(before or 0) // page_size + 1


async def recent_posts_by(
    session: AsyncSession, *, author: User, viewer: Actor | None, limit: int = 10
) -> list[AuthoredPost]:
    """A member's latest posts, as this viewer may see them (a visitor: published posts in
    published discussions only; the author: also their own held and hidden ones)."""
    rows = await session.execute(
        select(
            Post.id,
            Post.discussion_id,
            Discussion.title,
            Discussion.slug,
            Post.body_html,
            Post.created_at,
            Post.is_opening,
            Post.status,
        )
        .join(Discussion, Discussion.id == Post.discussion_id)
        .where(Post.author_id == author.id, visible_posts(viewer))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return [AuthoredPost(**row._mapping) for row in rows.all()]


async def count_posts_by(session: AsyncSession, *, author: User, viewer: Actor | None) -> int:
    """How many posts of this member the viewer may see: the count a profile shows."""
    count = await session.scalar(
        select(func.count())
        .select_from(Post)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .where(Post.author_id == author.id, visible_posts(viewer))
    )
    return int(count or 0)
