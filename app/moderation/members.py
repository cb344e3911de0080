"""The moderators' member directory: every member, searchable by name, a page at a time.

Keyset-paginated on the casefolded name (`username_key`, unique and indexed), so the last
page costs what the first does, and a member joining while a moderator pages through
shifts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import Actor, Role, User
from app.core.errors import Invalid
from app.core.validation import is_storable
from app.db import utcnow

PAGE_SIZE = 50
MAX_QUERY = 30  # a username is at most 30 characters


@dataclass(slots=True)
class MemberRow:
    username: str
    username_key: str
    role: str
    created_at: datetime
    post_count: int
    suspended_at: datetime | None
    suspended_until: datetime | None

    @property
    def status(self) -> str:
        """Active, or suspended (until when); in words, never by colour alone."""
        if self.suspended_at is None:
            return "Active"
        if self.suspended_until is None:
            return "Suspended"
        if self.suspended_until <= utcnow():
            return "Active (suspension ended)"
        return f"Suspended until {self.suspended_until:%-d %b %Y}"


@dataclass(slots=True)
class MemberPage:
    members: list[MemberRow]
    query: str
    role: str
    next_after: str | None  # the cursor of the next page: the last name shown


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_search(query: str, role: str, after: str) -> None:
    for name, value in (("q", query), ("after", after)):
        if len(value) > MAX_QUERY or not is_storable(value):
            raise Invalid(f"{name}: at most {MAX_QUERY} characters of text.", field=name)
    if role and role not in {r.value for r in Role}:
        raise Invalid("role: one of member, mentor, moderator or admin.", field="role")


async def list_members(
    session: AsyncSession,
    *,
    moderator: Actor | None,
    query: str = "",
    role: str = "",
    after: str = "",
    limit: int | None = None,
) -> MemberPage:
    """Members in name order whose name contains `query` (ignoring case), of `role` if
    given, after the name `after` (the previous page's last)."""
    check_permission(moderator, Action.suspend_members)
    check_search(query, role, after)
    limit = limit or PAGE_SIZE
    statement = select(
        User.username,
        User.username_key,
        User.role,
        User.created_at,
        User.post_count,
        User.suspended_at,
        User.suspended_until,
    )
    needle = query.strip().lower()
    if needle:
        statement = statement.where(User.username_key.like(_like_pattern(needle), escape="\\"))
    if role:
        statement = statement.where(User.role == role)
    if after:
        statement = statement.where(User.username_key > after.lower())
    rows = (await session.execute(statement.order_by(User.username_key).limit(limit + 1))).all()
    members = [MemberRow(*row) for row in rows[:limit]]
    next_after = members[-1].username_key if len(rows) > limit else None
    return MemberPage(members=members, query=query, role=role, next_after=next_after)
