"""SQLite keeps the newest RECENT_DOCUMENTS documents in a full-text index of their own
(`search_fts_recent`, migration s5window), where a search looks for the newest matches
first: its triggers put each new document in and (every 64th) take out those that many ids older,
and edits and deletions follow, so it always holds the newest documents' text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.search import engine
from tests.search.newest import edits_and_deletions_follow, older_ones_leave, put


async def recent(session: Any, word: str) -> list[int]:
    rows = await session.execute(
        text("SELECT rowid FROM search_fts_recent WHERE search_fts_recent MATCH :w"),
        {"w": engine.fts5_quote(word)},
    )
    return sorted(row[0] for row in rows)


async def test_the_newest_documents_index_holds_the_newest_documents_text(session):
    if engine.is_postgres(session):
        pytest.skip("PostgreSQL's newest documents are a range of its primary key")
    base = 10_000_000
    await edits_and_deletions_follow(session, recent, base)
    await put(session, base + 1, "editedqz again")
    newer, newest = await older_ones_leave(session, recent, base, engine.RECENT_DOCUMENTS)
    assert await recent(session, "editedqz") == []
    # the index of every document still has them all
    every = await session.execute(
        text("SELECT rowid FROM search_fts WHERE search_fts MATCH 'recentqz'")
    )
    assert sorted(row[0] for row in every) == [base, newer, newest]


async def _index_pages(session: Any) -> list[Any]:
    rows = await session.execute(text("SELECT id, block FROM search_fts_recent_data ORDER BY id"))
    return [tuple(row) for row in rows]


async def test_the_newest_documents_index_is_merged_every_4096th_document(session):
    """FTS5 keeps a deleted document's entries (and writes a deletion marker beside them)
    until a merge writes the index's oldest segment, which its own merges seldom do: the
    index of the newest documents held every document it ever had (37 MB for its 20,000
    on the bench's 210,000 posts), and bm25 and the snippets walked them all. Its trigger
    merges it into one segment every 4096th document (migration s18sqlite): then nothing
    is left for a merge to do (`optimize` changes no page)."""
    if engine.is_postgres(session):
        pytest.skip("PostgreSQL's newest documents are a range of its primary key")
    base = 4096 * 5000
    for ident in range(base - 130, base - 120):
        # a search between writes writes the pending entries out: a segment each
        await put(session, ident, f"mergeqz {ident}")
        assert await recent(session, "mergeqz")
    before = await _index_pages(session)
    await session.execute(text(OPTIMIZE))
    # several segments: a merge changes the index
    assert await _index_pages(session) != before
    for ident in range(base - 20, base - 10):
        await put(session, ident, f"mergeqz {ident}")
        assert await recent(session, "mergeqz")
    # a multiple of 4096 (and of 64: the others, that many ids older, are taken out)
    last = base + 4096 * 5
    assert last - engine.RECENT_DOCUMENTS > base
    await put(session, last, "mergeqz leaves the others behind")
    assert await recent(session, "mergeqz") == [last]
    merged = await _index_pages(session)
    await session.execute(text(OPTIMIZE))
    assert await _index_pages(session) == merged


OPTIMIZE = "INSERT INTO search_fts_recent(search_fts_recent) VALUES ('optimize')"
