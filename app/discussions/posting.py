"""The write path: start a discussion, reply (threaded, idempotent), publish and unpublish
(counters and notifications), edit with history, soft delete."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.access.fetch import (
    AnsweredPost,
    ReplyContext,
    ReplyGroup,
    access_reply_target,
    check_reply_target,
)
from app.access.permissions import Action, can, check_can_post, check_permission
from app.accounts.models import Role, User, Writer
from app.core.errors import Forbidden, Invalid
from app.core.rows import Query, Step, Write, WriteScript, execute_write, fetch_one, run_writes
from app.core.text import slugify
from app.db import insert_for_dialect, table_of, utcnow
from app.discussions.edit_limits import check_revision_budget
from app.discussions.models import (
    Discussion,
    Post,
    PostRevision,
    Visibility,
)
from app.discussions.rendering import RenderedBody, render_body
from app.discussions.views import MAX_INDENT, PostView, Seer
from app.groups.models import Group
from app.moderation.canned import service as canned
from app.moderation.models import SiteSettings
from app.moderation.site import get_site_settings
from app.notifications import hooks
from app.safety import review as safety
from app.search import index as search_index

# The write path's statements are built once, on the tables, with bind parameters: built
# afresh on the mapped classes for every reply they cost it more CPU than the database
# spends running them (statement construction, cache keys, the ORM's bulk machinery).
_POSTS = table_of(Post)
_DISCUSSIONS = table_of(Discussion)
_GROUPS = table_of(Group)
_USERS = table_of(User)
_POST_COLUMNS = (
    "discussion_id",
    "author_id",
    "reply_to_id",
    "root_id",
    "depth",
    "is_opening",
    "body_md",
    "body_html",
    "client_key",
    "created_at",
    "status",
    "helpful_count",
    "hug_count",
    "edit_count",
)

# how many first posts of a new member wait for a moderator (a site setting)
_HOLD_FIRST_POSTS: Query[int] = Query(
    select(SiteSettings.hold_first_posts).where(SiteSettings.id == 1), int
)

# A group's last activity follows its discussions' replies only to this resolution: every
# reply in a group writing the group's row made every writer in the group queue on that
# row's lock (PostgreSQL). The UPDATE is conditional, so within the window it matches no
# row and takes no lock.
GROUP_ACTIVITY_RESOLUTION = timedelta(seconds=5)


@functools.cache
def _insert_post_statement(dialect: str, idempotent: bool) -> Write:
    """INSERT ... SELECT from the author's row while the account is not deleted (see
    `_insert_post`)."""
    guarded = (
        select(*[bindparam(name, type_=_POSTS.c[name].type).label(name) for name in _POST_COLUMNS])
        .select_from(_USERS)
        .where(
            _USERS.c.id == bindparam("author_id", type_=_POSTS.c.author_id.type),
            _USERS.c.deleted_at.is_(None),
        )
        .with_for_update(read=True, key_share=True)
    )
    if not idempotent:
        return Write(
            insert(_POSTS).from_select(list(_POST_COLUMNS), guarded).returning(_POSTS.c.id)
        )
    return Write(
        insert_for_dialect(dialect, _POSTS)
        .from_select(list(_POST_COLUMNS), guarded)
        .on_conflict_do_nothing(index_elements=[_POSTS.c.author_id, _POSTS.c.client_key])
        .returning(_POSTS.c.id)
    )


# what a new post holds besides the values it is written with
_NEW_POST: dict[str, Any] = dict(
    reply_to_id=None,
    root_id=None,
    depth=0,
    is_opening=False,
    helpful_count=0,
    hug_count=0,
    edit_count=0,
    edited_at=None,
    deleted_at=None,
    deleted_by_id=None,
)

_COUNT_REPLY = Write(
    update(_DISCUSSIONS)
    .where(_DISCUSSIONS.c.id == bindparam("p_discussion"))
    .values(
        reply_count=_DISCUSSIONS.c.reply_count + bindparam("p_replies"),
        top_level_count=_DISCUSSIONS.c.top_level_count + bindparam("p_top_level"),
        last_activity_at=func.coalesce(
            bindparam("p_now", type_=_DISCUSSIONS.c.last_activity_at.type),
            _DISCUSSIONS.c.last_activity_at,
        ),
    )
    .returning(
        _DISCUSSIONS.c.reply_count,
        _DISCUSSIONS.c.top_level_count,
        _DISCUSSIONS.c.last_activity_at,
    )
)
_GROUP_ACTIVITY = Write(
    update(_GROUPS)
    .where(
        _GROUPS.c.id == bindparam("p_group"),
        or_(
            _GROUPS.c.last_activity_at.is_(None),
            _GROUPS.c.last_activity_at
            < bindparam("p_stale_before", type_=_GROUPS.c.last_activity_at.type),
        ),
    )
    .values(last_activity_at=bindparam("p_now", type_=_GROUPS.c.last_activity_at.type))
)
_COUNT_AUTHOR_POST = Write(
    update(_USERS)
    .where(_USERS.c.id == bindparam("p_user"))
    .values(post_count=_USERS.c.post_count + 1)
)


async def _insert_post(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a post; None when the same author already sent the same client key (a double
    submit), decided by the unique constraint so concurrent duplicates cannot both land.

    The row is inserted only while its author's account is not deleted, checked in this same
    statement (INSERT ... SELECT from the author's row, read FOR KEY SHARE on PostgreSQL):
    an account deletion (app/safety/deletion.py, which takes that row FOR UPDATE) either
    waits for this post and then deletes or anonymizes it, or has committed and nothing is
    inserted (`AccountDeleted`). On SQLite the statement runs under the write lock."""
    post_id = await run_writes(session, _insert_post_steps(session.get_bind().dialect.name, values))
    if post_id is None:
        await _check_not_deleted(session, values["author_id"])
    return post_id


async def _check_not_deleted(session: AsyncSession, author_id: int) -> None:
    """A post was not inserted: a double submit, unless the author's account is gone."""
    if await session.scalar(select(User.deleted_at).where(User.id == author_id)):
        raise AccountDeleted("This account has been deleted.", code="account_deleted")


def _insert_post_steps(dialect: str, values: dict[str, Any]) -> WriteScript[int | None]:
    """`_insert_post`'s statement as a write script: the new post's id, or None."""
    params = {name: _NEW_POST.get(name) for name in _POST_COLUMNS} | values
    statement = _insert_post_statement(dialect, params.get("client_key") is not None)
    rows = yield Step(statement, params)
    return int(rows[0][0]) if rows else None


class AccountDeleted(Forbidden):
    """The author's account was deleted while they were writing."""


def _written_post(session: AsyncSession, post_id: int, values: dict[str, Any]) -> Post:
    """The post just inserted, as the session would load it, without reading it back: every
    column is known (what was inserted, and the defaults of a new post)."""
    post = Post(**(_NEW_POST | values), id=post_id)
    make_transient_to_detached(post)
    session.add(post)
    return post


async def count_reply(
    session: AsyncSession, *, discussion: Discussion, replies: int, top_level: int, now: Any
) -> None:
    """Move a discussion's reply counters (and, with `now`, its last activity) in one
    statement, keeping the loaded discussion in step without reading it again."""
    step = _count_reply_step(discussion.id, replies=replies, top_level=top_level, now=now)
    (row,) = await execute_write(session, step.write, **step.params)
    _counted(discussion, row)


def _count_reply_step(discussion_id: int, *, replies: int, top_level: int, now: Any) -> Step:
    """`count_reply`'s statement; its answer, the counters' new values (`_counted`)."""
    return Step(
        _COUNT_REPLY,
        {
            "p_discussion": discussion_id,
            "p_replies": replies,
            "p_top_level": top_level,
            "p_now": now,
        },
    )


def _counted(discussion: Discussion, row: Any) -> None:
    """Keep the loaded discussion in step with what `_count_reply_step` wrote."""
    set_committed_value(discussion, "reply_count", row[0])
    set_committed_value(discussion, "top_level_count", row[1])
    set_committed_value(discussion, "last_activity_at", row[2])


async def touch_group(
    session: AsyncSession, *, group_id: int, now: Any, group: Group | ReplyGroup | None = None
) -> None:
    """The group's last activity, when it is older than GROUP_ACTIVITY_RESOLUTION. With
    the `group` this request loaded, no statement at all when that already shows recent
    activity: the column only moves forward, so the row holds that or later."""
    step = _touch_group_step(group_id, now=now, group=group)
    if step is not None:
        await execute_write(session, step.write, **step.params)


def _touch_group_step(group_id: int, *, now: Any, group: Group | ReplyGroup | None) -> Step | None:
    """`touch_group`'s statement, or None when none is needed."""
    stale_before = now - GROUP_ACTIVITY_RESOLUTION
    seen = group.last_activity_at if group is not None else None
    if seen is not None and seen >= stale_before:
        return None
    return Step(
        _GROUP_ACTIVITY, {"p_group": group_id, "p_now": now, "p_stale_before": stale_before}
    )


async def _existing_post_for_key(session: AsyncSession, author: Writer, key: str) -> Post | None:
    return await session.scalar(
        select(Post).where(Post.author_id == author.id, Post.client_key == key)
    )


@dataclass(slots=True)
class Written:
    post: Post
    discussion: Discussion
    created: bool
    rendered: RenderedBody | None = None

    @property
    def pending(self) -> bool:
        return self.post.status == Visibility.pending


def written_view(written: Written, *, author: Writer) -> PostView | None:
    """The post just written as its author sees it (the API's answer), from what was
    written: reading it back cost a statement per reply. None when it must be read: a
    replayed submit (the post is the first one's) or a reply deeper than the indentation
    shows, which names whom it answers."""
    post = written.post
    if not written.created or post.depth > MAX_INDENT:
        return None
    view = PostView(
        id=post.id,
        reply_to_id=post.reply_to_id,
        root_id=post.root_id,
        depth=post.depth,
        is_opening=post.is_opening,
        body_md=post.body_md,
        body_html=post.body_html,
        created_at=post.created_at,
        edited_at=post.edited_at,
        deleted_at=post.deleted_at,
        status=post.status,
        helpful_count=post.helpful_count,
        hug_count=post.hug_count,
        author_id=author.id,
        author=author.username,
        author_role=author.role,
        indent=post.depth,
    )
    return view.seen_by(Seer.of(author))


async def initial_status(
    session: AsyncSession, author: Writer, hold: int | None = None
) -> Visibility:
    """New members' first posts wait for a moderator (how many: a site setting; `hold`:
    its value when the caller has read it)."""
    if author.role != Role.member.value:
        return Visibility.visible
    if hold is None:
        hold = await fetch_one(session, _HOLD_FIRST_POSTS)
    if hold is None:  # the row is missing: get_site_settings puts it back
        hold = (await get_site_settings(session)).hold_first_posts
    if hold == 0:
        return Visibility.visible
    # post_count counts published posts not deleted: never more than the count below, so
    # a member past the threshold by it needs no count (most replies)
    if author.post_count >= hold:
        return Visibility.visible
    published = await session.scalar(
        select(func.count())
        .select_from(Post)
        .where(Post.author_id == author.id, Post.status == Visibility.visible.value)
    )
    return Visibility.pending if (published or 0) < hold else Visibility.visible


async def next_post_held(session: AsyncSession, *, author: Writer) -> bool:
    """Whether the member's next post will wait for a moderator (for the composer to say
    so before they write it)."""
    return await initial_status(session, author) == Visibility.pending


async def publish_post(
    session: AsyncSession,
    *,
    post: Post,
    discussion: Discussion,
    author: Writer,
    new_top_level: bool = False,
    new_post: bool = False,
    group: Group | ReplyGroup | None = None,
    following: bool = False,
) -> None:
    """Make a post visible to everybody: counters move, followers hear of it. Used when a
    post is written by a trusted member and when a moderator approves or restores one.
    `new_top_level`: the post is a top-level reply written now, counted in the same
    statement; `new_post`: written in this transaction (nothing of it recorded before);
    `group`: the discussion's group, when the caller has loaded it."""
    if post.status != Visibility.visible:  # a reply written visible needs no UPDATE (nor flush)
        post.status = Visibility.visible.value
    if post.is_opening:
        discussion.status = Visibility.visible.value
        await session.execute(
            update(Group)
            .where(Group.id == discussion.group_id)
            .values(discussion_count=Group.discussion_count + 1, last_activity_at=utcnow())
        )
    if session.dirty:
        await session.flush()
    if post.is_opening:
        await session.refresh(discussion)
    plan = await _plan_publication(
        session,
        discussion=discussion,
        author=author,
        body_md=post.body_md,
        is_opening=post.is_opening,
        reply_to_id=post.reply_to_id,
        post_id=post.id,
        new_top_level=new_top_level,
        new_post=new_post,
        group=group,
        following=following,
        announce=post.deleted_at is None,
    )
    done = await run_writes(session, _publication_steps(plan, post.id))
    _published(session, plan, discussion, post.id, done)


@dataclass(frozen=True, slots=True)
class _PublishPlan:
    """A publication's writes, decided on the loop (see `publish_post`); a held top-level
    reply's count too (`reply`: `count` alone)."""

    discussion_id: int
    author_id: int
    count: Step | None  # the discussion's counters (a reply)
    touch: Step | None  # the group's last activity (a reply, when it is stale)
    hooks: hooks.Publication | None  # follow, mentions, notifications, e-mail
    counts_author: bool = True  # the author's count of published posts


async def _plan_publication(
    session: AsyncSession,
    *,
    discussion: Discussion,
    author: Writer,
    body_md: str,
    is_opening: bool,
    reply_to_id: int | None,
    post_id: int | None,
    new_top_level: bool,
    new_post: bool,
    group: Group | ReplyGroup | None,
    following: bool,
    announce: bool,
) -> _PublishPlan:
    now = utcnow()
    count = touch = None
    if not is_opening:
        count = _count_reply_step(discussion.id, replies=1, top_level=int(new_top_level), now=now)
        touch = _touch_group_step(discussion.group_id, now=now, group=group)
    publication = None
    if announce:
        publication = await hooks.prepare_publication(
            session,
            discussion=discussion,
            author=author,
            body_md=body_md,
            is_opening=is_opening,
            reply_to_id=reply_to_id,
            post_id=post_id,
            new_post=new_post,
            following=following,
        )
    return _PublishPlan(discussion.id, author.id, count, touch, publication)


@dataclass(slots=True)
class _Publicized:
    counters: Any = None  # the discussion's counters after the reply (`_counted`)
    notified: list[int] = field(default_factory=list)
    queued: int = 0


def _publication_steps(plan: _PublishPlan, post_id: int) -> WriteScript[_Publicized]:
    done = _Publicized()
    if plan.count is not None:
        (done.counters,) = yield plan.count
    if plan.touch is not None:
        yield plan.touch
    if plan.hooks is not None:
        done.notified, done.queued = yield from hooks.publication_steps(plan.hooks, post_id)
    # Last: on PostgreSQL the UPDATE locks the author's row until the commit, and a second
    # post of the same member at the same moment waits for that lock, so it is held for
    # the commit only, not for the notifications and e-mail too.
    if plan.counts_author:
        yield Step(_COUNT_AUTHOR_POST, {"p_user": plan.author_id})
    return done


def _published(
    session: AsyncSession,
    plan: _PublishPlan,
    discussion: Discussion,
    post_id: int,
    done: _Publicized,
) -> None:
    if done.counters is not None:
        _counted(discussion, done.counters)
    if plan.hooks is not None:
        hooks.published(
            session, plan.hooks, post_id=post_id, notified=done.notified, queued=done.queued
        )


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


def check_group_open(group: Group | ReplyGroup) -> None:
    """An archived group is read-only (app/groups/admin.py archives them)."""
    if group.archived_at is not None:
        raise Forbidden(
            f"The group “{group.name}” is archived: it can be read, but nothing new can be "
            "posted in it.",
            code="group_archived",
        )


async def start_discussion(
    session: AsyncSession,
    *,
    author: User,
    group: Group,
    title: str,
    body: str,
    client_key: str | None = None,
    confirm_personal_information: bool = False,
) -> Written:
    check_permission(author, Action.start_discussion)
    check_can_post(author)
    check_group_open(group)
    if client_key:
        existing = await _existing_post_for_key(session, author, client_key)
        if existing is not None:
            discussion = await session.get_one(Discussion, existing.discussion_id)
            return Written(existing, discussion, created=False)
    checked = await safety.review_post(
        session, author=author, title=title, body=body, confirmed=confirm_personal_information
    )
    rendered = await render_body(session, body)
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
    values = dict(
        discussion_id=discussion.id,
        author_id=author.id,
        is_opening=True,
        depth=0,
        body_md=body,
        body_html=rendered.html,
        client_key=client_key,
        created_at=now,
        status=Visibility.pending.value,
    )
    post_id = await _insert_post(session, values)
    if post_id is None:  # lost a race with the same submit: keep the first, drop ours
        await session.delete(discussion)
        existing = await _existing_post_for_key(session, author, client_key or "")
        assert existing is not None
        return Written(existing, await session.get_one(Discussion, existing.discussion_id), False)
    post = _written_post(session, post_id, values)
    await checked.record(session, post=post)
    await search_index.index_post(session, post=post, discussion=discussion)
    if status == Visibility.visible:
        await publish_post(session, post=post, discussion=discussion, author=author, new_post=True)
    return Written(post, discussion, created=True, rendered=rendered)


async def reply(
    session: AsyncSession,
    *,
    author: Writer,
    discussion: Discussion,
    body: str,
    reply_to_id: int | None = None,
    client_key: str | None = None,
    canned_response_id: int | None = None,
    confirm_personal_information: bool = False,
    context: ReplyContext | None = None,
    final: bool = False,
) -> Written:
    """`context`: what `access.fetch.access_reply_context` read for this reply (its
    discussion, group, author, answered post and the hold setting), so nothing of it is
    read again; without it the group, the post answered and the setting are loaded here.
    `final`: the caller (a route) writes nothing more in this transaction, so the reply's
    writes end it: they are committed with their last statement (on SQLite in the same
    hand-off to the database's thread, and the host's write lock let go there), and the
    session may only read after this returns."""
    check_permission(author, Action.reply)
    check_can_post(author)
    if discussion.is_locked and not can(author, Action.lock_discussion):
        raise Forbidden("This discussion is locked: no new replies.", code="locked")
    group: Group | ReplyGroup = (
        context.group if context is not None else await session.get_one(Group, discussion.group_id)
    )
    check_group_open(group)
    if client_key:
        existing = await _existing_post_for_key(session, author, client_key)
        if existing is not None:
            return Written(existing, discussion, created=False)
    depth, root_id = 0, None
    if reply_to_id is not None:
        parent: Post | AnsweredPost
        if context is not None:
            parent = check_reply_target(context.answered, discussion=discussion, viewer=author)
        else:
            parent = await access_reply_target(
                session, reply_to_id, discussion=discussion, viewer=author
            )
        if parent.is_opening:
            reply_to_id = None  # answering the question is answering the discussion
        else:
            depth, root_id = parent.depth + 1, parent.root_id or reply_to_id
    checked = await safety.review_post(
        session, author=author, title=None, body=body, confirmed=confirm_personal_information
    )
    rendered = await render_body(session, body)
    status = await initial_status(
        session, author, hold=context.hold_first_posts if context is not None else None
    )
    created_at = utcnow()
    values = dict(
        discussion_id=discussion.id,
        author_id=author.id,
        reply_to_id=reply_to_id,
        root_id=root_id,
        depth=depth,
        body_md=body,
        body_html=rendered.html,
        client_key=client_key,
        created_at=created_at,
        status=status.value,
    )
    # Everything written is decided first, then written by one write script: on SQLite in
    # one hand-off to the database's thread, so the host's write lock is held for SQLite's
    # time, not for a turn of the event loop after every statement (core.rows.run_writes).
    # the page is paginated over every top-level reply, whatever its state
    top_level = reply_to_id is None
    plan = None
    if status == Visibility.visible:
        plan = await _plan_publication(
            session,
            discussion=discussion,
            author=author,
            body_md=body,
            is_opening=False,
            reply_to_id=reply_to_id,
            post_id=None,
            new_top_level=top_level,
            new_post=True,
            group=group,
            following=context is not None and context.following,
            announce=True,
        )
    elif top_level:
        plan = _PublishPlan(
            discussion.id,
            author.id,
            _count_reply_step(discussion.id, replies=0, top_level=1, now=None),
            touch=None,
            hooks=None,
            counts_author=False,
        )
    dialect = session.get_bind().dialect.name
    document = search_index.post_document(
        post_id=0,  # the post's, once inserted (_reply_steps)
        discussion_id=discussion.id,
        title=None,
        body_html=rendered.html,
        created_at=created_at,
        group_id=discussion.group_id,
    )
    # the moderators' review of what the safety checks found, and a canned response's use,
    # are written through the session: rare, they keep the transaction open after the script
    more = not final or checked.has_record or canned_response_id is not None
    post: Post | None = None
    done = _Publicized()
    if checked.has_record:  # between the post and the rest, as ever
        post_id = await run_writes(session, _insert_post_steps(dialect, values))
        if post_id is not None:
            post = _written_post(session, post_id, values)
            await checked.record(session, post=post)
            done = await run_writes(
                session,
                _after_reply_steps(dialect, post_id, document, plan),
                ends_transaction=final and canned_response_id is None,
            )
    else:
        post_id, done = await run_writes(
            session,
            _reply_steps(dialect, values, document, plan),
            ends_transaction=not more,
        )
    if post_id is None:
        await _check_not_deleted(session, author.id)
        existing = await _existing_post_for_key(session, author, client_key or "")
        assert existing is not None
        return Written(existing, discussion, created=False)
    if post is None:
        post = _written_post(session, post_id, values)
    if plan is not None:
        _published(session, plan, discussion, post_id, done)
    if canned_response_id is not None:  # counted once: a replayed submit returned above
        await canned.record_use(session, user=author, canned_response_id=canned_response_id)
    return Written(post, discussion, created=True, rendered=rendered)


def _reply_steps(
    dialect: str, values: dict[str, Any], document: dict[str, Any], plan: _PublishPlan | None
) -> WriteScript[tuple[int | None, _Publicized]]:
    """A reply's writes: the post (none, and nothing else, when it was a double submit or
    the author's account is gone), then `_after_reply_steps`."""
    post_id = yield from _insert_post_steps(dialect, values)
    if post_id is None:
        return None, _Publicized()
    done = yield from _after_reply_steps(dialect, post_id, document, plan)
    return post_id, done


def _after_reply_steps(
    dialect: str, post_id: int, document: dict[str, Any], plan: _PublishPlan | None
) -> WriteScript[_Publicized]:
    """What follows a reply's post: its search document, then its publication (a held
    top-level reply: its place in the discussion's count of top-level replies)."""
    yield search_index.put_document_step(dialect, document | {"source_id": post_id})
    if plan is None:
        return _Publicized()
    return (yield from _publication_steps(plan, post_id))


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
    confirm_personal_information: bool = False,
) -> Post:
    """Change a post, keeping what it said before as a revision moderators can read."""
    check_edit_post(editor, post)
    discussion = await session.get_one(Discussion, post.discussion_id)
    if title is not None and not post.is_opening:
        raise Invalid("Only a discussion's first post has a title.", field="title")
    title_changed = title is not None and title != discussion.title
    if body == post.body_md and not title_changed:
        return post
    await check_revision_budget(session, post_id=post.id)
    checked = await safety.review_post(
        session,
        author=await session.get_one(User, post.author_id),
        title=title if title_changed else None,
        body=body,
        confirmed=confirm_personal_information,
        editor=editor,
    )
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
    post.body_html = (await render_body(session, body)).html
    post.edit_count += 1
    post.edited_at = utcnow()
    if title_changed and title is not None:
        discussion.title = title
        discussion.slug = slugify(title)
    await session.flush()
    await checked.record(session, post=post)
    await search_index.index_post(session, post=post, discussion=discussion)
    if post.status == Visibility.visible and body != previous_body:
        await hooks.post_edited(
            session, post=post, discussion=discussion, editor=editor, previous_body=previous_body
        )
    return post


def check_delete_post(user: User, post: Post) -> None:
    if post.deleted_at is not None:
        raise Invalid("This post is already deleted.", code="post_deleted")
    if post.author_id == user.id:
        check_permission(user, Action.delete_own_post)
    else:
        check_permission(user, Action.delete_any_post)


async def delete_post(session: AsyncSession, *, actor: User, post: Post) -> Post:
    """Soft delete: the text leaves the page, the place in the thread stays."""
    if post.deleted_at is not None:
        return post
    check_delete_post(actor, post)
    # A conditional write: of this delete and a moderator's hide or delete of the same post
    # at the same moment, one changes it and the counters move once. The status returned is
    # the row's as this write found it (on PostgreSQL, after any concurrent writer's commit).
    now = utcnow()
    status = (
        await session.execute(
            update(Post)
            .where(Post.id == post.id, Post.deleted_at.is_(None))
            .values(deleted_at=now, deleted_by_id=actor.id)
            .returning(Post.status),
            execution_options={"synchronize_session": False},
        )
    ).scalar_one_or_none()
    await session.refresh(post)
    if status is None:  # deleted by someone else first: nothing more to do
        return post
    discussion = await session.get_one(Discussion, post.discussion_id)
    if status == Visibility.visible:
        await unpublish_post(session, post=post, discussion=discussion)
    if post.is_opening:
        discussion.deleted_at = now
    await hooks.post_visibility_changed(session, post=post)
    return post


async def post_history(session: AsyncSession, *, viewer: User, post: Post) -> list[PostRevision]:
    """A post's earlier versions: for moderators, and for the post's author (their own
    words, and what a moderator changed in them)."""
    if post.author_id != viewer.id:
        check_permission(viewer, Action.read_post_history)
    rows = await session.scalars(
        select(PostRevision).where(PostRevision.post_id == post.id).order_by(PostRevision.id.desc())
    )
    return list(rows.all())
