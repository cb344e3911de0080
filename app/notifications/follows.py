"""Following discussions and groups at a level (watching, normal, muted), and the member's
choice to follow what they start or answer."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, SQLColumnExpression, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import Actor, User
from app.core.errors import Invalid
from app.core.rows import Step, Write, execute_write
from app.db import dialect_insert, insert_for_dialect, table_of, utcnow
from app.discussions.models import Discussion
from app.groups.models import Group
from app.notifications.models import DiscussionFollow, FollowLevel, GroupFollow


def parse_level(value: str) -> FollowLevel | None:
    """A level from a form or API body; "none" (or "") means unfollow."""
    if value in ("", "none"):
        return None
    try:
        return FollowLevel(value)
    except ValueError:
        raise Invalid(
            "The level is one of watching, normal or muted.", field="level", code="bad_level"
        ) from None


@functools.cache
def _auto_follow(dialect: str) -> Write:
    """Built once per dialect: every reply runs it."""
    follows = table_of(DiscussionFollow)
    return Write(
        insert_for_dialect(dialect, follows)
        .values(
            user_id=bindparam("p_user", type_=Integer),
            discussion_id=bindparam("p_discussion", type_=Integer),
            level=FollowLevel.watching.value,
            created_at=bindparam("p_now", type_=follows.c.created_at.type),
        )
        .on_conflict_do_nothing()
    )


def auto_follow_step(dialect: str, *, user_id: int, discussion_id: int) -> Step:
    """`auto_follow` as a step of a write script (`core.rows.run_writes`)."""
    return Step(
        _auto_follow(dialect), {"p_user": user_id, "p_discussion": discussion_id, "p_now": utcnow()}
    )


async def auto_follow(session: AsyncSession, *, user_id: int, discussion_id: int) -> None:
    """Watch a discussion the member wrote in, unless they already chose a level for it."""
    step = auto_follow_step(
        session.get_bind().dialect.name, user_id=user_id, discussion_id=discussion_id
    )
    await execute_write(session, step.write, **step.params)


async def follow_discussion(
    session: AsyncSession, *, user: User, discussion: Discussion, level: FollowLevel | None
) -> FollowLevel | None:
    """Set (or, with None, remove) the member's level for a discussion they can see."""
    check_permission(user, Action.follow)
    if level is None:
        await session.execute(
            delete(DiscussionFollow).where(
                DiscussionFollow.user_id == user.id,
                DiscussionFollow.discussion_id == discussion.id,
            )
        )
        return None
    stmt = dialect_insert(session, DiscussionFollow).values(
        user_id=user.id, discussion_id=discussion.id, level=level.value, created_at=utcnow()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DiscussionFollow.user_id, DiscussionFollow.discussion_id],
            set_={"level": level.value},
        )
    )
    return level


async def follow_group(
    session: AsyncSession, *, user: User, group: Group, level: FollowLevel | None
) -> FollowLevel | None:
    check_permission(user, Action.follow)
    if level is None:
        await session.execute(
            delete(GroupFollow).where(
                GroupFollow.user_id == user.id, GroupFollow.group_id == group.id
            )
        )
        return None
    stmt = dialect_insert(session, GroupFollow).values(
        user_id=user.id, group_id=group.id, level=level.value, created_at=utcnow()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[GroupFollow.user_id, GroupFollow.group_id],
            set_={"level": level.value},
        )
    )
    return level


async def discussion_level(
    session: AsyncSession, *, user: Actor | None, discussion_id: int
) -> FollowLevel | None:
    if user is None:
        return None
    level = await session.scalar(
        select(DiscussionFollow.level).where(
            DiscussionFollow.user_id == user.id, DiscussionFollow.discussion_id == discussion_id
        )
    )
    return FollowLevel(level) if level else None


async def group_level(
    session: AsyncSession, *, user: Actor | None, group: Group
) -> FollowLevel | None:
    if user is None:
        return None
    level = await session.scalar(
        select(GroupFollow.level).where(
            GroupFollow.user_id == user.id, GroupFollow.group_id == group.id
        )
    )
    return FollowLevel(level) if level else None


async def set_auto_follow(session: AsyncSession, *, user: User, enabled: bool) -> None:
    check_permission(user, Action.follow)
    user.auto_follow = enabled
    await session.flush()


def discussion_level_column(
    user_id: SQLColumnExpression[int], discussion_id: SQLColumnExpression[int]
) -> Any:
    """The member's level for a discussion (NULL: not following), as a column of the
    discussion's own query."""
    return (
        select(DiscussionFollow.level)
        .where(DiscussionFollow.user_id == user_id, DiscussionFollow.discussion_id == discussion_id)
        .scalar_subquery()
    )


def group_level_column(
    user_id: SQLColumnExpression[int], group_id: SQLColumnExpression[int]
) -> Any:
    """The member's level for a group (NULL: not following), as a column of its query."""
    return (
        select(GroupFollow.level)
        .where(GroupFollow.user_id == user_id, GroupFollow.group_id == group_id)
        .scalar_subquery()
    )
