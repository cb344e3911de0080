"""Keeping the index current: one row per document, written in the writer's transaction.

Changes of text touch the index (a new post, an edit, a discussion's new title), and so
does a move (each post's row keeps its discussion's group, for `#group` searches); who may
see a document is decided when searching, over facts the database copies to each row by
triggers (migration s3speed), so hiding, restoring, approving and deleting need no index
write here; erasing a deleted account's text does. Library pages are the second source
(app/search/library.py: imports, publishing and unpublishing rewrite their rows).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.rows import Step, Write, execute_write
from app.db import insert_for_dialect, table_of, utcnow
from app.discussions.models import Discussion, Post
from app.search.models import SearchDocument
from app.search.text import clean, html_to_text

POST = "post"
DOCUMENTS = table_of(SearchDocument)


def post_document(
    *,
    post_id: int,
    discussion_id: int,
    title: str | None,
    body_html: str,
    created_at: datetime,
    group_id: int | None = None,
) -> dict[str, Any]:
    """A post's index row: a discussion's title lives on its opening post's row, and its
    group on every row (for `#group` searches)."""
    return {
        "source": POST,
        "source_id": post_id,
        "discussion_id": discussion_id,
        "group_id": group_id,
        "title": clean(title or ""),
        "body": html_to_text(body_html),
        "created_at": created_at,
    }


_DOCUMENT_COLUMNS = (
    "source",
    "source_id",
    "discussion_id",
    "group_id",
    "title",
    "body",
    "created_at",
)


@functools.cache
def _put_document(dialect: str) -> Write:
    """The upsert of one document, built once per dialect (every post written runs it)."""
    stmt = insert_for_dialect(dialect, DOCUMENTS).values(
        {name: bindparam(name, type_=DOCUMENTS.c[name].type) for name in _DOCUMENT_COLUMNS}
    )
    return Write(
        stmt.on_conflict_do_update(
            index_elements=[DOCUMENTS.c.source, DOCUMENTS.c.source_id],
            set_={
                "title": stmt.excluded.title,
                "body": stmt.excluded.body,
                "group_id": stmt.excluded.group_id,
            },
        )
    )


def put_document_step(dialect: str, row: dict[str, Any]) -> Step:
    """The upsert of one document, as a step of a write script (`core.rows.run_writes`)."""
    params = {"discussion_id": None, "group_id": None, "title": "", "body": ""} | row
    params.setdefault("created_at", utcnow())
    return Step(_put_document(dialect), params)


async def put_document(session: AsyncSession, row: dict[str, Any]) -> None:
    """Insert or replace one document (the engines' indexes follow in the same statement:
    the FTS5 triggers on SQLite, the stored generated tsvector on PostgreSQL)."""
    step = put_document_step(session.get_bind().dialect.name, row)
    await execute_write(session, step.write, **step.params)


async def index_post(session: AsyncSession, *, post: Post, discussion: Discussion) -> None:
    """Called where a post is written or its text (or its discussion's title) changes."""
    await put_document(
        session,
        post_document(
            post_id=post.id,
            discussion_id=discussion.id,
            title=discussion.title if post.is_opening else None,
            body_html=post.body_html,
            created_at=post.created_at,
            group_id=discussion.group_id,
        ),
    )


async def move_documents(session: AsyncSession, *, discussion_id: int, group_id: int) -> None:
    """A discussion moved to another group: its posts' documents follow, in the move's
    transaction (the group is the one visibility-neutral fact the index keeps)."""
    await session.execute(
        update(SearchDocument)
        .where(SearchDocument.discussion_id == discussion_id, SearchDocument.source == POST)
        .values(group_id=group_id)
    )


async def erase_author_documents(session: AsyncSession, *, author_id: int) -> None:
    """An account deleted with its posts: their text is erased, so is their documents' title
    and body (moderators find deleted posts in search, marked; an erased one says nothing)."""
    await session.execute(
        update(SearchDocument)
        .where(
            SearchDocument.source == POST,
            SearchDocument.source_id.in_(select(Post.id).where(Post.author_id == author_id)),
        )
        .values(title="", body="")
    )


async def drop_source(session: AsyncSession, source: str) -> None:
    await session.execute(delete(SearchDocument).where(SearchDocument.source == source))


async def post_rows(session: AsyncSession, *, batch: int = 2000) -> AsyncIterator[dict[str, Any]]:
    """Every post's index row, for a rebuild (`kindred search reindex`)."""
    last = 0
    while True:
        rows = (
            await session.execute(
                select(
                    Post.id,
                    Post.discussion_id,
                    Post.is_opening,
                    Post.body_html,
                    Post.created_at,
                    Discussion.title,
                    Discussion.group_id,
                )
                .join(Discussion, Discussion.id == Post.discussion_id)
                .where(Post.id > last)
                .order_by(Post.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield post_document(
                post_id=row.id,
                discussion_id=row.discussion_id,
                title=row.title if row.is_opening else None,
                body_html=row.body_html,
                created_at=row.created_at,
                group_id=row.group_id,
            )
        last = rows[-1].id


async def rebuild(session: AsyncSession, *, progress: Any = None, batch: int = 2000) -> int:
    """Rebuild the post documents from the posts table; returns how many were written.
    (`kindred search reindex` then rewrites the library's: `app.library.service
    .index_for_search`.)"""
    await drop_source(session, POST)
    count = 0
    chunk: list[dict[str, Any]] = []
    async for row in post_rows(session, batch=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            await session.execute(DOCUMENTS.insert(), chunk)
            count += len(chunk)
            if progress is not None:
                progress(len(chunk))
            chunk = []
    if chunk:
        await session.execute(DOCUMENTS.insert(), chunk)
        count += len(chunk)
        if progress is not None:
            progress(len(chunk))
    await merge_segments(session)
    return count


MERGE_SEGMENTS = (
    "INSERT INTO search_fts(search_fts) VALUES ('optimize')",
    "INSERT INTO search_fts_titles(search_fts_titles) VALUES ('optimize')",
    "INSERT INTO search_fts_recent(search_fts_recent) VALUES ('optimize')",
)


async def merge_segments(session: AsyncSession) -> None:
    """SQLite: merge each full-text index into one segment. FTS5 seeks a word in every
    segment of its index, and a page's snippets seek each of its rows: 9 segments made
    them 4 ms a page, 0.7 ms merged (migration s5window). PostgreSQL: nothing to do."""
    if session.get_bind().dialect.name == "sqlite":
        for statement in MERGE_SEGMENTS:
            await session.execute(text(statement))
