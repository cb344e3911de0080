"""PostgreSQL keeps the newest RECENT_KEPT documents' words in a table of their own
(`search_recent`, migration r21pgrecent), with its own GIN index, where a search chooses
its newest matches: the GIN index of every document read every match of a word before the
range of the newest ids applied, a cost growing with the forum. Its triggers put each new
document in and (every 64th) take out those RECENT_KEPT ids older; edits, erasure and
deletions follow in the writer's transaction. Who may see a document, and its group, are
read from the document's own row, joined by id: hiding and moving need no write here."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.rows import Query
from app.discussions.models import Post
from app.discussions.posting import edit_post, reply, start_discussion
from app.groups.models import Group
from app.groups.service import create_group
from app.moderation.service import hide_post, move_discussion
from app.search import engine
from app.search.index import erase_author_documents
from app.search.models import SearchDocument as Doc
from app.search.query import parse_query
from tests.search.newest import edits_and_deletions_follow, older_ones_leave


@pytest.fixture(autouse=True)
def _postgres_only(session: Any) -> None:
    if not engine.is_postgres(session):
        pytest.skip("SQLite's newest documents have their own FTS5 index (search_fts_recent)")


async def recent(session: Any, word: str) -> list[int]:
    rows = await session.execute(
        text("SELECT id FROM search_recent WHERE tsv @@ plainto_tsquery('english', :w)"),
        {"w": word},
    )
    return sorted(row[0] for row in rows)


async def test_the_newest_documents_table_holds_the_newest_documents_words(session):
    base = 10_000_000
    await edits_and_deletions_follow(session, recent, base)
    newer, newest = await older_ones_leave(session, recent, base, engine.RECENT_KEPT)
    # the documents themselves all stay
    kept = await session.execute(select(Doc.id).where(Doc.body.like("recentqz%")))
    assert sorted(row[0] for row in kept) == [base, newer, newest]


async def _found(session: Any, q: str, viewer: Any = None) -> list[int]:
    results = await engine.search(session, parsed=parse_query(q), viewer=viewer)
    return sorted(hit.post_id for hit in results.hits)


async def test_posts_edits_hiding_moves_and_erasure_are_searched_as_written(
    app, session, group, mentor, moderator
):
    """Through the app's own writes, in their transactions: what a search finds among the
    newest documents follows each one."""
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        other = await create_group(s, slug="elsewhere", name="Elsewhere", description="")
        author = await s.merge(mentor)
        opened = await start_discussion(
            s, author=author, group=g, title="Followqz question", body="followqz opening"
        )
        answer = await reply(s, author=author, discussion=opened.discussion, body="followqz reply")
        await s.commit()
        opening_id, reply_id = opened.post.id, answer.post.id
    assert await _found(session, "followqz") == [opening_id, reply_id]
    assert await recent(session, "followqz")

    async with app.state.db.sessionmaker() as s:
        post = await s.get_one(Post, reply_id)
        await edit_post(s, editor=await s.merge(mentor), post=post, body="changedqz words")
        await s.commit()
    assert await _found(session, "followqz") == [opening_id]
    assert await _found(session, "changedqz") == [reply_id]

    async with app.state.db.sessionmaker() as s:
        post = await s.get_one(Post, reply_id)
        await hide_post(s, moderator=await s.merge(moderator), post=post, reason="test")
        await s.commit()
    # a visitor no longer finds it; a moderator still does (marked)
    assert await _found(session, "changedqz") == []
    assert await _found(session, "changedqz", viewer=moderator) == [reply_id]

    async with app.state.db.sessionmaker() as s:
        discussion = opened.discussion
        await move_discussion(
            s,
            moderator=await s.merge(moderator),
            discussion=await s.merge(discussion),
            group=await s.get_one(Group, other.id),
        )
        await s.commit()
    # the row's group is read when searching: a search of words and an author (the
    # newest documents' table, filtered on the document's own row) finds it moved
    assert await _found(session, "followqz") == [opening_id]
    assert await _found(session, "@" + mentor.username + " followqz") == [opening_id]
    assert await _found(session, "#elsewhere followqz") == [opening_id]
    assert await _found(session, f"#{group.slug} followqz") == []

    async with app.state.db.sessionmaker() as s:
        await erase_author_documents(s, author_id=mentor.id)
        await s.commit()
    assert await recent(session, "followqz") == []
    assert await _found(session, "followqz", viewer=moderator) == []


async def _plan_of(session: Any, stmt: Any, params: dict[str, Any]) -> str:
    conn = await session.connection()
    compiled = Query(stmt, tuple).compiled(conn.dialect)
    raw = (await conn.get_raw_connection()).driver_connection
    rows = await raw.fetch("EXPLAIN " + compiled.sql, *compiled.arguments(params))
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("q", ["windowqz", '"windowqz said"', "@mentor_mo windowqz"])
async def test_the_window_is_chosen_in_the_newest_documents_table(session, mentor, q):
    """The plan of the newest matches' statements reads `search_recent` (its GIN index or
    its ids newest first), and never the GIN index of every document."""
    parsed = parse_query(q)
    shape = engine._shape(parsed, None, "all", pg=True, limit=20)
    plan = engine._plan(shape)
    params = engine._params(parsed, None, pg=True)
    params.update(author_id=mentor.id, older_to=10**6)
    first, kept, _in_range, _rest = plan.recent_windows
    for stmt in (first, kept):
        explained = await _plan_of(session, stmt, params)
        assert "search_recent" in explained, explained
        assert "ix_search_documents_tsv" not in explained, explained


@pytest.mark.parametrize(
    "q",
    [
        "sameqz",
        '"sameqz said"',
        "in:title sameqz",
        "sameqz status:unanswered",
        "sameqz order:latest",
        "sameqz first",
    ],
)
async def test_the_newest_documents_table_finds_what_every_document_finds(
    app, session, group, mentor, monkeypatch, q
):
    """The same results, in the same order, as the same windows chosen among every
    document (the statements before r21pgrecent), with windows small enough that each
    step is taken: the newest RECENT_DOCUMENTS, the rest of the newest RECENT_KEPT, and
    the older ones."""
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        for i in range(12):
            opened = await start_discussion(
                s, author=author, group=g, title=f"sameqz {i}", body=f"sameqz said first {i}"
            )
            for j in range(i % 3):
                await reply(s, author=author, discussion=opened.discussion, body=f"sameqz {j}")
            await reply(s, author=author, discussion=opened.discussion, body="nothing of it")
        await s.commit()
    newest = (await session.execute(select(Doc.id).order_by(Doc.id.desc()).limit(1))).scalar()
    assert newest is not None
    monkeypatch.setattr(engine, "WINDOW", 9)
    monkeypatch.setattr(engine, "RECENT_DOCUMENTS", 6)
    monkeypatch.setattr(engine, "RECENT_KEPT", 20)
    engine._plan.cache_clear()
    try:
        through_recent = await engine.search(session, parsed=parse_query(q), viewer=None)

        def every_document(self: Any, recent: Any, *, older_to: Any = None) -> Any:
            where = [Doc.id > recent] + ([Doc.id <= older_to] if older_to is not None else [])
            return self._pg_window(self.match.condition, where)

        monkeypatch.setattr(engine._Plan, "_pg_recent_window", every_document)
        engine._plan.cache_clear()
        through_every = await engine.search(session, parsed=parse_query(q), viewer=None)
    finally:
        engine._plan.cache_clear()
    assert through_recent.hits, q
    assert [h.document_id for h in through_recent.hits] == [
        h.document_id for h in through_every.hits
    ]
    assert [str(h.snippet) for h in through_recent.hits] == [
        str(h.snippet) for h in through_every.hits
    ]
    assert (through_recent.total, through_recent.next_cursor) == (
        through_every.total,
        through_every.next_cursor,
    )
