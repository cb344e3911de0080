"""Hot reads (app/core/rows.py) run SQL compiled once on the driver itself. They must give
the rows SQLAlchemy gives for the same statement, see what the request already wrote, and,
outside a transaction on SQLite, read on a connection that cannot write."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC

import pytest
from sqlalchemy import text

from app.accounts.service import SESSION_LOOKUP, start_session
from app.core.rows import Query, SQLiteReader, fetch_all, through_sqlalchemy
from app.core.security import token_digest
from app.db import Database
from app.discussions import posting, reactions, reading
from app.discussions.models import ReactionKind
from app.groups import service as groups
from app.groups.service import GROUP_VIEW, PINNED, listing
from tests.conftest import drop_database, fresh_database_url


async def seeded(app, member, moderator, group) -> dict:
    """A discussion with a threaded, edited, reacted-to and deleted reply, a follow, and a
    signed-in session: every column type the hot reads convert."""
    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(
            s, author=member, group=group, title="Neutropenia", body="What **is** it?"
        )
        d = written.discussion
        first = await posting.reply(s, author=moderator, discussion=d, body="A count.")
        second = await posting.reply(
            s, author=member, discussion=d, body="Thanks", reply_to_id=first.post.id
        )
        await reactions.set_reaction(
            s, user=member, post=first.post, kind=ReactionKind.helpful, active=True
        )
        await posting.edit_post(s, editor=member, post=second.post, body="Thank you")
        gone = await posting.reply(s, author=member, discussion=d, body="oops")
        await posting.delete_post(s, actor=member, post=gone.post)
        token = await start_session(s, app.state.settings, user=member)
        await s.commit()
    return {"discussion": d, "token": token}


async def test_hot_reads_give_the_rows_sqlalchemy_gives(
    app, session, member, moderator, group
) -> None:
    data = await seeded(app, member, moderator, group)
    d = data["discussion"]
    cases: list[tuple[Query, dict]] = [
        (SESSION_LOOKUP, {"digest": token_digest(data["token"])}),
        (reading.DISCUSSION_HEAD, {"discussion_id": d.id, "viewer": member.id}),
        (
            reading.PAGE_POSTS,
            {
                "discussion_id": d.id,
                "viewer": member.id,
                "sees_all": False,
                "limit": 20,
                "offset": 0,
            },
        ),
        (
            reading.ALL_POSTS,
            {"discussion_id": d.id, "viewer": member.id, "sees_all": False},
        ),
        (GROUP_VIEW, {"slug": group.slug, "viewer": member.id}),
        (PINNED, {"group_id": group.id, "signed_in": True}),
        (
            listing(in_group=True, after_cursor=False, limit=5),
            {"group_id": group.id, "signed_in": True},
        ),
        (listing(in_group=False, after_cursor=False, limit=5), {"signed_in": False}),
    ]
    conn = await session.connection()
    for query, params in cases:
        fast = await fetch_all(session, query, **params)
        slow = await through_sqlalchemy(conn, query, params)
        assert sorted(fast, key=repr) == sorted(slow, key=repr), query.statement
    posts = sorted(await fetch_all(session, *cases[2][0:1], **cases[2][1]), key=lambda p: p.id)
    assert len(posts) == 4
    assert all(p.created_at.tzinfo is UTC for p in posts)
    assert [p.my_helpful for p in posts] == [False, True, False, False]
    assert sum(p.edited_at is not None for p in posts) == 1
    assert sum(p.deleted_at is not None for p in posts) == 1
    assert all(isinstance(p.is_opening, bool) for p in posts)


async def test_a_hot_read_sees_what_the_request_wrote(session) -> None:
    await groups.create_group(session, slug="hot-new", name="Just made", description="")
    assert session.in_transaction()
    found = await groups.group_view(session, "hot-new", viewer=None)
    assert found.name == "Just made"


async def test_a_hot_read_flushes_pending_objects_first(session) -> None:
    from app.groups.models import Group

    session.add(Group(slug="pending-add", name="Added, not flushed", description=""))
    found = await groups.group_view(session, "pending-add", viewer=None)
    assert found.name == "Added, not flushed"


async def test_outside_a_transaction_reads_go_to_the_process_reader(tmp_path) -> None:
    """SQLite: a read-only connection; PostgreSQL: a pool of its own. Either way the
    session takes no connection from the engine's pool for a hot read."""
    url = await asyncio.to_thread(fresh_database_url, tmp_path, "reader")
    db = Database(url)
    try:
        assert db.reader is not None
        async with db.sessionmaker() as s:
            await groups.create_group(s, slug="read-me", name="Committed", description="")
            await s.commit()
        async with db.sessionmaker() as s:
            found = await groups.group_view(s, "read-me", viewer=None)
            assert found.name == "Committed"
            assert not s.in_transaction()
            assert db.engine.pool.checkedout() == 0
        if isinstance(db.reader, SQLiteReader):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                db.reader.connection().execute("DELETE FROM groups")
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM groups"))).scalar() == 1
    finally:
        await db.dispose()
        await asyncio.to_thread(drop_database, url)


def test_no_reader_for_an_in_memory_database() -> None:
    assert Database("sqlite+aiosqlite:///:memory:").reader is None
