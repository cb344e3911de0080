"""SQLite writers of one host take turns (app/core/rows.py, WriteTurn): the first write of
a transaction on the driver takes an exclusive flock on the file beside the database, and
lets it go when the connection goes back to the pool, after its commit or rollback; a
writer of another process waiting for it gets it then, instead of polling SQLite's lock
with sleeps of up to 100 ms."""

from __future__ import annotations

import fcntl
import os

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, bindparam, insert, text

from app.core.rows import AUTOCHECKPOINT_PAGES, CHECKPOINT_EVERY, Write, execute_write
from app.db import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    PG_URL.startswith("postgresql"), reason="SQLite only (the app's own file database)"
)

THINGS = Table("things", MetaData(), Column("id", Integer, primary_key=True))
ADD = Write(insert(THINGS).values(id=bindparam("p_id", type_=Integer)).returning(THINGS.c.id))


def someone_else_can_take(path: str) -> bool:
    """Whether another writer (a descriptor of its own) would get the turn now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_a_write_transaction_holds_the_turn_until_it_ends(tmp_path, end):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    turn_file = str(tmp_path / "turns.db-writers")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(THINGS.metadata.create_all)
        async with db.sessionmaker() as session:
            await session.execute(text("SELECT 1"))  # a read takes no turn
            assert someone_else_can_take(turn_file)
            assert [tuple(row) for row in await execute_write(session, ADD, p_id=1)] == [(1,)]
            assert not someone_else_can_take(turn_file)
            await execute_write(session, ADD, p_id=2)
            assert not someone_else_can_take(turn_file)
            await (session.commit() if end == "commit" else session.rollback())
            assert someone_else_can_take(turn_file)
        async with db.sessionmaker() as session:
            count = (await session.execute(text("SELECT count(*) FROM things"))).scalar_one()
            assert count == (2 if end == "commit" else 0)
    finally:
        await db.dispose()


BLOBS = Table(
    "blobs", MetaData(), Column("id", Integer, primary_key=True), Column("data", LargeBinary)
)
ADD_BLOB = Write(
    insert(BLOBS)
    .values(id=bindparam("p_id", type_=Integer), data=bindparam("p_data", type_=LargeBinary))
    .returning(BLOBS.c.id)
)


async def test_the_wal_is_copied_before_a_writer_takes_its_turn_not_in_a_commit(tmp_path):
    """SQLite's automatic checkpoint runs inside the COMMIT that finds the WAL past 1,000
    pages, while the turn is held (every writer of the host waited 10-40 ms behind it, one
    reply in nine or ten). Now no COMMIT copies anything at that size: every
    CHECKPOINT_EVERY-th writer copies the WAL before it waits for its turn."""
    database = str(tmp_path / "wal.db")
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(BLOBS.metadata.create_all)
        seen: list[tuple[str, bool]] = []
        for i in range(CHECKPOINT_EVERY * 2):
            async with db.sessionmaker() as session:
                raw = await (await session.connection()).get_raw_connection()
                turn = raw.info["kindred.sqlite_write_turn"]
                raw.driver_connection._conn.set_trace_callback(
                    lambda sql, turn=turn: seen.append((sql, turn.held))
                )
                # ~100 pages a transaction: the WAL passes 1,000 pages in the first eleven
                await execute_write(session, ADD_BLOB, p_id=i, p_data=os.urandom(400_000))
                await session.commit()
        copies = [(i, held) for i, (sql, held) in enumerate(seen) if "checkpoint" in sql]
        writes = [i for i, (sql, _held) in enumerate(seen) if sql.startswith("INSERT")]
        # before the 16th and the 32nd writes, and without the turn
        assert [held for _i, held in copies] == [False, False]
        assert [sum(w < i for w in writes) for i, _held in copies] == [
            CHECKPOINT_EVERY - 1,
            2 * CHECKPOINT_EVERY - 1,
        ]
        async with db.engine.connect() as conn:
            # SQLite's own, in a COMMIT, only past 4,000 pages
            pages = (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one()
        assert pages == AUTOCHECKPOINT_PAGES > 1000
    finally:
        await db.dispose()
