"""A group's visibility is `public` or `members`, held by a CHECK constraint in the
database itself on SQLite as on PostgreSQL (not only by the API's validation)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, insert, update

from app.db import utcnow
from app.groups.models import Group


async def test_an_unknown_visibility_is_refused_by_the_database(session, group):
    with pytest.raises(exc.IntegrityError, match="visibility"):
        async with session.begin_nested():
            await session.execute(
                update(Group).where(Group.id == group.id).values(visibility="secret")
            )
    with pytest.raises(exc.IntegrityError, match="visibility"):
        async with session.begin_nested():
            await session.execute(
                insert(Group).values(
                    slug="odd-one", name="Odd", description="", discussion_count=0,
                    created_at=utcnow(), visibility="everyone",
                )
            )  # fmt: skip
    for known in ("members", "public"):
        async with session.begin_nested():
            await session.execute(
                update(Group).where(Group.id == group.id).values(visibility=known)
            )
