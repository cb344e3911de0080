"""Sitemaps and robots.txt: what search engines are invited to read.

Only what a visitor may see is listed, through the access layer's `visible_*` rules (public
groups, their published discussions, published library pages), whoever asks: a members-only
group and its discussions never appear. `/sitemap.xml` is a sitemap index: one sitemap of
the site's pages (home, library, groups, library pages) and as many discussion sitemaps as
needed, each at most `PER_SITEMAP` addresses (the protocol's limit is 50,000), paged by key
(`?start=<first discussion id>`), so any page is one index range scan however big the forum.
"""

from __future__ import annotations

from datetime import date, datetime
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.access.visibility import visible_discussions, visible_groups, visible_library_pages
from app.accounts.deps import AuthDep
from app.core.urls import discussion_url
from app.core.validation import whole_number
from app.db import SessionDep
from app.discussions.models import Discussion
from app.groups.models import Group
from app.library.models import LibraryPage

router = APIRouter(include_in_schema=False)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PER_SITEMAP = 50_000
XML_TYPE = "application/xml; charset=utf-8"
CACHE = {"cache-control": "public, max-age=3600"}
# what robots may not crawl: members' own pages, moderation and administration, the API
PRIVATE_PREFIXES = ("/settings", "/notifications", "/mod", "/moderation", "/admin", "/api/")


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


def _lastmod(when: datetime | date | None) -> str | None:
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.isoformat(timespec="seconds").replace("+00:00", "Z")
    return when.isoformat()


def _xml(root: str, child: str, entries: list[tuple[str, str | None]]) -> Response:
    ET.register_namespace("", SITEMAP_NS)
    top = ET.Element(f"{{{SITEMAP_NS}}}{root}")
    for loc, lastmod in entries:
        item = ET.SubElement(top, f"{{{SITEMAP_NS}}}{child}")
        ET.SubElement(item, f"{{{SITEMAP_NS}}}loc").text = loc
        if lastmod is not None:
            ET.SubElement(item, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
    body = ET.tostring(top, encoding="unicode")
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + body, media_type=XML_TYPE, headers=CACHE
    )


async def discussion_sitemap_starts(session: AsyncSession, per: int) -> list[int]:
    """The first discussion id of each discussion sitemap: every `per`-th visible id."""
    numbered = (
        select(
            Discussion.id.label("id"),
            func.row_number().over(order_by=Discussion.id).label("n"),
        )
        .where(visible_discussions(None))
        .subquery()
    )
    rows = await session.scalars(
        select(numbered.c.id).where((numbered.c.n - 1) % per == 0).order_by(numbered.c.id)
    )
    return list(rows.all())


@router.get("/sitemap.xml")
async def sitemap_index(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(None, Action.read)
    base = _base(request)
    entries: list[tuple[str, str | None]] = [(f"{base}/sitemaps/site.xml", None)]
    for start in await discussion_sitemap_starts(session, PER_SITEMAP):
        entries.append((f"{base}/sitemaps/discussions.xml?start={start}", None))
    return _xml("sitemapindex", "sitemap", entries)


@router.get("/sitemaps/site.xml")
async def site_sitemap(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    """Home, the library, the public groups and the published library pages."""
    check_permission(None, Action.read)
    base = _base(request)
    entries: list[tuple[str, str | None]] = [(f"{base}/", None), (f"{base}/library", None)]
    groups = await session.execute(
        select(Group.slug, Group.last_activity_at, Group.created_at)
        .where(visible_groups(None))
        .order_by(Group.id)
    )
    for slug, active, created in groups.all():
        entries.append((f"{base}/groups/{slug}", _lastmod(active or created)))
    pages = await session.execute(
        select(LibraryPage.slug, LibraryPage.reviewed_on, LibraryPage.published_on)
        .where(visible_library_pages())
        .order_by(LibraryPage.id)
    )
    for slug, reviewed, published in pages.all():
        entries.append((f"{base}/library/{slug}", _lastmod(reviewed or published)))
    return _xml("urlset", "url", entries)


@router.get("/sitemaps/discussions.xml")
async def discussions_sitemap(
    request: Request, session: SessionDep, auth: AuthDep, start: str | None = None
) -> Response:
    """The published discussions of public groups from id `start` on, at most
    `PER_SITEMAP` of them (the index links one sitemap per range)."""
    check_permission(None, Action.read)
    first = whole_number(start, "start", default=1)
    base = _base(request)
    rows = await session.execute(
        select(Discussion.id, Discussion.slug, Discussion.last_activity_at)
        .where(visible_discussions(None), Discussion.id >= first)
        .order_by(Discussion.id)
        .limit(PER_SITEMAP)
    )
    return _xml(
        "urlset",
        "url",
        [(base + discussion_url(i, slug), _lastmod(active)) for i, slug, active in rows.all()],
    )


@router.get("/robots.txt")
async def robots(request: Request, auth: AuthDep) -> Response:
    check_permission(None, Action.read)
    lines = ["User-agent: *", *(f"Disallow: {p}" for p in PRIVATE_PREFIXES)]
    lines += ["", f"Sitemap: {_base(request)}/sitemap.xml", ""]
    return PlainTextResponse("\n".join(lines), headers=CACHE)
