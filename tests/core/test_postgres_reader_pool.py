"""PostgreSQL's hot reads run on a few connections of the process's own
(app/core/rows.py, PostgresReader). Reads beyond them wait their turn; a connection that
fails, is ended by the server or is interrupted mid-statement is never reused, and the
reads after it go on as if nothing happened."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.core.rows import Compiled, PostgresReader
from app.db import make_engine
from app.main import create_app
from tests.conftest import PG_URL, settings_for_tests

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="PostgreSQL only (KINDRED_TEST_DATABASE_URL)"
)


def sql(text: str) -> Compiled:
    return Compiled(text, (), {}, {}, ())


BACKEND = sql("SELECT pg_backend_pid()")


@pytest.fixture
async def reader():
    engine = make_engine(PG_URL)
    reader = PostgresReader(engine, size=2)
    yield reader
    await reader.close()
    await engine.dispose()


async def backend(reader: PostgresReader, pause: float = 0) -> int:
    rows = await reader.fetch(sql(f"SELECT pg_backend_pid(), pg_sleep({pause})"), [])
    return int(rows[0][0])


async def test_more_reads_than_connections_wait_their_turn(reader) -> None:
    pids = await asyncio.gather(*(backend(reader, 0.02) for _ in range(12)))
    assert len(set(pids)) == 2  # opened on demand, never more than its size
    assert reader._count == 2 and len(reader._idle) == 2 and not reader._waiting


async def test_arguments_go_with_the_statement(reader) -> None:
    rows = await reader.fetch(sql("SELECT $1::int + $2::int, $3::text"), [2, 3, "caf\u00e9"])
    assert tuple(rows[0]) == (5, "caf\u00e9")


async def test_a_failing_statement_does_not_poison_its_connection(reader) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        await reader.fetch(sql("SELECT 1 / 0"), [])
    assert await reader.fetch(sql("SELECT 1"), []) == [(1,)]
    assert reader._count == 1


async def test_a_connection_the_server_ended_is_replaced(reader) -> None:
    first = await backend(reader)
    killer = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", first)
        for _ in range(50):  # until the server has really ended it
            if not await killer.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first
            ):
                break
            await asyncio.sleep(0.02)
    finally:
        await killer.close()
    second = await backend(reader)
    assert second != first
    assert reader._count == 1


async def test_an_interrupted_read_is_not_reused_and_the_next_waits_no_longer(reader) -> None:
    before = set(await asyncio.gather(backend(reader, 0.05), backend(reader, 0.05)))
    slow = [asyncio.create_task(backend(reader, 3)) for _ in range(2)]
    queued = asyncio.create_task(backend(reader))
    await asyncio.sleep(0.3)
    assert not queued.done()  # both connections are busy
    for task in slow:
        task.cancel()
    after = await asyncio.wait_for(asyncio.gather(queued, backend(reader)), 2)
    assert not before & set(after)  # the interrupted connections were closed
    for task in slow:
        with pytest.raises(asyncio.CancelledError):
            await task
    assert reader._count <= 2


async def test_a_cancelled_wait_gives_up_its_turn(reader) -> None:
    slow = [asyncio.create_task(backend(reader, 0.3)) for _ in range(2)]
    await asyncio.sleep(0.05)
    gives_up = asyncio.create_task(backend(reader))
    waits = asyncio.create_task(backend(reader))
    await asyncio.sleep(0.05)
    gives_up.cancel()
    assert await asyncio.wait_for(waits, 5)
    await asyncio.gather(*slow)
    assert reader._count == 2 and len(reader._idle) == 2 and not reader._waiting


async def test_closing_ends_its_connections_and_a_later_read_opens_one(reader) -> None:
    first = await backend(reader)
    await reader.close()
    assert reader._count == 0 and not reader._idle
    assert await backend(reader) != first


async def test_the_app_holds_as_many_reader_connections_as_its_settings_say(tmp_path) -> None:
    app = create_app(settings_for_tests(tmp_path, PG_URL, db_reader_connections=3))
    reader = app.state.db.reader
    try:
        assert isinstance(reader, PostgresReader) and reader.size == 3
        pids = await asyncio.gather(*(backend(reader, 0.05) for _ in range(8)))
        assert len(set(pids)) == 3
    finally:
        await app.state.db.dispose()
