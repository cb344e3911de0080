"""A visitor's page is rendered once and then served from the process's memory: X-Cache
says which, every page family of `app/cache/pages.py` is kept, a hit runs no SQL, and the
address is normalized (parameters no page reads share the canonical entry)."""

from __future__ import annotations

from typing import Any

from tests.cache.conftest import Thread, cached


async def test_second_read_is_a_hit_with_the_same_bytes(visitor: Any, thread: Thread) -> None:
    first = await visitor.get(thread.url)
    assert first.status_code == 200 and first.headers["x-cache"] == "miss"
    second = await visitor.get(thread.url)
    assert second.headers["x-cache"] == "hit"
    assert second.content == first.content
    for name in ("content-type", "content-security-policy", "etag", "vary", "cache-control"):
        assert second.headers[name] == first.headers[name], name
    assert "set-cookie" not in first.headers and "set-cookie" not in second.headers


async def test_a_hit_runs_no_sql(visitor: Any, thread: Thread, count_queries: Any) -> None:
    await visitor.get(thread.url)
    with count_queries() as statements:
        r = await visitor.get(thread.url)
    assert r.headers["x-cache"] == "hit" and statements == []


async def test_head_is_answered_from_the_entry(visitor: Any, thread: Thread) -> None:
    got = await cached(visitor, thread.url)
    head = await visitor.head(thread.url, headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b"" and head.headers["x-cache"] == "hit"
    assert int(head.headers["content-length"]) == len(got.encode())


async def test_every_page_family_is_kept(visitor: Any, thread: Thread, library: str) -> None:
    author = thread.author.user.username
    for url in (
        "/",
        "/?tab=unanswered",
        "/groups",
        f"/groups/{thread.group_slug}",
        thread.url,
        "/library",
        f"/library/{library}",
        f"/users/{author}",
        "/feeds/latest.atom",
        f"/groups/{thread.group_slug}/feed.atom",
        f"/discussions/{thread.id}/feed.atom",
    ):
        await cached(visitor, url)


async def test_tracking_parameters_share_the_canonical_entry_and_others_pass_by(
    app: Any, visitor: Any, thread: Thread, library: str
) -> None:
    store = app.state.page_cache.store
    await cached(visitor, thread.url)
    entries = len(store)
    r = await visitor.get(thread.url + "?utm_source=newsletter&fbclid=abc")
    assert r.headers["x-cache"] == "hit"
    # a parameter no page is known to key on goes to the app, and nothing is kept
    for _ in range(2):
        r = await visitor.get(thread.url + "?x=1")
        assert r.status_code == 200 and r.headers["x-cache"] == "miss"
    # ... which is what keeps a page that reads one from being answered without it
    await cached(visitor, f"/library/{library}")
    entries += 1
    r = await visitor.get(f"/library/{library}?age=14&age_unit=months&country=US")
    assert r.headers["x-cache"] == "miss" and "How the trials" in r.text
    # a parameter the page does not read never makes an entry of its own, even on a miss
    r = await visitor.get(f"/groups/{thread.group_slug}?utm_source=newsletter")
    assert r.status_code == 200 and r.headers["x-cache"] == "miss"
    r = await visitor.get(f"/groups/{thread.group_slug}?utm_source=newsletter")
    assert r.headers["x-cache"] == "miss"
    # a parameter another page reads is not this page's either
    r = await visitor.get("/groups?page=2")
    r = await visitor.get("/groups?page=2")
    assert r.headers["x-cache"] == "miss"
    assert len(store) == entries
    # the parameters a page does read are part of its key
    await cached(visitor, thread.url + "?page=1")
    assert len(store) == entries + 1


async def test_members_pages_are_rendered_for_them_and_not_kept(
    app: Any, make_client: Any, member: Any, thread: Thread
) -> None:
    me = await make_client(member)
    for _ in range(2):
        r = await me.get(thread.url)
        assert r.headers["x-cache"] == "miss" and r.headers["cache-control"] == "no-store"
        assert member.username in r.text
    assert len(app.state.page_cache.store) == 0


async def test_the_cache_can_be_turned_off(
    tmp_path: Any, database_url: str, sessionmaker: Any, thread: Thread
) -> None:
    import httpx

    from app.main import create_app
    from tests.conftest import TestDatabase, settings_for_tests

    off = create_app(
        settings_for_tests(tmp_path, database_url, page_cache_entries=0),
        database=TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite")),  # type: ignore[arg-type]
    )
    transport = httpx.ASGITransport(app=off)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for _ in range(2):
            r = await c.get(thread.url)
            assert r.status_code == 200 and "x-cache" not in r.headers
