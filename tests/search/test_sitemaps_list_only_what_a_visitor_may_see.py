"""Sitemaps: `/sitemap.xml` is a sitemap index of well-formed sitemaps (the protocol's
namespace, absolute addresses, W3C dates) listing the home page, the library, public
groups, their published discussions and published library pages, and nothing a visitor may
not see: no members-only group or discussion, no held or deleted discussion. Discussion
sitemaps are paged by key. robots.txt points at the index and keeps robots out of members'
and moderators' pages and the API."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest

from app.search import sitemaps
from tests.access.test_members_only_groups_are_invisible_to_visitors import (
    LEAK,
    _members_only_world,
)
from tests.access.test_no_route_shows_what_its_viewer_may_not_see import (
    LIBRARY_SLUG,
    import_library_page,
)

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
W3C_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))?$")


def _parse(response: Any, root: str, base: str) -> list[str]:
    """A well-formed sitemap (or index) of the protocol: its addresses."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    tree = ET.fromstring(response.content)
    assert tree.tag == f"{NS}{root}"
    child = "sitemap" if root == "sitemapindex" else "url"
    locs = []
    for item in tree:
        assert item.tag == f"{NS}{child}"
        tags = [e.tag for e in item]
        assert tags[0] == f"{NS}loc" and set(tags) <= {f"{NS}loc", f"{NS}lastmod"}
        loc = item.find(f"{NS}loc")
        assert loc is not None and loc.text is not None and loc.text.startswith(base + "/")
        lastmod = item.find(f"{NS}lastmod")
        if lastmod is not None:
            assert lastmod.text is not None and W3C_DATE.match(lastmod.text), lastmod.text
        locs.append(loc.text)
    assert len(locs) <= 50_000 and len(response.content) <= 50 * 1024 * 1024
    return locs


async def _everything_listed(client: Any, base: str) -> tuple[list[str], list[str]]:
    index = _parse(await client.get("/sitemap.xml"), "sitemapindex", base)
    listed = []
    for sitemap in index:
        parts = urlsplit(sitemap)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        listed += _parse(await client.get(path), "urlset", base)
    return index, listed


async def test_the_sitemaps_list_public_things_only(app, make_user, make_client, settings):
    world = await _members_only_world(app, make_user, make_client)
    await import_library_page(app, "open-square")
    author = await make_client(world["author"])
    gone = (
        await author.api(
            "POST",
            "/api/v1/groups/open-square/discussions",
            json={"title": "Soon deleted", "body": "Soon deleted"},
        )
    ).json()
    opening = (await author.get(f"/api/v1/discussions/{gone['id']}")).json()["posts"][0]
    assert (await author.api("DELETE", f"/api/v1/posts/{opening['id']}")).status_code == 204
    base = settings.base_url.rstrip("/")

    for client in (await make_client(), await make_client(await make_user("site_member"))):
        index, listed = await _everything_listed(client, base)
        assert index[0] == f"{base}/sitemaps/site.xml"
        assert f"{base}/groups/open-square" in listed
        assert base + world["public_discussion"]["url"] in listed
        assert f"{base}/library/{LIBRARY_SLUG}" in listed
        # the same for everybody: sitemaps are for robots, who are visitors
        assert not [u for u in listed if "private-circle" in u or LEAK in u]
        assert base + world["discussion"]["url"] not in listed
        assert not [u for u in listed if f"/discussions/{gone['id']}/" in u]
        assert len(listed) == len(set(listed))


async def test_discussion_sitemaps_are_paged_by_key(
    app, make_user, make_client, settings, monkeypatch: pytest.MonkeyPatch
):
    world = await _members_only_world(app, make_user, make_client)
    author = await make_client(world["author"])
    urls = [world["public_discussion"]["url"]]
    for n in range(4):
        r = await author.api(
            "POST",
            "/api/v1/groups/open-square/discussions",
            json={"title": f"Public {n}", "body": "Hello"},
        )
        urls.append(r.json()["url"])
    base = settings.base_url.rstrip("/")
    monkeypatch.setattr(sitemaps, "PER_SITEMAP", 2)
    index, listed = await _everything_listed(await make_client(), base)
    pages = [u for u in index if "/sitemaps/discussions.xml" in u]
    assert len(pages) == 3  # 5 public discussions, 2 a sitemap
    assert all(re.search(r"\?start=\d+$", u) for u in pages)
    assert [u for u in listed if "/discussions/" in u] == [base + u for u in urls]
    r = await (await make_client()).get("/sitemaps/discussions.xml?start=abc")
    assert r.status_code == 422


async def test_robots_txt_points_at_the_sitemap_and_keeps_out_of_private_areas(
    make_client, settings
):
    r = await (await make_client()).get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert lines[0] == "User-agent: *"
    for private in ("/settings", "/mod", "/moderation", "/admin", "/api/"):
        assert f"Disallow: {private}" in lines
    assert f"Sitemap: {settings.base_url.rstrip('/')}/sitemap.xml" in lines
