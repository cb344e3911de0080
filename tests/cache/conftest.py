"""Fixtures for the page cache's tests: a visitor, a discussion to read, and reading a page
twice so that the second read is known to come from the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.library.conftest import library  # noqa: F401 (the demo library, a fixture)


@dataclass
class Thread:
    id: int
    url: str
    opening_id: int
    author: Any  # a signed-in Client
    group_slug: str


@pytest.fixture
async def visitor(make_client: Any) -> Any:
    return await make_client()


@pytest.fixture
async def thread(make_client: Any, make_user: Any, group: Any) -> Thread:
    author = await make_client(await make_user("thread_author"))
    r = await author.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Counts after chemo", "body": "What were your neutrophil counts?"},
    )
    assert r.status_code == 201, r.text
    d = r.json()
    posts = (await author.get(f"/api/v1/discussions/{d['id']}/posts")).json()
    opening = posts["items"][0] if isinstance(posts, dict) else posts[0]
    return Thread(d["id"], d["url"], opening["id"], author, group.slug)


async def cached(client: Any, url: str) -> str:
    """The page at `url` as a visitor sees it, read twice: the second read must be a hit
    (so a later read shows what the cache holds, unless something emptied it)."""
    first = await client.get(url)
    assert first.status_code == 200, (url, first.status_code)
    second = await client.get(url)
    assert second.headers.get("x-cache") == "hit", (url, second.headers.get("x-cache"))
    assert second.content == first.content
    return second.text


async def fresh(client: Any, url: str, status: int = 200) -> str:
    """The page at `url` read again after a write: rendered anew, not the kept copy."""
    r = await client.get(url)
    assert r.status_code == status, (url, r.status_code)
    assert r.headers.get("x-cache") != "hit", url
    return r.text
