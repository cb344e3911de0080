"""Reactions (Helpful, Hug): exact counts under concurrency, and who reacted."""

from __future__ import annotations

from sqlalchemy import (
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Forbidden, Invalid
from app.db import dialect_insert, utcnow
from app.discussions.models import (
    Post,
    Reaction,
    ReactionKind,
)


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
