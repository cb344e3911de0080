"""ETag and Last-Modified on visitors' pages (kept or not) and members' pages, with 304
Not Modified for If-None-Match and If-Modified-Since; a write makes the old validators
fail."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from typing import Any

from tests.cache.conftest import Thread, cached


async def test_etag_gives_304_from_the_cache_and_after_a_write_a_new_page(
    visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    await cached(visitor, thread.url)
    page = await visitor.get(thread.url)
    etag = page.headers["etag"]
    r = await visitor.get(thread.url, headers={"if-none-match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["x-cache"] == "hit"
    assert r.headers["etag"] == etag and "content-length" not in r.headers
    r = await visitor.get(thread.url, headers={"if-none-match": f'"other", W/{etag}'})
    assert r.status_code == 304
    r = await visitor.get(thread.url, headers={"if-none-match": '"other"'})
    assert r.status_code == 200
    me = await make_client(member)
    await me.api("POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "New news"})
    r = await visitor.get(thread.url, headers={"if-none-match": etag})
    assert r.status_code == 200 and "New news" in r.text and r.headers["etag"] != etag


async def test_last_modified_gives_304_until_a_write(
    visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    # Last-Modified is exact to the second: it is sent once the second of the last
    # change has passed
    await asyncio.sleep(max(0.0, 1.05 - (time.time() % 1)))
    page = await visitor.get(thread.url)
    if "last-modified" not in page.headers:
        await asyncio.sleep(1.05)
        page = await visitor.get(thread.url)
    since = page.headers["last-modified"]
    r = await visitor.get(thread.url, headers={"if-modified-since": since})
    assert r.status_code == 304
    earlier = formatdate(time.time() - 3600, usegmt=True)
    r = await visitor.get(thread.url, headers={"if-modified-since": earlier})
    assert r.status_code == 200
    me = await make_client(member)
    await me.api("POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Later news"})
    r = await visitor.get(thread.url, headers={"if-modified-since": since})
    assert r.status_code == 200 and "Later news" in r.text


async def test_members_pages_have_an_etag_and_304_but_no_last_modified(
    make_client: Any, member: Any, thread: Thread
) -> None:
    me = await make_client(member)
    page = await me.get(thread.url)
    assert page.headers["cache-control"] == "no-store" and "last-modified" not in page.headers
    r = await me.get(thread.url, headers={"if-none-match": page.headers["etag"]})
    assert r.status_code in (200, 304)  # the page's relative times may have moved on
    if r.status_code == 200:
        assert r.headers["etag"] != page.headers["etag"]
    r = await me.get(
        thread.url, headers={"if-modified-since": formatdate(time.time() + 60, usegmt=True)}
    )
    assert r.status_code == 200
