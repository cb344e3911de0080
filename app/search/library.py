"""Library pages as the index's second source: one document per published condition page.

The library hands over its pages' searchable text (`app.library.service.searchable_pages`,
published pages only); here that text becomes an index row: the page's title as the title,
and its "also called" names, summary and sections (rendered, as readers see them) as the
body. Imports, publishing and unpublishing call `app.library.service.index_for_search`
in their own transaction, so an unpublished page has no document and cannot be found; the
search still joins each page and asks the access layer (`visible_library_pages`) as a
second guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.markdown import render_markdown
from app.library.models import LibraryPage
from app.search.index import put_document
from app.search.models import SearchDocument
from app.search.text import clean, html_to_text

LIBRARY = "library"


class Searchable(Protocol):
    """What the library hands over of a page (`app.library.service.SearchableDocument`)."""

    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def also_called(self) -> tuple[str, ...]: ...
    @property
    def summary(self) -> str: ...
    @property
    def text(self) -> str: ...


def library_document(page_id: int, doc: Searchable, created_at: Any) -> dict[str, Any]:
    also = "; ".join(doc.also_called)
    parts = [f"Also called: {also}." if also else "", doc.summary, doc.text]
    body = " ".join(html_to_text(render_markdown(p)) for p in parts if p.strip())
    return {
        "source": LIBRARY,
        "source_id": page_id,
        "discussion_id": None,
        "title": clean(doc.title),
        "body": body,
        "created_at": created_at,
    }


async def write_library_documents(
    session: AsyncSession, *, published: Sequence[Searchable], slugs: list[str] | None = None
) -> int:
    """Bring the documents of these pages (all pages when `slugs` is None) in line with
    the library: a document for each page in `published`, none for the others. Returns how
    many were written."""
    query = select(LibraryPage.id, LibraryPage.slug, LibraryPage.imported_at)
    if slugs is not None:
        query = query.where(LibraryPage.slug.in_(sorted(set(slugs))))
    pages = {row.slug: row for row in (await session.execute(query)).all()}
    if not pages and slugs is not None:
        return 0
    shown = {pages[doc.slug].id for doc in published if doc.slug in pages}
    stale = delete(SearchDocument).where(
        SearchDocument.source == LIBRARY, SearchDocument.source_id.not_in(shown or [0])
    )
    if slugs is not None:
        stale = stale.where(SearchDocument.source_id.in_([p.id for p in pages.values()]))
    await session.execute(stale)
    written = 0
    for doc in published:
        row = pages.get(doc.slug)
        if row is not None:
            await put_document(session, library_document(row.id, doc, row.imported_at))
            written += 1
    return written


__all__ = ["LIBRARY", "Searchable", "library_document", "write_library_documents"]
