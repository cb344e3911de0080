"""SQLite writers of one host take turns (app/core/rows.py, WriteTurn): the first write of
a transaction on the driver takes an exclusive flock on the file beside the database, and
lets it go when the connection goes back to the pool, after its commit or rollback; a
writer of another process waiting for it gets it then, instead of polling SQLite's lock
with sleeps of up to 100 ms."""

from __future__ import annotations

import fcntl
import os

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, text

from app.core.rows import Write, execute_write
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
