"""Atom feeds: the latest discussions site-wide and per group, and a discussion's replies.

Only what a visitor may see goes in (visible, not deleted, in a visible discussion), whoever
asks: feed readers share feeds. Entry content is the post's sanitized HTML."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from app.access.fetch import access_group
from app.access.permissions import Action, check_permission
from app.access.visibility import can_see_group, visible_discussions, visible_posts
from app.accounts.deps import Auth, AuthDep, plain_page
from app.accounts.models import Role, User
from app.core.errors import NotFound
from app.core.templating import MENTOR_FOOTER
from app.core.validation import whole_number
from app.db import SessionDep, utcnow
from app.discussions.models import Discussion, Post
from app.groups.models import Group

router = APIRouter(include_in_schema=False)
PLAIN_ROUTES: list[BaseRoute] = []

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 30
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def atom(
    *,
    base: str,
    feed_id: str,
    title: str,
    page_url: str,
    self_url: str,
    entries: list[dict[str, Any]],
) -> Response:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", base + feed_id)
    _text(feed, "title", title)
    updated = max((e["updated"] for e in entries), default=utcnow())
    _text(feed, "updated", _stamp(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": base + page_url})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": base + self_url})
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", base + e["id"])
        _text(entry, "title", e["title"])
        _text(entry, "updated", _stamp(e["updated"]))
        _text(entry, "published", _stamp(e["published"]))
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", e["author"])
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": base + e["url"]})
        _text(entry, "content", e["html"], type="html")
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n' + body,
        media_type=ATOM_TYPE,
        headers={"cache-control": "public, max-age=300"},
    )


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


_MENTOR_NOTE = f'<p class="mentor-note">{escape(MENTOR_FOOTER)}</p>'


def _with_footer(body_html: str, role: str) -> str:
    """A volunteer mentor's post carries its footer in a feed as on the page."""
    return body_html + _MENTOR_NOTE if role == Role.mentor.value else body_html


async def _discussion_entries(
    session: AsyncSession, *, group_id: int | None
) -> list[dict[str, Any]]:
    stmt = (
        select(
            Discussion.id,
            Discussion.title,
            Discussion.slug,
            Discussion.created_at,
            Post.body_html,
            Post.edited_at,
            User.username,
            User.role,
        )
        .join(Post, (Post.discussion_id == Discussion.id) & Post.is_opening.is_(True))
        .join(User, User.id == Discussion.author_id)
        .where(visible_posts(None))  # what a visitor may read
        .order_by(Discussion.created_at.desc(), Discussion.id.desc())
        .limit(ENTRIES)
    )
    if group_id is not None:
        stmt = stmt.where(Discussion.group_id == group_id)
    return [
        {
            "id": f"/discussions/{r.id}",
            "title": r.title,
            "url": f"/discussions/{r.id}/{r.slug}",
            "published": r.created_at,
            "updated": r.edited_at or r.created_at,
            "author": r.username,
            "html": _with_footer(r.body_html, r.role),
        }
        for r in (await session.execute(stmt)).all()
    ]


@router.get("/feeds/latest.atom")
async def latest_feed(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(None, Action.read)
    site = request.app.state.settings.site_name
    return atom(
        base=_base(request),
        feed_id="/feeds/latest.atom",
        title=f"{site}: latest discussions",
        page_url="/",
        self_url="/feeds/latest.atom",
        entries=await _discussion_entries(session, group_id=None),
    )


@router.get("/groups/{slug}/feed.atom")
async def group_feed(request: Request, slug: str, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(None, Action.read)
    group: Group = await access_group(session, slug)
    if not can_see_group(None, group.visibility):  # feeds are read by anyone: public only
        raise NotFound("There is no group at this address.")
    return atom(
        base=_base(request),
        feed_id=f"/groups/{group.slug}/feed.atom",
        title=f"{group.name}: latest discussions",
        page_url=f"/groups/{group.slug}",
        self_url=f"/groups/{group.slug}/feed.atom",
        entries=await _discussion_entries(session, group_id=group.id),
    )


@plain_page(PLAIN_ROUTES, "/discussions/{discussion_id}/feed.atom")
async def discussion_feed(request: Request, session: AsyncSession, auth: Auth) -> Response:
    """A plain route: it must come before the discussion page's /discussions/{id}/{slug}."""
    check_permission(None, Action.read)
    discussion_id = whole_number(request.path_params["discussion_id"], "discussion_id")
    discussion = await session.scalar(
        select(Discussion).where(Discussion.id == discussion_id, visible_discussions())
    )
    if discussion is None:
        raise NotFound("There is no discussion at this address.")
    rows = (
        await session.execute(
            select(
                Post.id, Post.body_html, Post.created_at, Post.edited_at, User.username, User.role
            )
            .join(User, User.id == Post.author_id)
            .join(Discussion, Discussion.id == Post.discussion_id)
            .where(
                Post.discussion_id == discussion.id,
                Post.is_opening.is_(False),
                visible_posts(None),  # what a visitor may read
            )
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(ENTRIES)
        )
    ).all()
    url = f"/discussions/{discussion.id}/{discussion.slug}"
    return atom(
        base=_base(request),
        feed_id=f"/discussions/{discussion.id}/feed.atom",
        title=f"Replies to: {discussion.title}",
        page_url=url,
        self_url=f"/discussions/{discussion.id}/feed.atom",
        entries=[
            {
                "id": f"/posts/{r.id}",
                "title": f"{r.username} replied to {discussion.title}",
                "url": f"/posts/{r.id}",
                "published": r.created_at,
                "updated": r.edited_at or r.created_at,
                "author": r.username,
                "html": _with_footer(r.body_html, r.role),
            }
            for r in rows
        ],
    )
