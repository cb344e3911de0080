"""What both databases' newest-documents structures must do, each read by its own
`recent(session, word)` (SQLite: the FTS5 index `search_fts_recent`; PostgreSQL: the table
`search_recent`): hold each new document's words, follow an edit and a deletion, and every
64th document take out those `kept` ids older than itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, insert, update

from app.search.models import SearchDocument as Doc

Recent = Callable[[Any, str], Awaitable[list[int]]]


async def put(session: Any, ident: int, body: str) -> None:
    await session.execute(
        insert(Doc).values(id=ident, source="library", source_id=ident, title="", body=body)
    )


async def edits_and_deletions_follow(session: Any, recent: Recent, base: int) -> None:
    await put(session, base, "recentqz first")
    await put(session, base + 1, "recentqz second")
    assert await recent(session, "recentqz") == [base, base + 1]
    # an edit is searched by its new words, no longer by its old ones
    await session.execute(update(Doc).where(Doc.id == base + 1).values(body="editedqz"))
    assert await recent(session, "recentqz") == [base]
    assert await recent(session, "editedqz") == [base + 1]
    await session.execute(delete(Doc).where(Doc.id == base + 1))
    assert await recent(session, "editedqz") == []


async def older_ones_leave(session: Any, recent: Recent, base: int, kept: int) -> tuple[int, int]:
    """Every 64th document takes out those `kept` ids older than itself: the structure
    holds at least the newest `kept`, and a few more. Returns the two documents put."""
    newer = base + kept + 1
    assert newer % 64 != 0
    await put(session, newer, "recentqz newer")
    assert await recent(session, "recentqz") == [base, newer]
    newest = newer + 64 - newer % 64
    await put(session, newest, "recentqz newest")
    assert await recent(session, "recentqz") == [newer, newest]
    return newer, newest
