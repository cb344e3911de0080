"""SQLite: every statement a search sends reads its rows by key, whatever the query's
shape. The full-text index lists the matches, newest first (no sort of them all), and
each document, post, discussion, group and author is then read by its primary key (or
a group's documents by their (group_id, id) index): no table is read end to end, so a
search's work follows the matches it reads, not the size of the forum
(`python -m bench.search_statements --plans` prints the plans with their times)."""

from __future__ import annotations

from typing import Any

import pytest

from app.discussions.posting import reply, start_discussion
from app.groups.models import Group
from app.search import engine
from app.search.query import parse_query

TABLES = ("search_documents", "posts", "discussions", "groups", "users", "library_pages")


async def _plans(session: Any, q: str, monkeypatch: Any) -> list[tuple[str, list[str]]]:
    """The statements a search sent, each with its EXPLAIN QUERY PLAN's lines."""
    real = engine._rows
    sent: list[tuple[Any, dict[str, Any]]] = []

    async def recording(s: Any, stmt: Any, params: Any = None, **kw: Any) -> list[Any]:
        sent.append((stmt, dict(params or {})))
        return await real(s, stmt, params, **kw)

    monkeypatch.setattr(engine, "_rows", recording)
    try:
        await engine.search(session, parsed=parse_query(q), viewer=None)
    finally:
        monkeypatch.setattr(engine, "_rows", real)
    conn = await session.connection()
    plans = []
    for stmt, params in sent:
        compiled = engine._query(stmt).compiled(conn.dialect)
        rows = await conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + compiled.sql, tuple(compiled.arguments(params))
        )
        plans.append((compiled.sql, [str(row[3]) for row in rows]))
    return plans


async def every_shape(app: Any, group: Any, mentor: Any, word: str) -> list[str]:
    """A discussion and a reply that say `word`, and a query of every shape that finds
    them (words, a phrase, each operator)."""
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        opened = await start_discussion(
            s, author=author, group=g, title=f"{word} question", body=f"{word} first words"
        )
        await reply(s, author=author, discussion=opened.discussion, body=f"{word} in a reply")
        await s.commit()
    return [
        word,
        f'"{word} first"',
        f"in:title {word}",
        f"order:latest {word}",
        f"#{group.slug}",
        f"#{group.slug} {word}",
        f"@{mentor.username} {word}",
        f"status:unanswered {word}",
        f"after:2020-01-01 {word}",
    ]


async def test_a_search_reads_every_row_by_key(app, session, group, mentor, monkeypatch):
    if engine.is_postgres(session):
        pytest.skip("SQLite's plans (PostgreSQL's depend on its statistics)")
    for q in await every_shape(app, group, mentor, "planqz"):
        plans = await _plans(session, q, monkeypatch)
        assert plans, q
        for sql, lines in plans:
            for line in lines:
                # no table read end to end
                assert not any(line.startswith(f"SCAN {t}") for t in TABLES), (q, line, sql)
            if "bm25(" in sql and "library_pages" not in sql:
                # a window of posts: the newest matches, in the full-text index's order
                # (the library's few pages are ranked among themselves)
                assert "ORDER BY" in sql and not any("TEMP B-TREE" in x for x in lines), (q, lines)
                assert any("VIRTUAL TABLE INDEX" in x for x in lines), (q, lines)
