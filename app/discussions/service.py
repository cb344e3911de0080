"""Discussions and threaded replies: start, reply, edit (with history), soft delete, react,
and the page of a discussion read as plain rows (no ORM objects on the hot path)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    Boolean,
    Integer,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.permissions import Action, can, check_can_post, check_permission
from app.access.visibility import can_see_discussion, can_see_post, visible_posts
from app.accounts.models import Actor, Role, User
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.rows import Query, fetch_all, fetch_one
from app.core.templating import moment
from app.core.text import slugify
from app.core.urls import discussion_url
from app.db import dialect_insert, utcnow
from app.discussions.models import (
    Discussion,
    Post,
    PostRevision,
    Reaction,
    ReactionKind,
    Visibility,
)
from app.groups.models import Group
from app.moderation import canned
from app.moderation.site import get_site_settings
from app.notifications import follows, hooks

# Indentation stops here; deeper replies say whom they answer instead.
MAX_INDENT = 3


# -- reading ------------------------------------------------------------------------------


@dataclass(slots=True)
class PostView:
    """A post as pages and the API show it: plain values from one row."""

    id: int
    reply_to_id: int | None
    root_id: int | None
    depth: int
    is_opening: bool
    body_md: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    status: str
    helpful_count: int
    hug_count: int
    author_id: int
    author: str
    author_role: str
    # the viewer's own reactions, as bits (REACTION_BITS); None for none
    my_reactions: int | None = None
    # deeper than MAX_INDENT: whom it answers
    in_reply_to: str | None = None
    indent: int = 0
    # a hidden post shows as a placeholder to those who may not read it
    concealed: bool = False
    # the viewer may edit it
    editable: bool = False

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def pending(self) -> bool:
        return self.status == Visibility.pending

    @property
    def hidden(self) -> bool:
        return self.status == Visibility.hidden

    @property
    def badge(self) -> str | None:
        return Role(self.author_role).badge

    @property
    def counts(self) -> dict[str, int]:
        return {"helpful": self.helpful_count, "hug": self.hug_count}

    @property
    def my_helpful(self) -> bool:
        return bool(self.my_reactions and self.my_reactions & REACTION_BITS[ReactionKind.helpful])

    @property
    def my_hug(self) -> bool:
        return bool(self.my_reactions and self.my_reactions & REACTION_BITS[ReactionKind.hug])

    @property
    def mine(self) -> list[str]:
        bits = self.my_reactions or 0
        return [kind.value for kind, bit in REACTION_BITS.items() if bits & bit]

    @property
    def when(self) -> Markup:
        return moment(self.created_at)

    @property
    def css_class(self) -> str:
        classes = f"post indent-{self.indent}"
        if self.is_opening:
            classes += " opening"
        if self.deleted_at is not None:
            classes += " deleted"
        if self.concealed:
            classes += " concealed"
        elif self.status == Visibility.pending:
            classes += " pending"
        elif self.status == Visibility.hidden:
            classes += " hidden-post"
        return classes

    def seen_by(self, viewer: Seer) -> PostView:
        """Fill in what depends on the viewer (after the visibility filter of the query)."""
        if not viewer.sees_hidden:
            self.concealed = self.status == Visibility.hidden and self.author_id != viewer.id
        self.editable = self.deleted_at is None and (
            viewer.edits_any or (viewer.edits_own and self.author_id == viewer.id)
        )
        return self


@dataclass(frozen=True, slots=True)
class Seer:
    """The viewer of a page of posts, the permission table read once per page rather
    than once per post."""

    id: int  # 0: a visitor
    sees_hidden: bool
    edits_own: bool
    edits_any: bool

    @classmethod
    def of(cls, viewer: Actor | None) -> Seer:
        return cls(
            id=viewer.id if viewer is not None else 0,
            sees_hidden=can(viewer, Action.see_hidden_content),
            edits_own=can(viewer, Action.edit_own_post),
            edits_any=can(viewer, Action.edit_any_post),
        )


@dataclass(frozen=True, slots=True)
class PostActions:
    """What the viewer of a page of posts may do with them (the post component's `v`)."""

    viewer_id: int  # 0: a visitor
    csrf_token: str
    can_reply: bool
    can_flag: bool
    can_moderate: bool
    return_to: str  # where a moderator's action on a post comes back to

    @classmethod
    def of(
        cls, viewer: Actor | None, *, csrf_token: str, return_to: str, locked: bool = False
    ) -> PostActions:
        return cls(
            viewer_id=viewer.id if viewer is not None else 0,
            csrf_token=csrf_token,
            can_reply=can(viewer, Action.reply)
            and (not locked or can(viewer, Action.lock_discussion)),
            can_flag=can(viewer, Action.flag_post),
            can_moderate=can(viewer, Action.moderate),
            return_to=return_to,
        )


@dataclass(slots=True)
class GroupRef:
    id: int
    slug: str
    name: str


@dataclass(slots=True)
class DiscussionHead:
    """A discussion as its page shows it: with its group, its author and the viewer's
    follow level, in one row."""

    id: int
    title: str
    slug: str
    status: str
    author_id: int
    group_id: int
    reply_count: int
    top_level_count: int
    created_at: datetime
    last_activity_at: datetime
    is_locked: bool
    pinned_at: datetime | None
    group_slug: str
    group_name: str
    author: str
    author_role: str
    follow_level: str | None

    @property
    def url(self) -> str:
        return discussion_url(self.id, self.slug)

    @property
    def group(self) -> GroupRef:
        return GroupRef(self.group_id, self.group_slug, self.group_name)


@dataclass(slots=True)
class DiscussionPage:
    discussion: DiscussionHead
    opening: PostView | None
    replies: list[PostView]
    page: int
    pages: int

    @property
    def group(self) -> GroupRef:
        return self.discussion.group

    @property
    def follow_level(self) -> str | None:
        return self.discussion.follow_level

    @property
    def last_post_id(self) -> int:
        """Where live updates take over from."""
        ids = [p.id for p in self.replies]
        if self.opening is not None:
            ids.append(self.opening.id)
        return max(ids, default=0)

    @property
    def url(self) -> str:
        return self.discussion.url


_VIEWER = bindparam("viewer", type_=Integer)  # 0 for a visitor


REACTION_BITS = {ReactionKind.helpful: 1, ReactionKind.hug: 2}

# The viewer's reactions to a post in one probe of the reactions' primary key, made only
# for posts somebody reacted to (the counts move with the rows, in the same transaction).
_MY_REACTIONS = case(
    (
        Post.helpful_count + Post.hug_count > 0,
        select(func.sum(case(*((Reaction.kind == k.value, b) for k, b in REACTION_BITS.items()))))
        .where(Reaction.post_id == Post.id, Reaction.user_id == _VIEWER)
        .scalar_subquery(),
    )
)


_POST_COLUMNS = (
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
    User.username,
    User.role,
    _MY_REACTIONS,
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

# The question and one page of top-level replies with every reply under them. Pending posts
# are shown to their author (and moderators) only: nobody else learns they exist.
PAGE_POSTS = Query(
    select(*_POST_COLUMNS)
    .join(User, User.id == Post.author_id)
    .where(
        Post.discussion_id == bindparam("discussion_id"),
        or_(
            Post.is_opening.is_(True),
            Post.id.in_(select(_TOP_LEVEL.c.id)),
            Post.root_id.in_(select(_TOP_LEVEL.c.id)),
        ),
        or_(
            bindparam("sees_all", type_=Boolean),
            Post.status != Visibility.pending.value,
            Post.author_id == _VIEWER,
        ),
    ),
    # no ORDER BY: SQLite would sort the rows, bodies and all, in a temporary b-tree; the
    # page sorts its few dozen rows in Python instead (load_discussion_page)
    PostView,
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
    if head is None or not can_see_discussion(viewer, head):
        raise NotFound("There is no discussion at this address.")
    return head


def pages_for(top_level_count: int, page_size: int) -> int:
    return max(1, math.ceil(top_level_count / page_size))


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
    views = await fetch_all(
        session,
        PAGE_POSTS,
        discussion_id=discussion.id,
        viewer=_viewer_id(viewer),
        sees_all=can(viewer, Action.see_hidden_content),
        limit=page_size,
        offset=(page - 1) * page_size,
    )
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


# -- writing ------------------------------------------------------------------------------


async def _insert_post(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a post; None when the same author already sent the same client key (a double
    submit), decided by the unique constraint so concurrent duplicates cannot both land."""
    if values.get("client_key") is None:
        return int(
            (await session.execute(insert(Post).values(**values).returning(Post.id))).scalar_one()
        )
    stmt = (
        dialect_insert(session, Post)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Post.author_id, Post.client_key])
        .returning(Post.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _existing_post_for_key(session: AsyncSession, author: User, key: str) -> Post | None:
    return await session.scalar(
        select(Post).where(Post.author_id == author.id, Post.client_key == key)
    )


@dataclass(slots=True)
class Written:
    post: Post
    discussion: Discussion
    created: bool
    rendered: hooks.RenderedBody | None = None

    @property
    def pending(self) -> bool:
        return self.post.status == Visibility.pending


async def initial_status(session: AsyncSession, author: User) -> Visibility:
    """New members' first posts wait for a moderator (how many: a site setting)."""
    if author.role != Role.member.value:
        return Visibility.visible
    hold = (await get_site_settings(session)).hold_first_posts
    if hold == 0:
        return Visibility.visible
    published = await session.scalar(
        select(func.count())
        .select_from(Post)
        .where(Post.author_id == author.id, Post.status == Visibility.visible.value)
    )
    return Visibility.pending if (published or 0) < hold else Visibility.visible


async def publish_post(
    session: AsyncSession, *, post: Post, discussion: Discussion, author: User
) -> None:
    """Make a post visible to everybody: counters move, followers hear of it. Used when a
    post is written by a trusted member and when a moderator approves or restores one."""
    now = utcnow()
    post.status = Visibility.visible.value
    if post.is_opening:
        discussion.status = Visibility.visible.value
        await session.execute(
            update(Group)
            .where(Group.id == discussion.group_id)
            .values(discussion_count=Group.discussion_count + 1, last_activity_at=now)
        )
    else:
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion.id)
            .values(reply_count=Discussion.reply_count + 1, last_activity_at=now)
        )
        await session.execute(
            update(Group).where(Group.id == discussion.group_id).values(last_activity_at=now)
        )
    await session.execute(
        update(User).where(User.id == author.id).values(post_count=User.post_count + 1)
    )
    await session.flush()
    await session.refresh(discussion)
    await hooks.post_published(session, post=post, discussion=discussion, author=author)


async def unpublish_post(session: AsyncSession, *, post: Post, discussion: Discussion) -> None:
    """Take a visible post out of the counts (it was hidden or deleted)."""
    if post.is_opening:
        await session.execute(
            update(Group)
            .where(Group.id == discussion.group_id, Group.discussion_count > 0)
            .values(discussion_count=Group.discussion_count - 1)
        )
    else:
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion.id, Discussion.reply_count > 0)
            .values(reply_count=Discussion.reply_count - 1)
        )
    await session.execute(
        update(User)
        .where(User.id == post.author_id, User.post_count > 0)
        .values(post_count=User.post_count - 1)
    )


async def start_discussion(
    session: AsyncSession,
    *,
    author: User,
    group: Group,
    title: str,
    body: str,
    client_key: str | None = None,
) -> Written:
    check_permission(author, Action.start_discussion)
    check_can_post(author)
    if client_key:
        existing = await _existing_post_for_key(session, author, client_key)
        if existing is not None:
            discussion = await session.get_one(Discussion, existing.discussion_id)
            return Written(existing, discussion, created=False)
    rendered = await hooks.render_body(session, body)
    status = await initial_status(session, author)
    now = utcnow()
    discussion = Discussion(
        group_id=group.id,
        author_id=author.id,
        title=title,
        slug=slugify(title),
        created_at=now,
        last_activity_at=now,
        status=Visibility.pending.value,  # until its first post is published
    )
    session.add(discussion)
    await session.flush()
    post_id = await _insert_post(
        session,
        dict(
            discussion_id=discussion.id,
            author_id=author.id,
            is_opening=True,
            depth=0,
            body_md=body,
            body_html=rendered.html,
            client_key=client_key,
            created_at=now,
            status=Visibility.pending.value,
        ),
    )
    if post_id is None:  # lost a race with the same submit: keep the first, drop ours
        await session.delete(discussion)
        existing = await _existing_post_for_key(session, author, client_key or "")
        assert existing is not None
        return Written(existing, await session.get_one(Discussion, existing.discussion_id), False)
    post = await session.get_one(Post, post_id)
    if status == Visibility.visible:
        await publish_post(session, post=post, discussion=discussion, author=author)
    return Written(post, discussion, created=True, rendered=rendered)


async def reply(
    session: AsyncSession,
    *,
    author: User,
    discussion: Discussion,
    body: str,
    reply_to_id: int | None = None,
    client_key: str | None = None,
    canned_response_id: int | None = None,
) -> Written:
    check_permission(author, Action.reply)
    check_can_post(author)
    if discussion.is_locked and not can(author, Action.lock_discussion):
        raise Forbidden("This discussion is locked: no new replies.", code="locked")
    if client_key:
        existing = await _existing_post_for_key(session, author, client_key)
        if existing is not None:
            return Written(existing, discussion, created=False)
    depth, root_id = 0, None
    if reply_to_id is not None:
        parent = await session.get(Post, reply_to_id)
        if (
            parent is None
            or parent.discussion_id != discussion.id
            or parent.deleted_at is not None
            or not can_see_post(author, parent)
        ):
            raise Invalid(
                "reply_to must be a post in this discussion.", field="reply_to", code="bad_reply_to"
            )
        if parent.is_opening:
            reply_to_id = None  # answering the question is answering the discussion
        else:
            depth, root_id = parent.depth + 1, parent.root_id or reply_to_id
    rendered = await hooks.render_body(session, body)
    status = await initial_status(session, author)
    post_id = await _insert_post(
        session,
        dict(
            discussion_id=discussion.id,
            author_id=author.id,
            reply_to_id=reply_to_id,
            root_id=root_id,
            depth=depth,
            body_md=body,
            body_html=rendered.html,
            client_key=client_key,
            created_at=utcnow(),
            status=Visibility.pending.value,
        ),
    )
    if post_id is None:
        existing = await _existing_post_for_key(session, author, client_key or "")
        assert existing is not None
        return Written(existing, discussion, created=False)
    if reply_to_id is None:
        # the page is paginated over every top-level reply, whatever its state
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion.id)
            .values(top_level_count=Discussion.top_level_count + 1)
        )
    post = await session.get_one(Post, post_id)
    if status == Visibility.visible:
        await publish_post(session, post=post, discussion=discussion, author=author)
    else:
        await session.refresh(discussion)
    if canned_response_id is not None:  # counted once: a replayed submit returned above
        await canned.record_use(session, user=author, canned_response_id=canned_response_id)
    return Written(post, discussion, created=True, rendered=rendered)


def check_edit_post(user: User, post: Post) -> None:
    if post.deleted_at is not None:
        raise Invalid("A deleted post cannot be edited.", code="post_deleted")
    if post.author_id == user.id:
        check_permission(user, Action.edit_own_post)
    else:
        check_permission(user, Action.edit_any_post)


async def edit_post(
    session: AsyncSession,
    *,
    editor: User,
    post: Post,
    body: str,
    title: str | None = None,
    reason: str = "",
) -> Post:
    """Change a post, keeping what it said before as a revision moderators can read."""
    check_edit_post(editor, post)
    discussion = await session.get_one(Discussion, post.discussion_id)
    if title is not None and not post.is_opening:
        raise Invalid("Only a discussion's first post has a title.", field="title")
    title_changed = title is not None and title != discussion.title
    if body == post.body_md and not title_changed:
        return post
    session.add(
        PostRevision(
            post_id=post.id,
            editor_id=editor.id,
            editor_name=editor.username,
            title=discussion.title if post.is_opening else None,
            body_md=post.body_md,
            reason=reason,
        )
    )
    previous_body = post.body_md
    post.body_md = body
    post.body_html = (await hooks.render_body(session, body)).html
    post.edit_count += 1
    post.edited_at = utcnow()
    if title_changed and title is not None:
        discussion.title = title
        discussion.slug = slugify(title)
    await session.flush()
    if post.status == Visibility.visible and body != previous_body:
        await hooks.post_edited(
            session, post=post, discussion=discussion, editor=editor, previous_body=previous_body
        )
    return post


async def delete_post(session: AsyncSession, *, actor: User, post: Post) -> Post:
    """Soft delete: the text leaves the page, the place in the thread stays."""
    if post.deleted_at is not None:
        return post
    if post.author_id == actor.id:
        check_permission(actor, Action.delete_own_post)
    else:
        check_permission(actor, Action.delete_any_post)
    discussion = await session.get_one(Discussion, post.discussion_id)
    if post.status == Visibility.visible:
        await unpublish_post(session, post=post, discussion=discussion)
    post.deleted_at = utcnow()
    post.deleted_by_id = actor.id
    if post.is_opening:
        discussion.deleted_at = post.deleted_at
    await hooks.post_visibility_changed(session, post=post)
    return post


async def post_history(session: AsyncSession, *, viewer: User, post: Post) -> list[PostRevision]:
    check_permission(viewer, Action.read_post_history)
    rows = await session.scalars(
        select(PostRevision).where(PostRevision.post_id == post.id).order_by(PostRevision.id.desc())
    )
    return list(rows.all())


# -- reactions ----------------------------------------------------------------------------


def parse_reaction_kind(kind: str) -> ReactionKind:
    try:
        return ReactionKind(kind)
    except ValueError:
        raise Invalid("Reactions are 'helpful' or 'hug'.", field="kind") from None


_COUNTER = {ReactionKind.helpful: Post.helpful_count, ReactionKind.hug: Post.hug_count}


async def set_reaction(
    session: AsyncSession, *, user: User, post: Post, kind: ReactionKind, active: bool | None
) -> tuple[bool, dict[str, int]]:
    """Add, remove or (active=None) toggle a reaction; counts stay exact under concurrency
    because the row insert/delete decides and the counter moves in the database."""
    check_permission(user, Action.react)
    if post.deleted_at is not None:
        raise Invalid("You cannot react to a deleted post.", code="post_deleted")
    if post.author_id == user.id:
        raise Forbidden("You cannot react to your own post.", code="own_post")
    exists = await session.scalar(
        select(Reaction.post_id).where(
            Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind.value
        )
    )
    want = (exists is None) if active is None else active
    column = _COUNTER[kind]
    if want and exists is None:
        added = await session.execute(
            dialect_insert(session, Reaction)
            .values(post_id=post.id, user_id=user.id, kind=kind.value, created_at=utcnow())
            .on_conflict_do_nothing()
            .returning(Reaction.post_id)
        )
        if added.scalar_one_or_none() is not None:
            await session.execute(
                update(Post).where(Post.id == post.id).values({column: column + 1})
            )
    elif not want and exists is not None:
        removed = await session.execute(
            delete(Reaction)
            .where(
                Reaction.post_id == post.id,
                Reaction.user_id == user.id,
                Reaction.kind == kind.value,
            )
            .returning(Reaction.post_id)
        )
        if removed.scalar_one_or_none() is not None:
            await session.execute(
                update(Post).where(Post.id == post.id).values({column: column - 1})
            )
    await session.refresh(post)
    return want, {"helpful": post.helpful_count, "hug": post.hug_count}


async def reactors(session: AsyncSession, *, post: Post) -> dict[str, list[str]]:
    rows = await session.execute(
        select(Reaction.kind, User.username)
        .join(User, User.id == Reaction.user_id)
        .where(Reaction.post_id == post.id)
        .order_by(Reaction.created_at)
    )
    out: dict[str, list[str]] = {"helpful": [], "hug": []}
    for kind, username in rows:
        out[kind].append(username)
    return out


@dataclass(slots=True)
class AuthoredPost:
    id: int
    discussion_id: int
    title: str
    slug: str
    body_md: str
    created_at: datetime
    is_opening: bool
    status: str = Visibility.visible.value

    @property
    def excerpt(self) -> str:
        text = " ".join(self.body_md.split())
        return text if len(text) <= 160 else text[:157] + "…"


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
            Post.body_md,
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
