"""The write path: start a discussion, reply (threaded, idempotent), publish and unpublish
(counters and notifications), edit with history, soft delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.fetch import access_reply_target
from app.access.permissions import Action, can, check_can_post, check_permission
from app.accounts.models import Role, User
from app.core.errors import Forbidden, Invalid
from app.core.text import slugify
from app.db import dialect_insert, utcnow
from app.discussions.edit_limits import check_revision_budget
from app.discussions.models import (
    Discussion,
    Post,
    PostRevision,
    Visibility,
)
from app.discussions.rendering import RenderedBody, render_body
from app.groups.models import Group
from app.moderation.canned import service as canned
from app.moderation.site import get_site_settings
from app.notifications import hooks
from app.safety import review as safety
from app.search import index as search_index


async def _insert_post(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a post; None when the same author already sent the same client key (a double
    submit), decided by the unique constraint so concurrent duplicates cannot both land.

    The row is inserted only while its author's account is not deleted, checked in this same
    statement (INSERT ... SELECT from the author's row, read FOR KEY SHARE on PostgreSQL):
    an account deletion (app/safety/deletion.py, which takes that row FOR UPDATE) either
    waits for this post and then deletes or anonymizes it, or has committed and nothing is
    inserted (`AccountDeleted`). On SQLite the statement runs under the write lock."""
    table = Post.__table__
    guarded = (
        select(*[literal(v, table.c[k].type).label(k) for k, v in values.items()])
        .select_from(User)
        .where(User.id == values["author_id"], User.deleted_at.is_(None))
        .with_for_update(read=True, key_share=True)
    )
    columns = list(values)
    if values.get("client_key") is None:
        stmt: Any = insert(Post).from_select(columns, guarded)
    else:
        stmt = (
            dialect_insert(session, Post)
            .from_select(columns, guarded)
            .on_conflict_do_nothing(index_elements=[Post.author_id, Post.client_key])
        )
    post_id = (await session.execute(stmt.returning(Post.id))).scalar_one_or_none()
    if post_id is None and await session.scalar(
        select(User.deleted_at).where(User.id == values["author_id"])
    ):
        raise AccountDeleted("This account has been deleted.", code="account_deleted")
    return post_id


class AccountDeleted(Forbidden):
    """The author's account was deleted while they were writing."""


async def _existing_post_for_key(session: AsyncSession, author: User, key: str) -> Post | None:
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


async def next_post_held(session: AsyncSession, *, author: User) -> bool:
    """Whether the member's next post will wait for a moderator (for the composer to say
    so before they write it)."""
    return await initial_status(session, author) == Visibility.pending


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


def check_group_open(group: Group) -> None:
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
    await checked.record(session, post=post)
    await search_index.index_post(session, post=post, discussion=discussion)
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
    confirm_personal_information: bool = False,
) -> Written:
    check_permission(author, Action.reply)
    check_can_post(author)
    if discussion.is_locked and not can(author, Action.lock_discussion):
        raise Forbidden("This discussion is locked: no new replies.", code="locked")
    check_group_open(await session.get_one(Group, discussion.group_id))
    if client_key:
        existing = await _existing_post_for_key(session, author, client_key)
        if existing is not None:
            return Written(existing, discussion, created=False)
    depth, root_id = 0, None
    if reply_to_id is not None:
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
    await checked.record(session, post=post)
    await search_index.index_post(session, post=post, discussion=discussion)
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
