"""Deleted posts, for moderators: read what was deleted, and put it back (audited).

Deleting is soft (`Post.deleted_at`): the text stays in the database, out of every page.
Restoring undoes exactly what deleting did: the post (and, for a discussion's first post,
the discussion) comes back, and a visible post counts again. Followers are not notified a
second time: they heard of the post when it was first published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import NotFound
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.moderation import audit
from app.moderation.claims import already_done, claim
from app.notifications import hooks

PAGE_SIZE = 50


@dataclass(slots=True)
class DeletedPost:
    id: int
    discussion_id: int
    discussion_title: str
    is_opening: bool
    body_html: str
    status: str
    created_at: datetime
    deleted_at: datetime
    author: str
    deleted_by: str | None

    @property
    def by_author(self) -> bool:
        return self.deleted_by == self.author


@dataclass(slots=True)
class DeletedPage:
    posts: list[DeletedPost]
    next_before: int | None


_DELETER = aliased(User)


def _deleted_posts():  # type: ignore[no-untyped-def]
    return (
        select(
            Post.id,
            Post.discussion_id,
            Discussion.title,
            Post.is_opening,
            Post.body_html,
            Post.status,
            Post.created_at,
            Post.deleted_at,
            User.username,
            _DELETER.username,
        )
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(User, User.id == Post.author_id)
        .outerjoin(_DELETER, _DELETER.id == Post.deleted_by_id)
        .where(Post.deleted_at.is_not(None))
    )


async def list_deleted(
    session: AsyncSession, *, moderator: User, before: int | None = None
) -> DeletedPage:
    """Deleted posts, the latest written first, a page at a time (keyset on the id, read
    from the partial index of deleted posts)."""
    check_permission(moderator, Action.see_hidden_content)
    statement = _deleted_posts()
    if before is not None:
        statement = statement.where(Post.id < before)
    rows = (await session.execute(statement.order_by(Post.id.desc()).limit(PAGE_SIZE + 1))).all()
    posts = [DeletedPost(*row) for row in rows[:PAGE_SIZE]]
    return DeletedPage(posts, posts[-1].id if len(rows) > PAGE_SIZE else None)


async def access_any_post(session: AsyncSession, post_id: int, *, moderator: User) -> Post:
    """A post by its number for a moderator, deleted or not, in a deleted discussion or
    not (`access.fetch.access_post` leaves deleted discussions out: their first post is
    what a moderator restores here)."""
    check_permission(moderator, Action.see_hidden_content)
    post = await session.get(Post, post_id)
    if post is None:
        raise NotFound("There is no post with that number.")
    return post


async def deleted_post(session: AsyncSession, *, moderator: User, post: Post) -> DeletedPost:
    check_permission(moderator, Action.see_hidden_content)
    row = (await session.execute(_deleted_posts().where(Post.id == post.id))).one_or_none()
    if row is None:
        raise NotFound("This post is not deleted.")
    return DeletedPost(*row)


async def restore_deleted_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.delete_any_post)
    # claimed as every moderation verb is (moderation/claims.py): of two moderators
    # restoring at once, one does it and the other hears who
    if not await claim(
        session, Post, post.id, Post.deleted_at.is_not(None), deleted_at=None, deleted_by_id=None
    ):
        raise await already_done(session, "post", post.id, "restored", ("restore_deleted_post",))
    discussion = await session.get_one(Discussion, post.discussion_id)
    if post.is_opening:
        discussion.deleted_at = None
    if post.status == Visibility.visible:  # deleting took it out of the counts
        if post.is_opening:
            await session.execute(
                update(Group)
                .where(Group.id == discussion.group_id)
                .values(discussion_count=Group.discussion_count + 1)
            )
        else:
            await session.execute(
                update(Discussion)
                .where(Discussion.id == discussion.id)
                .values(reply_count=Discussion.reply_count + 1)
            )
        await session.execute(
            update(User).where(User.id == post.author_id).values(post_count=User.post_count + 1)
        )
    await session.flush()
    # notifications of it are shown again
    await hooks.post_visibility_changed(session, post=post)
    await audit.record_post(
        session,
        actor=moderator,
        action="restore_deleted_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    if post.author_id != moderator.id:
        await hooks.moderation_notice(
            session,
            user_id=post.author_id,
            post_id=post.id,
            message=f"A moderator restored your deleted post in “{discussion.title}”."
            + (f" Reason: {reason}" if reason else ""),
        )
    return True
