"""A visitor's search (the page and the API) is kept like any visitor's page: asked again, it
comes from memory; any write that changes what visitors see is in the next answer at once;
a member's search is never kept and is still counted in the private search log; a flood of
distinct searches stays within the bounds and leaves the pages people read in place."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import func, select

from app.main import create_app
from app.search.models import SearchTermDay
from tests.cache.conftest import Thread, cached, fresh
from tests.conftest import TestDatabase, settings_for_tests

PAGE = "/search?q=neutrophil"
API = "/api/v1/search?q=neutrophil"


async def test_a_visitors_search_is_kept_and_a_new_reply_is_found_at_once(
    visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    for url in (PAGE, API, f"{API}&type=posts&group={thread.group_slug}"):
        assert "Neutrophil rebound" not in await cached(visitor, url)
    me = await make_client(member)
    r = await me.api(
        "POST",
        f"/api/v1/discussions/{thread.id}/posts",
        json={"body": "Neutrophil rebound came on day 12"},
    )
    assert r.status_code == 201, r.text
    for url in (PAGE, API, f"{API}&type=posts&group={thread.group_slug}"):
        assert "rebound" in await fresh(visitor, url), url


async def test_a_hidden_post_leaves_the_kept_search_at_once(
    visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    reply = await thread.author.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Doubtful granulocyte tip"}
    )
    post_id = reply.json()["id"]
    url = "/api/v1/search?q=granulocyte"
    assert "Doubtful" in await cached(visitor, url)
    mod = await make_client(moderator)
    hide = await mod.api("POST", f"/api/v1/mod/posts/{post_id}/hide", json={})
    assert hide.status_code == 204
    answer = await fresh(visitor, url)
    assert "Doubtful" not in answer and '"total":0' in answer.replace(" ", "")
    assert "Doubtful" not in await cached(visitor, "/search?q=granulocyte&type=posts")


async def test_a_members_search_is_never_kept_and_still_counted(
    app: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    me = await make_client(member)
    for _ in range(3):
        for url in (PAGE, API):
            r = await me.get(url)
            assert r.status_code == 200
            assert r.headers.get("x-cache") != "hit"
            assert "no-store" in r.headers["cache-control"]
    async with app.state.db.sessionmaker() as s:
        counted = await s.scalar(
            select(func.sum(SearchTermDay.searches)).where(SearchTermDay.terms == "neutrophil")
        )
    assert counted == 6


async def test_a_visitors_search_is_not_counted(app: Any, visitor: Any, thread: Thread) -> None:
    await cached(visitor, API)
    async with app.state.db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(SearchTermDay)) == 0


async def test_a_flood_of_distinct_searches_stays_within_bounds(
    tmp_path: Any, database_url: str, sessionmaker: Any, thread: Thread
) -> None:
    settings = settings_for_tests(
        tmp_path, database_url, page_cache_entries=10, page_cache_bytes=2_000_000
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    app = create_app(settings, database=db)  # type: ignore[arg-type]
    store = app.state.page_cache.store
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for _ in range(3):  # the page people keep reading
            await c.get(thread.url)
        for n in range(40):
            words = f"{secrets.token_hex(3)} {n}"
            for url in (f"/search?q={words}", f"/api/v1/search?q={words}&type=posts"):
                r = await c.get(url)
                assert r.status_code == 200 and r.headers["x-cache"] == "miss"
                assert len(store) <= 10 and store.size <= 2_000_000
            # a parameter no search reads is not a search of its own: past the cache
            r = await c.get(f"/api/v1/search?q=neutrophil&junk={n}")
            assert r.status_code == 200 and r.headers["x-cache"] == "miss"
        assert len(store) == 10
        assert (await c.get(thread.url)).headers["x-cache"] == "hit"
