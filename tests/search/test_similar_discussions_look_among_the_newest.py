"""Similar discussions read each word's newest titles from an index alone (SQLite's titles'
FTS5 index, PostgreSQL's postings: migration v20similar), so what they cost does not grow
with the forum; their statements and rows are the same whatever the number of titles that
match. Snippets are made from a window of the text
(`snippet_window`), marked where it says a term, whatever the length of the text."""

from __future__ import annotations

from typing import Any

import pytest

from app.discussions.posting import start_discussion
from app.groups.models import Group
from app.search import engine
from app.search.query import parse_query


async def _open(app: Any, group: Any, mentor: Any, titles: list[str], body: str = "x") -> None:
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        for title in titles:
            await start_discussion(s, author=author, group=g, title=title, body=body)
        await s.commit()


def _pg_only(session: Any) -> None:
    if not engine.is_postgres(session):
        pytest.skip("SQLite's titles have an FTS5 index of their own")


async def test_a_words_newest_titles_come_from_its_postings_alone(session):
    """PostgreSQL: each word's newest titles are read backwards from the postings' primary
    key (word, doc_id), not from the GIN index over (title_tsv, id), which enumerated
    every id of its range for each word and read each match's row (migration v20similar).
    That index still serves a search's title window (s19pg)."""
    _pg_only(session)
    ranked = engine._similar_statement(True, None, 2, 5)
    sql = engine._query(ranked).compiled(session.get_bind().dialect).sql
    assert "search_fts_title_postings.word = $" in sql and "title_tsv" not in sql
    assert "ORDER BY search_fts_title_postings.doc_id DESC" in sql
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    definition = await driver.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'search_fts_title_postings'"
    )
    assert "(word, doc_id)" in definition
    definition = await driver.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_search_documents_title_age'"
    )
    assert "gin (title_tsv, id)" in definition and "WHERE (title <> ''::text)" in definition


async def test_older_titles_are_found_at_any_age(app, session, group, mentor, monkeypatch):
    """The newest TITLE_DOCUMENTS documents bound a search's title window, not similar
    discussions: a word's postings are read newest first, whatever their age."""
    await _open(app, group, mentor, ["Oldqz pumps first"])
    await _open(app, group, mentor, [f"Filler {i}" for i in range(3)])
    await _open(app, group, mentor, ["Oldqz pumps second"])
    monkeypatch.setattr(engine, "TITLE_DOCUMENTS", 2)  # the newest two documents
    engine._similar_statement.cache_clear()
    try:
        found = await engine.similar_discussions(session, title="oldqz pumps", viewer=None)
    finally:
        engine._similar_statement.cache_clear()
    assert [s.title for s in found] == ["Oldqz pumps second", "Oldqz pumps first"]


async def test_similar_work_does_not_grow_with_matching_titles(
    app, session, group, mentor, monkeypatch
):
    monkeypatch.setattr(engine, "SIMILAR_PER_WORD", 8)
    engine._similar_statement.cache_clear()
    real = engine._rows
    fetched: list[tuple[str, int]] = []

    async def counted(s: Any, stmt: Any, params: Any = None, **kw: Any) -> list[Any]:
        rows = await real(s, stmt, params, **kw)
        fetched.append((str(stmt), len(rows)))
        return rows

    monkeypatch.setattr(engine, "_rows", counted)
    work = []
    try:
        for count in (10, 40):
            await _open(app, group, mentor, [f"Growqz title {i}" for i in range(count)])
            fetched.clear()
            found = await engine.similar_discussions(session, title="growqz", viewer=None)
            work.append((list(fetched), len(found)))
    finally:
        engine._similar_statement.cache_clear()
    assert work[0] == work[1]
    # the words' counts, the best five described
    assert [rows for _, rows in work[1][0]] == [1, 5]


async def test_a_long_text_is_snippeted_where_it_says_the_word(app, session, group, mentor):
    filler = " ".join(f"word{i}" for i in range(400))
    body = f"{filler} the snipqz appointments were moved {filler}"
    await _open(app, group, mentor, ["A long one"], body=body)
    hits = (await engine.search(session, parsed=parse_query("snipqz"), viewer=None)).hits
    assert len(hits) == 1
    snippet = str(hits[0].snippet)
    assert "<mark>snipqz</mark>" in snippet, snippet
    assert len(snippet) < 400, snippet
    if engine.is_postgres(session):
        # the window starts at a whole word, and its first place says the term
        assert not snippet.startswith("ord"), snippet
        stemmed = (await engine.search(session, parsed=parse_query("appointed"), viewer=None)).hits
        assert "<mark>appointments</mark>" in str(stemmed[0].snippet), stemmed


async def test_a_search_title_window_looks_among_the_newest(
    app, session, group, mentor, monkeypatch
):
    """A search's title window (run when the newest matches fill a window) reads the title
    matches among the newest TITLE_DOCUMENTS documents alone, on both databases: SQLite
    read the newest WINDOW title matches of all, as far back as they lay (4,000 titles
    walked for `#caregivers fatigue` at 1,050,000 posts, 1,443 at 210,000)."""
    await _open(app, group, mentor, [f"Ageqz pumps {i}" for i in range(4)], body="ageqz pumps")
    monkeypatch.setattr(engine, "TITLE_DOCUMENTS", 2)  # the newest two documents
    monkeypatch.setattr(engine, "WINDOW", 3)
    real = engine._rows
    returned: list[tuple[Any, int]] = []

    async def recording(s: Any, stmt: Any, params: Any = None, **kw: Any) -> list[Any]:
        rows = await real(s, stmt, params, **kw)
        returned.append((stmt, len(rows)))
        return rows

    monkeypatch.setattr(engine, "_rows", recording)
    engine._plan.cache_clear()
    try:
        parsed = parse_query("ageqz pumps")
        hits = (await engine.search(session, parsed=parsed, viewer=None)).hits
        shape = engine._shape(parsed, None, "all", pg=engine.is_postgres(session), limit=20)
        title_window = engine._plan(shape).title_window
    finally:
        engine._plan.cache_clear()
    assert [h.title for h in hits][:1] == ["Ageqz pumps 3"], hits
    read = [count for stmt, count in returned if stmt is title_window]
    assert read == [2], read  # the two newest titles; no title is the query as typed


async def test_an_old_exact_title_still_comes_first(app, session, group, mentor, monkeypatch):
    """A search's title window looks among the newest TITLE_DOCUMENTS documents, and finds
    a title that is the query as typed at any age (on SQLite by the b-tree on lower(title),
    migration q22sqlite)."""
    await _open(app, group, mentor, ["Exactqz pumps"], body="nothing here")
    await _open(app, group, mentor, [f"Exactqz pumps {i}" for i in range(6)], body="exactqz pumps")
    monkeypatch.setattr(engine, "TITLE_DOCUMENTS", 2)
    monkeypatch.setattr(engine, "WINDOW", 3)
    engine._plan.cache_clear()
    try:
        hits = (await engine.search(session, parsed=parse_query("exactqz pumps"), viewer=None)).hits
    finally:
        engine._plan.cache_clear()
    assert hits[0].title == "Exactqz pumps", [h.title for h in hits]
