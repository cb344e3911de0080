"""Between hosts, changes travel by Redis pub/sub or PostgreSQL LISTEN/NOTIFY. A process
whose listener is not connected may have missed a change: it serves nothing from its
cache until the listener is back, and then starts from an empty cache. The connections
are really dropped here (CLIENT KILL, pg_terminate_backend)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.cache.conftest import Thread
from tests.conftest import TestDatabase, settings_for_tests

REDIS_URL = os.environ.get("KINDRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG = os.environ.get("KINDRED_TEST_DATABASE_URL", "").startswith("postgresql")


async def _redis_reachable() -> bool:
    try:
        _r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", 6379), 1)
    except (OSError, TimeoutError):
        return False
    w.close()
    return True


async def _until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


async def _check_the_fault_rule(app: Any, thread: Thread, drop: Any) -> None:
    bus = app.state.page_cache_bus
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        # not listening yet: nothing is served from the cache, nothing is kept
        assert not bus.synced
        for _ in range(2):
            assert (await c.get(thread.url)).headers["x-cache"] == "miss"
        await bus.start()
        assert bus.synced
        await c.get(thread.url)
        assert (await c.get(thread.url)).headers["x-cache"] == "hit"
        await drop()
        await _until(lambda: not bus.synced)
        assert (await c.get(thread.url)).headers["x-cache"] == "miss"
        assert len(app.state.page_cache.store) == 0 or not bus.synced
        await _until(lambda: bus.synced)  # the listener came back: caught up
        assert (await c.get(thread.url)).headers["x-cache"] == "miss"  # an empty cache
        assert (await c.get(thread.url)).headers["x-cache"] == "hit"
    await bus.close()


async def test_redis(tmp_path: Any, database_url: str, sessionmaker: Any, thread: Thread) -> None:
    if not await _redis_reachable():
        pytest.skip("no Redis at 127.0.0.1:6379")
    import coredis

    settings = settings_for_tests(
        tmp_path, database_url, redis_url=REDIS_URL, page_cache_fanout="redis"
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    app = create_app(settings, database=db)  # type: ignore[arg-type]
    admin = coredis.Redis.from_url(REDIS_URL, decode_responses=True)

    async def drop() -> None:
        # this app's subscription only (other processes may share the server): the client
        # whose address is the local end of the listener's connection
        writer = app.state.page_cache_bus.fanout.connection_writer
        host, port = writer.get_extra_info("sockname")[:2]
        ours = [c for c in await admin.client_list() if c.get("addr") == f"{host}:{port}"]
        assert len(ours) == 1
        assert await admin.client_kill(identifier=int(ours[0]["id"]))

    await _check_the_fault_rule(app, thread, drop)


@pytest.mark.skipif(not PG, reason="PostgreSQL only")
async def test_postgresql(
    tmp_path: Any, database_url: str, sessionmaker: Any, thread: Thread
) -> None:
    import asyncpg

    from app.cache.invalidation import PostgresFanout

    settings = settings_for_tests(tmp_path, database_url, page_cache_fanout="postgres")
    db = TestDatabase(database_url, sessionmaker, False)
    app = create_app(settings, database=db)  # type: ignore[arg-type]
    fanout = app.state.page_cache_bus.fanout
    assert isinstance(fanout, PostgresFanout)

    async def drop() -> None:
        connection = await asyncpg.connect(fanout.dsn)
        try:
            pid = fanout.listener_pid
            assert pid is not None
            assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await connection.close()

    await _check_the_fault_rule(app, thread, drop)
