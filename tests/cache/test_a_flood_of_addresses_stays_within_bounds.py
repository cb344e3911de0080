"""A flood of distinct addresses (random query strings, unknown slugs, pages that exist
under many parameter values) cannot grow the cache past its bounds or push out the pages
people keep reading; unknown addresses (404) are never kept."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from app.cache.store import ENTRY_OVERHEAD, Entry, PageStore, Variant
from app.main import create_app
from tests.cache.conftest import Thread
from tests.conftest import TestDatabase, settings_for_tests


@pytest.fixture
def small_app(tmp_path: Any, database_url: str, sessionmaker: Any) -> Any:
    settings = settings_for_tests(
        tmp_path, database_url, page_cache_entries=10, page_cache_bytes=2_000_000
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    return create_app(settings, database=db)  # type: ignore[arg-type]


async def test_random_query_strings_and_unknown_slugs_add_nothing(
    small_app: Any, thread: Thread
) -> None:
    store = small_app.state.page_cache.store
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for _ in range(2):
            assert (await c.get(thread.url)).status_code == 200
        for n in range(60):
            junk = secrets.token_hex(6)
            await c.get(f"{thread.url}?{junk}={n}")
            await c.get(f"/groups/{thread.group_slug}?utm_{junk}=1")
            assert (await c.get(f"/groups/no-such-{junk}")).status_code == 404
            assert (await c.get(f"/discussions/{thread.id}/{junk}")).status_code == 301
            assert (await c.get(f"/users/nobody_{junk}")).status_code == 404
            assert (await c.get(f"/library/no-such-{junk}")).status_code == 404
        assert len(store) == 1
        assert (await c.get(thread.url)).headers["x-cache"] == "hit"


async def test_many_real_pages_stay_within_bounds_and_the_hot_page_stays(
    small_app: Any, thread: Thread
) -> None:
    store = small_app.state.page_cache.store
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for _ in range(3):  # read again and again: the hot page
            await c.get(thread.url)
        # the library's filter is a parameter the page reads, and any value is a page
        # (200): each is kept, once, and pushes out only others like it
        for n in range(60):
            r = await c.get(f"/library?q={secrets.token_hex(4)}{n}")
            assert r.status_code == 200 and r.headers["x-cache"] == "miss"
            assert len(store) <= 10 and store.size <= 2_000_000
        assert len(store) == 10
        r = await c.get(thread.url)
        assert r.headers["x-cache"] == "hit"


async def test_the_byte_bound_counts_compressed_bytes(
    tmp_path: Any, database_url: str, sessionmaker: Any, thread: Thread
) -> None:
    """What a page costs the bound is what is kept: its gzip body, its own header values
    (the others are shared by all entries) and the objects around them, a fraction of the
    page as rendered; so more pages fit than the bound divided by their size."""
    settings = settings_for_tests(
        tmp_path, database_url, page_cache_entries=1000, page_cache_bytes=100_000
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    app = create_app(settings, database=db)  # type: ignore[arg-type]
    store = app.state.page_cache.store
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        plain = gzipped = 0
        for n in range(40):
            r = await c.get(f"/library?q=word{n}", headers={"accept-encoding": "identity"})
            assert r.status_code == 200 and r.headers["x-cache"] == "miss"
            plain += len(r.content)
            r = await c.get(f"/library?q=word{n}", headers={"accept-encoding": "gzip"})
            assert r.headers["x-cache"] == "hit" and r.headers["content-encoding"] == "gzip"
            gzipped += int(r.headers["content-length"])
            assert store.size <= 100_000
        assert gzipped * 2 < plain  # the pages compress (a discussion page: five times)
        # more pages are kept than would fit if the bound counted rendered bytes
        assert len(store) > 100_000 / (plain / 40)
        kept = store.entries()
        own = sum(
            len(k) + len(v)
            for entry in kept
            for variant in (entry.gzip, entry.plain)
            for k, v in variant.hit_headers
            if k in (b"etag", b"content-length")
        )
        packed = sum(len(entry.body) for entry in kept)
        assert store.size == len(kept) * ENTRY_OVERHEAD + packed + own


def _entry(size: int) -> Entry:
    variant = Variant([], [], b'"e"')
    return Entry(200, variant, variant, b"x" * size, None, float("inf"), size)


def test_the_store_keeps_to_its_byte_bound_and_protects_pages_read_twice() -> None:
    store = PageStore(max_entries=100, max_bytes=10_000)
    store.put("/hot", _entry(1_000))
    assert store.get("/hot") is not None  # read twice: protected
    for n in range(500):
        store.put(f"/flood/{n}", _entry(900))
        assert store.size <= 10_000 and len(store) <= 100
    assert store.get("/hot") is not None
    # one page larger than a quarter of the bytes is never kept
    store.put("/huge", _entry(3_000))
    assert "/huge" not in store


def test_the_store_keeps_to_its_entry_bound() -> None:
    store = PageStore(max_entries=5, max_bytes=10_000_000)
    for n in range(50):
        store.put(f"/{n}", _entry(10))
    assert len(store) == 5 and store.size == 50
    store.clear()
    assert len(store) == 0 and store.size == 0
