"""Which @names are members, the "did you mean" for those that are not, and the composer's
autocomplete."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.db import utcnow
from app.discussions.models import Post, Visibility

# A post may notify this many members by @name; more is refused (mass pings).
MAX_MENTIONS = 10
SUGGESTIONS = 3
SUGGEST_LIMIT = 8
USERNAME_MAX = 30
# "did you mean": unknown names looked at per post, and members compared with each one
UNKNOWN_NAMES_CHECKED = 10
CANDIDATES_PER_NAME = 500


def not_suspended(now: Any = None) -> ColumnElement[bool]:
    """SQL for `accounts.models.is_suspended(user)` being false now (or at `now`, a value
    or a bind parameter)."""
    return or_(
        User.suspended_at.is_(None),
        and_(
            User.suspended_until.is_not(None),
            User.suspended_until <= (utcnow() if now is None else now),
        ),
    )


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    username: str
    suspended: bool


async def members_named(session: AsyncSession, keys: list[str]) -> dict[str, Member]:
    """Casefolded name -> member, for the names that belong to somebody. One query."""
    keys = [k for k in keys if 3 <= len(k) <= USERNAME_MAX]
    if not keys:
        return {}
    rows = await session.execute(
        select(
            User.id,
            User.username,
            User.username_key,
            case((not_suspended(), literal(False)), else_=literal(True)).label("suspended"),
        ).where(User.username_key.in_(keys))
    )
    return {r.username_key: Member(r.id, r.username, bool(r.suspended)) for r in rows}


async def closest_usernames(session: AsyncSession, names: list[str]) -> dict[str, list[str]]:
    """For each unknown name, up to three existing usernames that look like it (difflib over
    the members whose name starts with the same two letters). One query for all names."""
    names = names[:UNKNOWN_NAMES_CHECKED]
    prefixes = sorted({n.lower()[:2] for n in names})
    if not prefixes:
        return {}
    conditions = [User.username_key.startswith(p, autoescape=True) for p in prefixes]
    rows = await session.execute(
        select(User.username, User.username_key)
        .where(or_(*conditions), not_suspended())
        .order_by(User.username_key)
        .limit(CANDIDATES_PER_NAME * len(prefixes))
    )
    by_key = {r.username_key: r.username for r in rows}
    out: dict[str, list[str]] = {}
    for name in names:
        key = name.lower()
        pool = [k for k in by_key if k.startswith(key[:2])]
        close = difflib.get_close_matches(key, pool, n=SUGGESTIONS, cutoff=0.75)
        out[name] = [by_key[k] for k in close]
    return out


@dataclass(frozen=True, slots=True)
class Suggestion:
    username: str
    role: str
    participant: bool


async def suggest_usernames(
    session: AsyncSession, *, prefix: str, discussion_id: int | None, limit: int = SUGGEST_LIMIT
) -> list[Suggestion]:
    """Members whose name starts with `prefix` (any case), the discussion's participants
    first, suspended members left out. An empty prefix lists participants only."""
    if discussion_id is not None:
        participant: ColumnElement[bool] = exists().where(
            Post.discussion_id == discussion_id,
            Post.author_id == User.id,
            Post.status == Visibility.visible.value,
            Post.deleted_at.is_(None),
        )
    else:
        participant = literal(False)
    query = select(User.username, User.role, participant.label("participant")).where(
        not_suspended()
    )
    if prefix:
        query = query.where(User.username_key.startswith(prefix.lower(), autoescape=True))
    elif discussion_id is not None:
        query = query.where(participant)
    else:
        return []
    rows = await session.execute(
        query.order_by(case((participant, 0), else_=1), User.username_key).limit(limit)
    )
    return [Suggestion(r.username, r.role, bool(r.participant)) for r in rows]
