"""Fetch-and-authorize: one object by its address, if this viewer may see it, else 404."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.visibility import (
    can_see_discussion,
    can_see_group,
    can_see_post,
    can_see_status,
)
from app.accounts.models import Actor
from app.core.errors import Invalid, NotFound
from app.core.validation import is_storable
from app.discussions.models import Discussion, Post
from app.groups.models import Group


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
    if (
        post is None
        or post.discussion_id != discussion.id
        or not can_see_post(viewer, post, discussion)
    ):
        raise Invalid(
            "reply_to must be a post in this discussion.", field="reply_to", code="bad_reply_to"
        )
    return post
