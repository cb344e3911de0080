"""Server-Sent Events on a real server: a reply posted by one member reaches another
member's open discussion page (post id, then its HTML from /posts/{id}/fragment), and the
unread count follows. Across server processes the events travel through Redis pub/sub or
PostgreSQL LISTEN/NOTIFY; process memory is only for a single SQLite process.

Every read has a deadline, so a broken stream fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.accounts.models import Role
from app.live.hub import (
    Hub,
    MemoryBackend,
    PostEvent,
    PostgresBackend,
    RedisBackend,
    UnreadEvent,
)
from tests.conftest import PG_URL
from tests.notifications.live_server import LiveSite, live_site_fixture  # noqa: F401

REDIS_URL = os.environ.get("KINDRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 0.5):
            return True
    except OSError:
        return False


def require_redis() -> None:
    """Skip without Redis on a developer's machine; in CI (which starts it) fail instead."""
    if redis_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"Redis is not reachable at {REDIS_URL}; .ci/run starts it")
    pytest.skip("needs Redis")


class Events:
    """Reads an SSE response event by event, each read with a deadline."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, within: float = 10) -> tuple[str, Any]:
        async def read() -> tuple[str, Any]:
            name, data = "message", None
            async for line in self.lines:
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:].strip())
                elif line == "" and data is not None:
                    return name, data
            raise EOFError("the stream ended")

        return await asyncio.wait_for(read(), within)

    async def until(self, name: str, within: float = 10, **match: Any) -> Any:
        async def wait() -> Any:
            while True:
                event, data = await self.next(within)
                if event == name and all(data.get(k) == v for k, v in match.items()):
                    return data

        return await asyncio.wait_for(wait(), within)


async def open_events(client: httpx.AsyncClient, url: str) -> AsyncIterator[Events]:
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200, await response.aread()
        yield Events(response)


async def start_discussion(client: httpx.AsyncClient, group_slug: str, body: str) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/groups/{group_slug}/discussions",
        json={"title": "Live neutrophils", "body": body},
        headers={"x-csrf-token": client.csrf},  # type: ignore[attr-defined]
    )
    assert r.status_code == 201, r.text
    return r.json()


async def post_reply(client: httpx.AsyncClient, discussion_id: int, body: str, **extra: Any) -> Any:
    r = await client.post(
        f"/api/v1/discussions/{discussion_id}/posts",
        json={"body": body, **extra},
        headers={"x-csrf-token": client.csrf},  # type: ignore[attr-defined]
    )
    assert r.status_code == 201, r.text
    return r.json()


async def make_group(site: LiveSite) -> str:
    from app.db import Database
    from app.groups.service import create_group

    db = Database(site.database_url)
    try:
        async with db.sessionmaker() as s:
            await create_group(s, slug="live-group", name="Live group")
            await s.commit()
    finally:
        await db.dispose()
    return "live-group"


async def replies_reach_another_server(site: LiveSite, a: Any, b: Any) -> None:
    """A reader on server `a`; writers on server `b`."""
    slug = await make_group(site)
    asker = await site.member("asker_amy", Role.mentor)
    reader = await site.member("reader_rob")
    writer = await site.member("writer_wes", Role.mentor)
    asker_b = await site.client(b, asker)
    writer_b = await site.client(b, writer)
    reader_a = await site.client(a, reader)
    try:
        d = await start_discussion(asker_b, slug, "Counts went down again.")
        url = f"/api/v1/discussions/{d['id']}/events"
        async with reader_a.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-accel-buffering"] == "no"
            events = Events(response)
            assert (await events.until("unread"))["count"] == 0
            first = await post_reply(writer_b, d["id"], "Hang in there.")
            assert (await events.until("post"))["id"] == first["id"]
            # a mention of the reader: the reply, then the reader's new unread count
            second = await post_reply(writer_b, d["id"], "@reader_rob what did the lab say?")
            assert (await events.until("post"))["id"] == second["id"]
            assert (await events.until("unread"))["count"] == 1
        # the reply as the page shows it, for this reader
        fragment = await reader_a.get(f"/posts/{second['id']}/fragment")
        assert fragment.status_code == 200
        assert f'id="post-{second["id"]}"' in fragment.text
        assert 'class="mention"' in fragment.text and "<html" not in fragment.text
    finally:
        for c in (asker_b, writer_b, reader_a):
            await c.aclose()


async def test_a_reply_appears_on_an_open_page_in_one_sqlite_process(live_site: LiveSite):
    if PG_URL:
        pytest.skip("the in-memory hub is the single-process SQLite case")
    await live_site.set_hold_first_posts(0)
    server = live_site.server()
    assert server.app.state.live.kind == "memory"
    await replies_reach_another_server(live_site, server, server)


async def test_replies_cross_server_processes_through_postgresql_listen_notify(
    live_site: LiveSite,
):
    if not PG_URL:
        pytest.skip("needs PostgreSQL (KINDRED_TEST_DATABASE_URL)")
    await live_site.set_hold_first_posts(0)
    a, b = live_site.server(), live_site.server()
    assert a.app.state.live.kind == "postgres"
    await replies_reach_another_server(live_site, a, b)


async def test_replies_cross_server_processes_through_redis_pub_sub(live_site: LiveSite):
    require_redis()
    await live_site.set_hold_first_posts(0)
    a = live_site.server(redis_url=REDIS_URL)
    b = live_site.server(redis_url=REDIS_URL)
    assert a.app.state.live.kind == "redis"
    await replies_reach_another_server(live_site, a, b)


async def test_missed_replies_are_replayed_after_a_reconnect(live_site: LiveSite):
    await live_site.set_hold_first_posts(0)
    server = live_site.server()
    slug = await make_group(live_site)
    writer = await live_site.member("writer_wes", Role.mentor)
    w = await live_site.client(server, writer)
    anon = await live_site.client(server)
    try:
        d = await start_discussion(w, slug, "Question")
        first = await post_reply(w, d["id"], "one")
        second = await post_reply(w, d["id"], "two")
        # a visitor whose connection dropped after `first` reconnects with Last-Event-ID
        url = f"/api/v1/discussions/{d['id']}/events"
        async with anon.stream("GET", url, headers={"Last-Event-ID": str(first["id"])}) as r:
            events = Events(r)
            assert (await events.until("post"))["id"] == second["id"]
    finally:
        await w.aclose()
        await anon.aclose()


async def test_missed_replies_in_a_members_only_group_are_replayed_to_members(
    live_site: LiveSite,
):
    """A members-only group's discussion is a member's to follow live like any other:
    the replay after a reconnect holds its replies (it read them by a visitor's rule)."""
    from sqlalchemy import update

    from app.db import Database
    from app.groups.models import Group

    await live_site.set_hold_first_posts(0)
    server = live_site.server()
    slug = await make_group(live_site)
    db = Database(live_site.database_url)
    try:
        async with db.sessionmaker() as s:
            await s.execute(update(Group).where(Group.slug == slug).values(visibility="members"))
            await s.commit()
    finally:
        await db.dispose()
    writer = await live_site.member("writer_wes", Role.mentor)
    reader = await live_site.member("reader_rob")
    w = await live_site.client(server, writer)
    r_ = await live_site.client(server, reader)
    try:
        d = await start_discussion(w, slug, "Question")
        first = await post_reply(w, d["id"], "one")
        second = await post_reply(w, d["id"], "two")
        url = f"/api/v1/discussions/{d['id']}/events"
        async with r_.stream("GET", url, headers={"Last-Event-ID": str(first["id"])}) as r:
            assert r.status_code == 200
            events = Events(r)
            assert (await events.until("post", within=5))["id"] == second["id"]
    finally:
        await w.aclose()
        await r_.aclose()


async def test_streams_end_when_the_server_shuts_down(live_site: LiveSite):
    await live_site.set_hold_first_posts(0)
    server = live_site.server(stream_seconds=600)
    slug = await make_group(live_site)
    writer = await live_site.member("writer_wes", Role.mentor)
    w = await live_site.client(server, writer)
    try:
        d = await start_discussion(w, slug, "Question")
        async with w.stream("GET", f"/api/v1/discussions/{d['id']}/events") as r:
            events = Events(r)
            await events.until("unread")
            assert len(server.app.state.live._subscribers) == 1
            stopping = asyncio.get_running_loop().run_in_executor(None, server.stop)
            with pytest.raises((EOFError, httpx.RemoteProtocolError, httpx.ReadError)):
                while True:
                    await events.next(within=10)
            await asyncio.wait_for(stopping, 20)
    finally:
        await w.aclose()


async def test_a_closed_page_leaves_no_subscriber_behind(live_site: LiveSite):
    await live_site.set_hold_first_posts(0)
    server = live_site.server()
    slug = await make_group(live_site)
    writer = await live_site.member("writer_wes", Role.mentor)
    w = await live_site.client(server, writer)
    try:
        d = await start_discussion(w, slug, "Question")
        async with w.stream("GET", f"/api/v1/discussions/{d['id']}/events") as r:
            await Events(r).until("unread")
            assert len(server.app.state.live._subscribers) == 1
        # the client went away: the server notices and lets go (the next write fails)
        for _ in range(100):
            await post_reply(w, d["id"], "anyone there?")
            if not server.app.state.live._subscribers:
                break
            await asyncio.sleep(0.1)
        assert not server.app.state.live._subscribers
    finally:
        await w.aclose()


# -- the hub on its own: two hubs stand for two server processes -------------------------------


async def two_hubs_share_events(make_backend: Any) -> None:
    publisher, listener = Hub(make_backend()), Hub(make_backend())
    try:
        async with listener.subscribe(discussion_id=7, user_id=42) as sub:
            await publisher.publish(
                PostEvent(discussion_id=8, post_id=1),  # another discussion
                PostEvent(discussion_id=7, post_id=2, reply_to=1),
                UnreadEvent(user_ids=[41, 42, *range(1000, 2500)]),  # split in chunks
            )
            got = [await asyncio.wait_for(sub.queue.get(), 5) for _ in range(2)]
            assert got[0] == PostEvent(discussion_id=7, post_id=2, reply_to=1)
            assert isinstance(got[1], UnreadEvent) and 42 in got[1].user_ids
            await asyncio.sleep(0.2)
            assert sub.queue.empty()
        assert listener._listener is None  # the last subscriber took the listener away
    finally:
        await publisher.close()
        await listener.close()


async def test_two_hubs_share_events_through_redis():
    require_redis()
    await two_hubs_share_events(lambda: RedisBackend(REDIS_URL))


async def test_two_hubs_share_events_through_postgresql(database_url):
    if not PG_URL:
        pytest.skip("needs PostgreSQL (KINDRED_TEST_DATABASE_URL)")
    from app.db import Database

    db = Database(database_url)
    try:
        await two_hubs_share_events(lambda: PostgresBackend(database_url, db.sessionmaker))
    finally:
        await db.dispose()


async def test_two_hubs_in_memory_do_not_share_events():
    """Process memory reaches this process only: why SQLite's single process uses it."""
    publisher, listener = Hub(MemoryBackend()), Hub(MemoryBackend())
    async with listener.subscribe(discussion_id=7, user_id=None) as sub:
        await publisher.publish(PostEvent(discussion_id=7, post_id=2))
        await asyncio.sleep(0.1)
        assert sub.queue.empty()
