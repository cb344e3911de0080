"""What a search brings back from the database does not grow with the number of documents
that match it: the same statements, and a relevance search reads the newest WINDOW
matches (and the newest WINDOW title matches) and ranks those, a search by date lists one
page and counts up to COUNT_CAP, the page's rows and snippets are its own. So a word in
four times as many posts costs the same statements and the same rows, and says "more
than" rather than counting further (the bench measures the time: `python -m bench.search_latency`).

Inside a statement the engines' own work is seen only where it is decided by which index
is read: SQLite's bm25 counts every document of the index it ranks in that says each word
(its IDF), so a full window is ranked in the newest documents' index (`search_fts_recent`),
never in every document's. PostgreSQL's GIN index lists every match of a word before the
newest are taken, which this cannot see (the bench can: `python -m bench.search_latency`)."""

from __future__ import annotations

import re
from typing import Any

from app.discussions.posting import reply, start_discussion
from app.groups.models import Group
from app.search import engine
from app.search.query import parse_query

QUERIES = ("growthqz", '"growthqz said"', "order:latest growthqz", "in:title growthqz")


async def _add(app: Any, group: Any, mentor: Any, discussions: int) -> None:
    """`discussions` discussions whose title and opening post say the word, each with
    three replies that say it too (and one that does not)."""
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        for i in range(discussions):
            opened = await start_discussion(
                s, author=author, group=g, title=f"growthqz {i}", body="growthqz said first"
            )
            for j in range(3):
                await reply(
                    s, author=author, discussion=opened.discussion, body=f"growthqz said {j}"
                )
            await reply(s, author=author, discussion=opened.discussion, body="nothing of it")
        await s.commit()


async def _work(session: Any, group: Any, monkeypatch: Any) -> dict[str, Any]:
    """Per query: the rows each statement brought back, the full-text tables SQLite ranked
    in (bm25), and what the page said."""
    real = engine._rows
    fetched: list[int] = []
    statements: list[str] = []
    ranked_in: set[str] = set()

    async def counted(s: Any, stmt: Any, params: Any = None, **kw: Any) -> list[Any]:
        rows = await real(s, stmt, params, **kw)
        fetched.append(len(rows))
        statements.append(str(stmt))
        ranked_in.update(re.findall(r"bm25\((search_fts\w*)", str(stmt)))
        return rows

    monkeypatch.setattr(engine, "_rows", counted)
    work = {}
    for q in (*QUERIES, f"#{group.slug} growthqz"):
        fetched.clear()
        statements.clear()
        ranked_in.clear()
        found = await engine.search(session, parsed=parse_query(q), viewer=None)
        work[q] = (
            list(statements),
            list(fetched),
            sorted(ranked_in),
            len(found.hits),
            found.total,
            found.total_capped,
        )
    monkeypatch.setattr(engine, "_rows", real)
    return work


async def test_four_times_the_matches_bring_back_the_same_rows(
    app, session, group, mentor, monkeypatch
):
    monkeypatch.setattr(engine, "WINDOW", 8)
    monkeypatch.setattr(engine, "COUNT_CAP", 12)
    engine._plan.cache_clear()
    try:
        await _add(app, group, mentor, 10)  # 40 matching posts, 10 titles
        small = await _work(session, group, monkeypatch)
        await _add(app, group, mentor, 30)  # 160 matching posts, 40 titles
        large = await _work(session, group, monkeypatch)
    finally:
        engine._plan.cache_clear()
    assert large == small
    # the same statements (the same SQL, in the same order), the same rows from each
    for q, (_statements, fetched, _ranked_in, hits, total, capped) in large.items():
        assert hits > 0 and capped, (q, large[q])
        # no statement brought back more than a window, a count's bound or a page
        assert max(fetched) <= max(engine.COUNT_CAP + 1, engine.WINDOW, 21), (q, fetched)
    if not engine.is_postgres(session):
        # SQLite ranks the newest matches in the newest documents' index, whose bm25
        # counts a word's matches among those alone, and the library's pages in theirs:
        # never in the index of every document
        for q in ("growthqz", '"growthqz said"'):
            assert "search_fts_recent" in large[q][2], large[q]
            assert "search_fts" not in large[q][2], large[q]
