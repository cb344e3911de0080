from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.errors import Conflict, Invalid, NotFound
from app.core.validation import MAX_ID, is_storable
from app.discussions.models import Discussion
from app.groups.models import Group
from app.moderation.permissions import visible_discussions


async def list_groups(session: AsyncSession) -> list[Group]:
    return list((await session.scalars(select(Group).order_by(Group.name))).all())


async def access_group(session: AsyncSession, slug: str) -> Group:
    group = None
    if is_storable(slug) and len(slug) <= 80:
        group = await session.scalar(select(Group).where(Group.slug == slug))
    if group is None:
        raise NotFound("There is no group at this address.")
    return group


async def create_group(
    session: AsyncSession, *, slug: str, name: str, description: str = ""
) -> Group:
    if await session.scalar(select(Group.id).where(Group.slug == slug)) is not None:
        raise Conflict("A group with that address already exists.", field="slug")
    group = Group(slug=slug, name=name, description=description)
    session.add(group)
    await session.flush()
    return group


@dataclass(slots=True)
class DiscussionRow:
    id: int
    title: str
    slug: str
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    pinned_at: datetime | None
    is_locked: bool
    author: str
    author_role: str
    group_slug: str
    group_name: str


@dataclass(slots=True)
class DiscussionList:
    items: list[DiscussionRow]
    next_cursor: str | None


def _summary_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Discussion.id,
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Discussion.created_at,
            Discussion.last_activity_at,
            Discussion.pinned_at,
            Discussion.is_locked,
            User.username.label("author"),
            User.role.label("author_role"),
            Group.slug.label("group_slug"),
            Group.name.label("group_name"),
        )
        .join(User, User.id == Discussion.author_id)
        .join(Group, Group.id == Discussion.group_id)
    )


async def pinned_discussions(session: AsyncSession, *, group: Group) -> list[DiscussionRow]:
    query = (
        _summary_query()
        .where(
            visible_discussions(),
            Discussion.group_id == group.id,
            Discussion.pinned_at.is_not(None),
        )
        .order_by(Discussion.pinned_at.desc())
        .limit(10)
    )
    return [DiscussionRow(**row._mapping) for row in (await session.execute(query)).all()]


def encode_cursor(last_activity_at: datetime, discussion_id: int) -> str:
    raw = f"{last_activity_at.isoformat()}|{discussion_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("naive timestamp")
        number = int(ident)
        if not 0 < number <= MAX_ID:
            raise ValueError("id out of range")
        return when, number
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise Invalid("The page link is not valid.", field="cursor") from None


async def list_discussions(
    session: AsyncSession,
    *,
    group: Group | None,
    limit: int,
    cursor: str | None = None,
) -> DiscussionList:
    """Newest activity first, keyset-paginated: page 500 costs what page 1 costs."""
    query = (
        _summary_query()
        .where(visible_discussions())
        .order_by(Discussion.last_activity_at.desc(), Discussion.id.desc())
        .limit(limit + 1)
    )
    if group is not None:
        # pinned discussions head the group page instead (pinned_discussions)
        query = query.where(Discussion.group_id == group.id, Discussion.pinned_at.is_(None))
    if cursor:
        stamp, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Discussion.last_activity_at < stamp,
                and_(Discussion.last_activity_at == stamp, Discussion.id < ident),
            )
        )
    rows = [DiscussionRow(**row._mapping) for row in (await session.execute(query)).all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].last_activity_at, rows[-1].id)
    return DiscussionList(items=rows, next_cursor=next_cursor)
