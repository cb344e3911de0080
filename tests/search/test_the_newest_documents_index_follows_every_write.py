"""SQLite keeps the newest RECENT_DOCUMENTS documents in a full-text index of their own
(`search_fts_recent`, migration s5window), where a search looks for the newest matches
first: its triggers put each new document in and (every 64th) take out those that many ids older,
and edits and deletions follow, so it always holds the newest documents' text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, insert, text, update

from app.search import engine
from app.search.models import SearchDocument as Doc


async def recent(session: Any, word: str) -> list[int]:
    rows = await session.execute(
        text("SELECT rowid FROM search_fts_recent WHERE search_fts_recent MATCH :w"),
        {"w": engine.fts5_quote(word)},
    )
    return sorted(row[0] for row in rows)


async def put(session: Any, ident: int, body: str) -> None:
    await session.execute(
        insert(Doc).values(id=ident, source="library", source_id=ident, title="", body=body)
    )


async def test_the_newest_documents_index_holds_the_newest_documents_text(session):
    if engine.is_postgres(session):
        pytest.skip("PostgreSQL's newest documents are a range of its primary key")
    base = 10_000_000
    await put(session, base, "recentqz first")
    await put(session, base + 1, "recentqz second")
    assert await recent(session, "recentqz") == [base, base + 1]
    # an edit is searched by its new words, no longer by its old ones
    await session.execute(update(Doc).where(Doc.id == base + 1).values(body="editedqz"))
    assert await recent(session, "recentqz") == [base]
    assert await recent(session, "editedqz") == [base + 1]
    await session.execute(delete(Doc).where(Doc.id == base + 1))
    assert await recent(session, "editedqz") == []
    await put(session, base + 1, "editedqz again")
    # every 64th document takes out those RECENT_DOCUMENTS ids older than itself: the
    # index holds at least the newest RECENT_DOCUMENTS, and a few more
    newer = base + engine.RECENT_DOCUMENTS + 1
    assert newer % 64 != 0
    await put(session, newer, "recentqz newer")
    assert await recent(session, "recentqz") == [base, newer]
    newest = newer + 64 - newer % 64
    await put(session, newest, "recentqz newest")
    assert await recent(session, "recentqz") == [newer, newest]
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
