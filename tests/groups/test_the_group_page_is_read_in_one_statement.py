"""A group page reads the group, its pinned discussions and one page of the others in one
statement (`groups.service.page_of_group`, a `core.rows.Batch`): the same as the three
reads it replaces (`group_view`, `pinned_discussions`, `list_discussions`), for visitors
and members, on the first page and after a cursor, in a public and a members-only group;
an unknown or hidden group is a 404, a bad cursor a 422 after that."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.core.errors import Invalid, NotFound
from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion, Visibility
from app.groups import service
from app.groups.models import GroupVisibility


async def _group(session: Any, author: Any, slug: str, discussions: int) -> Any:
    group = await service.create_group(session, slug=slug, name=slug.title(), description="")
    ids = []
    for n in range(discussions):
        written = await posting.start_discussion(
            session, author=author, group=group, title=f"Question {n}", body="?"
        )
        ids.append(written.discussion.id)
    now = utcnow()
    # activity out of id order, two pinned (one later than the other), a held one
    for n, discussion_id in enumerate(ids):
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion_id)
            .values(last_activity_at=now - timedelta(minutes=(n * 7) % 11))
        )
    for n, discussion_id in enumerate(ids[:2]):
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion_id)
            .values(pinned_at=now - timedelta(hours=n))
        )
    await session.execute(
        update(Discussion).where(Discussion.id == ids[3]).values(status=Visibility.pending.value)
    )
    return group


async def _three_reads(session: Any, slug: str, limit: int, viewer: Any, cursor: Any) -> Any:
    group = await service.group_view(session, slug, viewer=viewer)
    listing = await service.list_discussions(
        session, group_id=group.id, limit=limit, viewer=viewer, cursor=cursor
    )
    pinned = (
        []
        if cursor
        else await service.pinned_discussions(session, group_id=group.id, viewer=viewer)
    )
    return service.GroupPage(group, listing, pinned)


async def test_one_statement_reads_what_three_did(
    session: Any, member: Any, moderator: Any, admin: Any
) -> None:
    public = await _group(session, member, "open-group", 12)
    private = await _group(session, member, "closed-group", 5)
    await service.set_visibility(
        session, admin=admin, group=private, visibility=GroupVisibility.members.value
    )
    pages = 0
    for viewer in (None, member, moderator):
        for slug in (public.slug, private.slug):
            cursor = None
            for _ in range(5):
                try:
                    one = await service.page_of_group(
                        session, slug, limit=4, viewer=viewer, cursor=cursor
                    )
                except NotFound:
                    assert viewer is None and slug == private.slug
                    with pytest.raises(NotFound):
                        await service.group_view(session, slug, viewer=viewer)
                    break
                assert one == await _three_reads(session, slug, 4, viewer, cursor)
                pages += 1
                cursor = one.listing.next_cursor
                if cursor is None:
                    break
    assert pages >= 9


async def test_unknown_groups_and_bad_cursors(session: Any, member: Any) -> None:
    await _group(session, member, "some-group", 4)
    for slug in ("no-such-group", "x" * 81):
        with pytest.raises(NotFound):
            await service.page_of_group(session, slug, limit=4, viewer=member, cursor=None)
        with pytest.raises(NotFound):
            await service.page_of_group(session, slug, limit=4, viewer=member, cursor="bad")
    with pytest.raises(Invalid):
        await service.page_of_group(session, "some-group", limit=4, viewer=member, cursor="bad")
