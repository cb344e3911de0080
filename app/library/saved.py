"""Members' saved items: library pages and discussions, newest first.

Saving is idempotent (a unique constraint per member and item, INSERT ... ON CONFLICT DO
NOTHING), and only what the member may see can be saved (404 otherwise). The list reads
through the access layer: a discussion later held, hidden or deleted, or a page
unpublished, drops out of it (the row stays, and comes back if the item does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.fetch import access_discussion
from app.access.visibility import visible_discussions, visible_library_pages
from app.accounts.models import Actor
from app.core.errors import NotFound
from app.core.urls import discussion_url
from app.db import dialect_insert, table_of, utcnow
from app.discussions.models import Discussion
from app.groups.models import Group
from app.library.models import LibraryPage, SavedItem
from app.library.schemas import SavedKind
from app.library.service import access_page, page_url


@dataclass(slots=True)
class SavedView:
    id: int
    kind: str
    title: str
    url: str
    summary: str
    where: str  # "Health library" or the discussion's group
    saved_at: datetime


async def save_item(
    session: AsyncSession,
    *,
    user: Actor,
    kind: SavedKind,
    slug: str | None = None,
    discussion_id: int | None = None,
) -> int:
    """Save a page or a discussion for `user`; the saved item's id (the same id when it
    was saved before)."""
    values: dict[str, int | None | datetime] = {"user_id": user.id, "created_at": utcnow()}
    if kind == SavedKind.library_page:
        page = await access_page(session, slug or "", viewer=user)
        values.update(page_id=page.id, discussion_id=None)
        where = and_(SavedItem.user_id == user.id, SavedItem.page_id == page.id)
    else:
        discussion, _group = await access_discussion(session, discussion_id or 0, viewer=user)
        values.update(page_id=None, discussion_id=discussion.id)
        where = and_(SavedItem.user_id == user.id, SavedItem.discussion_id == discussion.id)
    await session.execute(
        dialect_insert(session, table_of(SavedItem)).values(**values).on_conflict_do_nothing()
    )
    saved_id = await session.scalar(select(SavedItem.id).where(where))
    assert saved_id is not None
    return int(saved_id)


async def list_saved(session: AsyncSession, *, user: Actor) -> list[SavedView]:
    rows = await session.execute(
        select(
            SavedItem.id,
            SavedItem.created_at,
            LibraryPage.slug,
            LibraryPage.title,
            LibraryPage.summary,
            Discussion.id,
            Discussion.title,
            Discussion.slug,
            Group.name,
        )
        .outerjoin(LibraryPage, LibraryPage.id == SavedItem.page_id)
        .outerjoin(Discussion, Discussion.id == SavedItem.discussion_id)
        .outerjoin(Group, Group.id == Discussion.group_id)
        .where(
            SavedItem.user_id == user.id,
            or_(
                and_(SavedItem.page_id.is_not(None), visible_library_pages()),
                and_(SavedItem.discussion_id.is_not(None), visible_discussions(user)),
            ),
        )
        .order_by(SavedItem.created_at.desc(), SavedItem.id.desc())
    )
    items = []
    for sid, at, p_slug, p_title, p_summary, d_id, d_title, d_slug, g_name in rows:
        if p_slug is not None:
            items.append(
                SavedView(
                    sid,
                    SavedKind.library_page,
                    p_title,
                    page_url(p_slug),
                    p_summary,
                    "Health library",
                    at,
                )
            )
        else:
            items.append(
                SavedView(
                    sid,
                    SavedKind.discussion,
                    d_title,
                    discussion_url(d_id, d_slug),
                    "",
                    g_name,
                    at,
                )
            )
    return items


async def saved_id_for(
    session: AsyncSession,
    *,
    user: Actor | None,
    page_id: int | None = None,
    discussion_id: int | None = None,
) -> int | None:
    """The member's saved item for this page or discussion, if any (for the Save button)."""
    if user is None:
        return None
    target = (
        SavedItem.page_id == page_id
        if page_id is not None
        else SavedItem.discussion_id == discussion_id
    )
    return await session.scalar(select(SavedItem.id).where(SavedItem.user_id == user.id, target))


async def remove_saved(session: AsyncSession, *, user: Actor, saved_id: int) -> None:
    result = await session.execute(
        delete(SavedItem).where(SavedItem.id == saved_id, SavedItem.user_id == user.id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("There is no saved item of yours with this id.")
