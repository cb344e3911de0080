"""A discussion page reads its discussion and its posts in one statement
(`reading.DISCUSSION_PAGE`, a `core.rows.Batch`): what it reads is what the discussion's
own read and the posts' read give (`discussion_head`, `load_discussion_page`), for every
viewer, on every page and one past the last, held, hidden, deleted and nested replies
included; a discussion the viewer may not see is still a 404. On PostgreSQL each post's
author is found by the members' primary key, not by hashing every member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text, update

from app.core.errors import NotFound
from app.core.rows import compile_for
from app.discussions import posting, reading
from app.discussions.models import Discussion, Post, Visibility


async def _thread(session: Any, *, author: Any, moderator: Any, group: Any) -> Any:
    written = await posting.start_discussion(
        session, author=moderator, group=group, title="Iron infusions", body="Who had one?"
    )
    d = written.discussion
    first = await posting.reply(session, author=moderator, discussion=d, body="I did.")
    held = await posting.reply(session, author=author, discussion=d, body="Me too")
    under = await posting.reply(
        session, author=author, discussion=d, body="How was it?", reply_to_id=first.post.id
    )
    await posting.reply(
        session, author=moderator, discussion=d, body="Deeper", reply_to_id=under.post.id
    )
    hidden = await posting.reply(session, author=author, discussion=d, body="Off topic")
    gone = await posting.reply(session, author=moderator, discussion=d, body="Oops")
    await posting.delete_post(session, actor=moderator, post=gone.post)
    for n in range(3):
        await posting.reply(session, author=moderator, discussion=d, body=f"More {n}")
    for post, status in ((hidden.post, Visibility.hidden), (held.post, Visibility.pending)):
        await session.execute(update(Post).where(Post.id == post.id).values(status=status.value))
    return d


async def _both(session: Any, discussion_id: int, page: int, size: int, viewer: Any) -> Any:
    """The page read both ways: (one statement, two statements), or NotFound's message."""
    try:
        head, views = await reading.read_discussion(
            session, discussion_id, page=page, page_size=size, viewer=viewer
        )
        one: Any = reading.arrange_page(head, views, page=page, page_size=size, viewer=viewer)
    except NotFound as exc:
        one = exc.detail
    try:
        head = await reading.discussion_head(session, discussion_id, viewer=viewer)
        two: Any = await reading.load_discussion_page(
            session, discussion=head, page=page, page_size=size, viewer=viewer
        )
    except NotFound as exc:
        two = exc.detail
    return one, two


async def test_one_statement_reads_what_two_did_for_every_viewer(
    session: Any, member: Any, mentor: Any, moderator: Any, admin: Any, make_user: Any, group: Any
) -> None:
    d = await _thread(session, author=member, moderator=moderator, group=group)
    other = await make_user("another_member")
    viewers = (None, member, other, mentor, moderator, admin)
    pages_seen = 0
    for size in (2, 3, 20):  # several pages (PAGE_POSTS), and all on one (ALL_POSTS)
        for page in (1, 2, 3, 4):
            for viewer in viewers:
                one, two = await _both(session, d.id, page, size, viewer)
                assert one == two, (size, page, viewer and viewer.username)
                pages_seen += not isinstance(one, str)
    assert pages_seen > 30
    # held and then hidden: the author and the moderators see it, nobody else
    for status in (Visibility.pending, Visibility.hidden):
        await session.execute(
            update(Discussion).where(Discussion.id == d.id).values(status=status.value)
        )
        for viewer in viewers:
            one, two = await _both(session, d.id, 1, 3, viewer)
            assert one == two
            shown = viewer is not None and viewer in (moderator, admin)
            assert isinstance(one, str) != shown, (status, viewer and viewer.username)


async def test_a_missing_discussion_is_not_found(session: Any, member: Any) -> None:
    with pytest.raises(NotFound):
        await reading.read_discussion(session, 10**9, page=1, page_size=20, viewer=member)


def test_the_page_statement_sends_only_what_changes() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    sent = {"viewer", "discussion_id", "limit", "offset", "sees_all"}
    compiled = reading.DISCUSSION_PAGE.compiled(postgresql.asyncpg.dialect())
    assert set(compiled.names) == sent and not compiled.defaults, compiled.sql
    compiled = reading.DISCUSSION_PAGE.compiled(sqlite.dialect())
    # SQLite's compiler adds an OFFSET parameter to a LIMIT
    assert {n for n in compiled.names if not n.startswith("param_")} == sent


async def test_postgresql_finds_each_author_by_primary_key(
    engine: Any, session: Any, member: Any, moderator: Any, group: Any
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite always finds them by primary key; the plan is PostgreSQL's")
    d = await _thread(session, author=member, moderator=moderator, group=group)
    connection = await session.connection()
    # the generic plan, the one PostgreSQL keeps for a statement prepared once
    await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    for query in (reading.ALL_POSTS, reading.PAGE_POSTS):
        sql = compile_for(query.postgresql, connection.dialect).sql
        names = compile_for(query.postgresql, connection.dialect).names
        await connection.exec_driver_sql(f"PREPARE author_plan AS {sql}")
        values = {"viewer": member.id, "discussion_id": d.id, "sees_all": False}
        values |= {"limit": 20, "offset": 0}
        arguments = ", ".join(str(values[name]) for name in names)
        plan = "\n".join(
            row[0]
            for row in await connection.execute(text(f"EXPLAIN EXECUTE author_plan({arguments})"))
        )
        await connection.exec_driver_sql("DEALLOCATE author_plan")
        assert "Index Scan using pk_users on users" in plan, plan
        assert "Seq Scan on users" not in plan, plan
