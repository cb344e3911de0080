"""SQLite: a search's windows and lists read each match's facts (visibility, group,
author, date, title) from the documents' covering indexes (migration q22sqlite), never
from `search_documents` itself, where they lie after the body and each look-up followed
the body's overflow pages: 7 of the 20 ms of `#caregivers fatigue` at 1,050,000 posts.
A title match's come from the index of titled documents alone; an answer status reads
the replies' facts from `ix_posts_answers`, not their rows. Only the page's few rows are
read from the tables (`python -m bench.search_statements --plans`)."""

from __future__ import annotations

import pytest

from app.search import engine
from tests.search.test_sqlite_search_statements_read_rows_by_key import _plans, every_shape

FACTS = "SEARCH search_documents USING COVERING INDEX ix_search_documents_facts (id=?)"
TITLE_FACTS = "SEARCH search_documents USING COVERING INDEX ix_search_documents_title_facts (id=?)"
ANSWERS = "USING COVERING INDEX ix_posts_answers (discussion_id=? AND is_opening=?)"


async def test_windows_and_lists_read_the_facts_from_the_indexes(
    app, session, group, mentor, monkeypatch
):
    if engine.is_postgres(session):
        pytest.skip("SQLite's covering indexes (PostgreSQL keeps bodies out of its rows)")
    queries = await every_shape(app, group, mentor, "factqz")
    read = {"search_fts": 0, "search_fts_recent": 0, "search_fts_titles": 0}
    for q in queries:
        for sql, lines in await _plans(session, q, monkeypatch):
            if "AS post_id" in sql or "library_pages" in sql:
                continue  # the page's rows; the library's pages
            for fts in read:
                if f"FROM {fts} JOIN search_documents" in sql:
                    read[fts] += 1
                    wanted = TITLE_FACTS if fts == "search_fts_titles" else FACTS
                    assert wanted in lines, (q, lines, sql)
            # the table itself is never read for a match
            assert not any(
                line.startswith("SEARCH search_documents USING INTEGER PRIMARY KEY")
                for line in lines
            ), (q, lines, sql)
            if "status:" in q:
                # each match's discussion: its replies' facts, not their rows
                assert any(ANSWERS in line for line in lines), (q, lines, sql)
    # every full-text index was walked by some query
    assert all(read.values()), read
