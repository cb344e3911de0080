"""Hot reads: Core SELECTs built once, compiled once per dialect, run on the driver.

The pages everybody reads (a discussion, a group, the sign-in look-up behind every request)
spend their time in Python, not in the database: building the statement, compiling it,
SQLAlchemy's execution context and result wrapping, and on SQLite three hand-offs to the
aiosqlite thread per statement (execute, fetch, close). A `Query` keeps what is worth
keeping of SQLAlchemy (statements written in Python, typed columns, dialect-specific SQL,
the column types' own conversions) and drops the rest: it runs the compiled SQL on the
driver connection underneath the request's session, in one call, and hands back rows as
the plain objects the pages read.

Where it runs:
- inside the session's transaction when there is one (the request wrote something, or read
  through the ORM): on the session's own connection, so it sees what the request wrote and
  a test's rolled-back transaction covers it;
- otherwise on the process's own reader: on SQLite a read-only connection (`SQLiteReader`)
  read on the loop's thread, with no pool checkout, no COMMIT or ROLLBACK, and never
  behind a writer (WAL); on PostgreSQL a small asyncpg pool (`PostgresReader`) whose
  connection is held only while its statement runs, not for the rest of the request
  (the request's session then never takes a connection at all);
- on other drivers on the session's connection, like the first case.
Listeners of `before_cursor_execute` hear of it in every case (the statement-count tests
rely on that).

Limits, on purpose: a `Query` is a SELECT; no expanding `IN` lists (use a subquery);
parameters are named `bindparam`s. Drivers other than aiosqlite and asyncpg run the same
statement through SQLAlchemy instead (correct, just not fast).

The hot writes (a reply's insert, counters, index row, follow and notifications) are
`Write`s: the same, for INSERT, UPDATE and DELETE, always on the session's connection and
inside the transaction it has begun (see `execute_write`). Several writes that follow one
another, each choosing the next from what the last answered, are a write script
(`run_writes`): on SQLite all of them run in one hand-off to the driver's thread, so the
host's one write lock is never held while the event loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import (
    Integer,
    Select,
    String,
    cast,
    event,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.sqltypes import NullType

T = TypeVar("T")

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # positional parameters, in order
    defaults: dict[str, Any]  # values written into the statement (literals)
    binds: dict[str, Processor]  # parameters whose type converts the value
    results: tuple[tuple[int, Processor], ...]  # columns whose type converts the value

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = self.defaults | params if self.defaults else params
        args = [values[name] for name in self.names]
        if self.binds:
            for i, name in enumerate(self.names):
                convert = self.binds.get(name)
                if convert is not None:
                    args[i] = convert(args[i])
        return args


def compile_for(statement: Any, dialect: Dialect) -> Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds: dict[str, Processor] = {}
    for name in names:
        bind = compiled.binds[name]
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            binds[name] = convert
    results = []
    # a SELECT's columns, or what an INSERT, UPDATE or DELETE returns
    columns = getattr(statement, "selected_columns", None)
    if columns is None:
        columns = statement.exported_columns
    for i, column in enumerate(columns):
        convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if convert is not None:
            results.append((i, convert))
    defaults = {k: v for k, v in compiled.params.items() if v is not None and k in names}
    return Compiled(compiled.string, names, defaults, binds, tuple(results))


def inline(value: int | str) -> Any:
    """A constant written into the statement's text rather than sent as a parameter, so
    the planner sees it. PostgreSQL plans a prepared statement for its parameters again on
    every run when a generic plan looks worse, and an unknown LIMIT or status does: the
    sign-in look-up behind every signed-in request spent 0.25-0.30 ms in planning each
    time with its caps and the 'pending' status as parameters, 0.04 ms with them inline.
    Only for the code's own constants (short words and integers), never for input."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"inline takes an int or a short word, not {value!r}")
    if isinstance(value, str):
        if not value.isidentifier() or not value.isascii():
            raise ValueError(f"inline takes a short word, not {value!r}")
        return literal_column(f"'{value}'", String)
    return literal_column(str(int(value)), Integer)


class Query(Generic[T]):
    """A SELECT and what each of its rows becomes (`row(*columns)`). `postgresql`: the same
    SELECT written another way for PostgreSQL (the same columns and rows), where its
    planner needs the shape spelled out."""

    __slots__ = ("statement", "row", "postgresql", "_compiled")

    def __init__(
        self,
        statement: Select[*tuple[Any, ...]],
        row: Callable[..., T],
        *,
        postgresql: Select[*tuple[Any, ...]] | None = None,
    ) -> None:
        self.statement = statement
        self.row = row
        self.postgresql = postgresql
        self._compiled: dict[tuple[str, str], Compiled] = {}

    def statement_for(self, dialect: Dialect) -> Select[*tuple[Any, ...]]:
        if self.postgresql is not None and dialect.name == "postgresql":
            return self.postgresql
        return self.statement

    def compiled(self, dialect: Dialect) -> Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = compile_for(self.statement_for(dialect), dialect)
        return found

    def rows(self, compiled: Compiled, raw: Any) -> list[T]:
        make = self.row
        if not compiled.results:
            return [make(*values) for values in raw]
        out = []
        for values in raw:
            values = list(values)
            for i, convert in compiled.results:
                values[i] = convert(values[i])
            out.append(make(*values))
        return out


class Batch:
    """Several SELECTs sent as one statement, each read back as its own rows: one round
    trip to the database instead of one per SELECT.

    On PostgreSQL every statement costs a round trip (a send and a wake-up on each side)
    and, outside a transaction, a transaction of its own in the server: about as much CPU
    as a small statement's work (a page's head and its posts, measured). The parts go out
    as `SELECT 0, <part 0's columns>, NULL, ... UNION ALL SELECT 1, NULL, ..., <part 1's
    columns> ...`: each part has columns of its own, NULL in the others' rows, and the
    first column says whose row it is. A part's rows come back as its `Query` makes them,
    converted by its own columns' types; their order within a part is not kept (sort
    them). A part with an ORDER BY or a LIMIT is read through a subquery of its own.
    Parameters are shared by name: a name means one value in every part."""

    __slots__ = ("parts", "_built", "_parts")

    def __init__(self, *parts: Query[Any]) -> None:
        self.parts = parts
        self._built: dict[tuple[str, str], Compiled] = {}
        self._parts: dict[int, tuple[_Part, ...]] = {}  # by id of the Compiled they read

    def compiled(self, dialect: Dialect) -> Compiled:
        return self._build(dialect)

    def parts_of(self, compiled: Compiled) -> tuple[_Part, ...]:
        return self._parts[id(compiled)]

    def _build(self, dialect: Dialect) -> Compiled:
        key = (dialect.name, dialect.driver)
        found = self._built.get(key)
        if found is not None:
            return found
        statements = [part.statement_for(dialect) for part in self.parts]
        wrapped = [
            bool(statement._order_by_clauses) or statement._limit_clause is not None
            for statement in statements
        ]
        columns = [
            list(statement.subquery(f"part_{i}").c if wrapped[i] else statement.selected_columns)
            for i, statement in enumerate(statements)
        ]
        # NULLs of each column's type: PostgreSQL types a UNION's columns branch by branch,
        # and a column NULL in two branches would be text against a third's integer
        nulls = [[_null_of(column.type) for column in own] for own in columns]
        branches = []
        spans = []
        start = 1
        for i, statement in enumerate(statements):
            padded: list[Any] = [literal_column(str(i), Integer).label("part")]
            for j, own in enumerate(columns):
                padded.extend(own if j == i else nulls[j])
            padded = [padded[0], *(c.label(f"c{n}") for n, c in enumerate(padded[1:], 1))]
            branches.append(
                select(*padded)
                if wrapped[i]
                else statement.with_only_columns(*padded, maintain_column_froms=True)
            )
            width = len(columns[i])
            results = compile_for(statement, dialect).results
            spans.append(_Part(start, start + width, results, self.parts[i].row))
            start += width
        compiled = compile_for(union_all(*branches), dialect)
        self._parts[id(compiled)] = tuple(spans)
        found = self._built[key] = compiled
        return found


def _null_of(type_: Any) -> Any:
    return null() if isinstance(type_, NullType) else cast(null(), type_)


@dataclass(frozen=True, slots=True)
class _Part:
    start: int  # its columns in the batch's rows
    end: int
    results: tuple[tuple[int, Processor], ...]  # its columns' conversions, from 0
    row: Callable[..., Any]


async def fetch_batch(session: AsyncSession, batch: Batch, **params: Any) -> list[list[Any]]:
    """Each part's rows (`Batch`), in the order of the parts."""
    found = await fetch_raw(session, batch, params)
    if found is None:  # another driver: each part the slow way
        conn = await session.connection()
        return [await through_sqlalchemy(conn, part, params) for part in batch.parts]
    compiled, raw = found
    parts = batch.parts_of(compiled)
    out: list[list[Any]] = [[] for _ in parts]
    for values in raw:
        index = values[0]
        part = parts[index]
        own = list(values[part.start : part.end])
        for i, convert in part.results:
            own[i] = convert(own[i])
        out[index].append(part.row(*own))
    return out


class SQLiteReader:
    """A read-only connection of this process's own to a SQLite file, for hot reads made
    outside any transaction, run right here on the event loop's thread.

    aiosqlite runs every call on a thread of its own; for a read that takes SQLite tens of
    microseconds the hand-off costs more than the read (a queue, two thread wake-ups, the
    GIL passed back and forth: about 60 microseconds of CPU, and a wait for the GIL
    whenever the loop is busy rendering a page). A read cannot be kept waiting here: in WAL
    mode readers never wait for writers, and `query_only` makes sure it only reads. Hot
    reads are indexed and bounded (one page of posts), so the loop is held no longer than
    it takes to render a few lines of that page.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.path = engine.url.database or ""
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SQLiteReader | None:
        """A reader for a file database (an in-memory one is private to its connection)."""
        database = engine.url.database or ""
        if engine.dialect.driver != "aiosqlite" or database in ("", ":memory:"):
            return None
        if database.startswith("file:"):
            return None
        return cls(engine)

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            # readers only ever wait while another process opens or recovers the file
            conn.execute("PRAGMA busy_timeout = 5000")
            self._connection = conn
        return self._connection

    async def fetch(self, compiled: Compiled, args: list[Any]) -> list[Any]:
        conn = self._connection or self.connection()
        _announce(self.engine, compiled.sql, args)
        return conn.execute(compiled.sql, args).fetchall()

    async def close(self) -> None:
        if self._connection is not None:
            conn, self._connection = self._connection, None
            conn.close()


# the connection is gone (the server restarted, or ended it): a read may be tried again
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    OSError,
)


class PostgresReader:
    """A few asyncpg connections of this process's own for hot reads outside a transaction.

    Through the request's session a hot read takes a pooled connection and keeps it until
    the response is rendered and the session commits: with a few dozen requests at once
    that is a few dozen connections, the pool overflows, and every overflow connection is
    a new PostgreSQL backend started and stopped (measured: half a core). Here a
    connection is held while its statement runs, and a handful serve a busy process.

    A pool this simple, rather than asyncpg's: a page makes three of these reads, and
    asyncpg's `Pool.fetch` spends more on taking and giving back its connection (a shielded
    task, a timer for idle connections, a timeout scope) than on the query. What a read
    needs of a pool is here: connections opened on demand up to `size`, requests beyond
    that served first come, first served, and a connection that fails or is interrupted
    mid-statement is closed, never reused (a read that fails on a connection that had
    been idle, as after a database restart, is tried once more on a new one).
    """

    def __init__(self, engine: AsyncEngine, size: int = 4) -> None:
        self.engine = engine
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._count = 0  # connections open, in use or idle, or being opened
        self._waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()

    async def _connect(self) -> asyncpg.Connection:
        # as SQLAlchemy's asyncpg dialect would connect (host, ssl, ...), minus its own options
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        for own in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            cparams.pop(own, None)
        return await asyncpg.connect(*cargs, **cparams)

    async def _acquire(self) -> asyncpg.Connection:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._count < self.size:
                self._count += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._count -= 1
                    self._hand_over(None)
                    raise
            turn: asyncio.Future[asyncpg.Connection | None]
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                handed = await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed over as it was cancelled
                    self._release(turn.result())
                raise
            if handed is not None:
                return handed
            # None: a connection was closed, so this turn may open one

    def _hand_over(self, conn: asyncpg.Connection | None) -> bool:
        """Give a connection (or None: the right to open one) to the longest waiting."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(conn)
                return True
        return False

    def _release(self, conn: asyncpg.Connection | None) -> None:
        if conn is None:
            self._hand_over(None)
        elif not self._hand_over(conn):
            self._idle.append(conn)

    def _discard(self, conn: asyncpg.Connection) -> None:
        conn.terminate()
        self._count -= 1
        self._hand_over(None)

    async def fetch(self, compiled: Compiled, args: list[Any]) -> list[Any]:
        _announce(self.engine, compiled.sql, args)
        reused = bool(self._idle)
        conn = self._idle.pop() if reused else await self._acquire()
        try:
            return await self._run(conn, compiled, args)
        except _CONNECTION_LOST:
            if not reused:
                raise
        # it went stale while idle, and so may have the others: once more, on a new one
        for stale in self._idle:
            stale.terminate()
            self._count -= 1
        self._idle.clear()
        return await self._run(await self._acquire(), compiled, args)

    async def _run(self, conn: asyncpg.Connection, compiled: Compiled, args: list[Any]) -> Any:
        try:
            rows = await conn.fetch(compiled.sql, *args)
        except BaseException:
            self._discard(conn)  # failed or interrupted mid-statement: never reused
            raise
        self._release(conn)
        return rows

    async def close(self) -> None:
        """Close the idle connections (as the engine's `dispose` does its pool's); reads
        after this open new ones."""
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        for conn in idle:
            try:
                await conn.close()
            except (TimeoutError, *_CONNECTION_LOST):
                conn.terminate()


Reader = SQLiteReader | PostgresReader


def reader_for(engine: AsyncEngine, connections: int = 4) -> Reader | None:
    """The process's own reader for this database, if its driver has one."""
    if engine.dialect.driver == "asyncpg":
        return PostgresReader(engine, size=connections)
    return SQLiteReader.for_engine(engine)


def _announce(engine: AsyncEngine, sql: str, args: list[Any]) -> None:
    """Tell statement listeners (the statement-count tests) of a read they cannot see."""
    sync = engine.sync_engine
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(None, None, sql, args, None, False)


READER = "kindred_rows_reader"  # the session.info key a sessionmaker puts its reader under


async def _on_driver(conn: AsyncConnection, compiled: Compiled, args: list[Any]) -> Any:
    """The raw rows from the driver under `conn`, or None when it has no fast path."""
    name = conn.dialect.driver
    if name not in ("aiosqlite", "asyncpg"):
        return None
    sync = conn.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, args, None, False)
    driver = (await conn.get_raw_connection()).driver_connection
    if name == "aiosqlite":
        return await driver.execute_fetchall(compiled.sql, args)  # type: ignore[union-attr]
    return await driver.fetch(compiled.sql, *args)  # type: ignore[union-attr]


async def through_sqlalchemy(
    conn: AsyncConnection, query: Query[T], params: dict[str, Any]
) -> list[T]:
    """The same rows the slow way: other drivers, and the tests' reference."""
    result = await conn.execute(query.statement, params)
    return [query.row(*values) for values in result.all()]


async def fetch_raw(
    session: AsyncSession, query: Query[Any] | Batch, params: dict[str, Any]
) -> tuple[Compiled, Any] | None:
    """A SELECT's raw rows and the compiled form they answer, by the fastest way open:
    outside a transaction the process's own reader (no write to see, no setting made; on
    SQLite read on the loop's thread), else the driver under the session's connection.
    None when neither can run it (another driver, or a statement SQLAlchemy must render
    for its values, such as an expanding IN list): the caller goes through Core. Pending
    changes are flushed first, as the ORM would before a query of its own."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    reader: Reader | None = session.info.get(READER)
    if reader is not None and not session.in_transaction():
        compiled = query.compiled(reader.engine.dialect)
        if "[POSTCOMPILE_" not in compiled.sql:
            return compiled, await reader.fetch(compiled, compiled.arguments(params))
    conn = await session.connection()
    compiled = query.compiled(conn.dialect)
    if "[POSTCOMPILE_" in compiled.sql:
        return None
    raw = await _on_driver(conn, compiled, compiled.arguments(params))
    return None if raw is None else (compiled, raw)


async def fetch_all(session: AsyncSession, query: Query[T], **params: Any) -> list[T]:
    found = await fetch_raw(session, query, params)
    if found is None:
        return await through_sqlalchemy(await session.connection(), query, params)
    compiled, raw = found
    return query.rows(compiled, raw)


async def fetch_one(session: AsyncSession, query: Query[T], **params: Any) -> T | None:
    """The first row, or None."""
    found = await fetch_all(session, query, **params)
    return found[0] if found else None


# -- writes ---------------------------------------------------------------------------------


class Write:
    """An INSERT, UPDATE or DELETE built once, compiled once per dialect, run on the driver
    under the session's connection, inside the transaction the session has begun.

    The write path's statements are the same every time; through `session.execute` each
    costs several times what the database spends on it (the ORM's execution, SQLAlchemy's
    execution context and result, three hand-offs to the aiosqlite thread). Every column
    written is a bind parameter or in the statement, or has a constant Python-side
    default; a computed default (`default=utcnow`) is not applied here: such a column
    must be named."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            found = compile_for(self.statement, dialect)
            # a column's constant Python-side default (`default=True`) is a parameter of
            # the compiled statement whose value SQLAlchemy's execution would supply
            table = getattr(self.statement, "table", None)
            for name in found.names:
                if name in found.defaults or table is None or name not in table.c:
                    continue
                default = table.c[name].default
                if default is not None and default.is_scalar:
                    found.defaults[name] = default.arg
            self._compiled[key] = found
        return found


def _in_driver_transaction(raw: Any) -> bool:
    """Whether the driver connection is inside the transaction SQLAlchemy began: asyncpg
    begins it only with SQLAlchemy's first statement, and a statement run on the driver
    before that would commit on its own."""
    adapted = raw.dbapi_connection
    return getattr(adapted, "_transaction", None) is not None


async def execute_write(session: AsyncSession, write: Write, **params: Any) -> list[Any]:
    """Run a write in the session's transaction; returns the rows of its RETURNING clause
    (converted by the columns' types), else an empty list."""
    rows, _count = await _run_write(session, write, params, count=False)
    return rows


async def execute_write_count(session: AsyncSession, write: Write, **params: Any) -> int:
    """Run a write without RETURNING in the session's transaction; returns how many rows
    it inserted, updated or deleted (no row per change comes back to Python). On SQLite
    the count includes rows that triggers changed: use it on tables without triggers."""
    _rows, count = await _run_write(session, write, params, count=True)
    return count


def _status_count(status: str) -> int:
    """asyncpg's command status ("INSERT 0 12", "UPDATE 3"): the number of rows."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


_WRITE_CONNECTION = "kindred.write_connection"


async def _write_connection(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The session's connection and its driver connection, asked of the session once per
    transaction: a reply runs about ten writes, and each `session.connection()` and
    `get_raw_connection()` goes through a greenlet (0.06 ms a write, measured)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_WRITE_CONNECTION)
    if cached is not None and cached[0] is transaction and transaction.is_active:
        return cached[1], cached[2]
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    session.info[_WRITE_CONNECTION] = (session.sync_session.get_transaction(), conn, raw)
    return conn, raw


async def _run_write(
    session: AsyncSession, write: Write, params: dict[str, Any], *, count: bool
) -> tuple[list[Any], int]:
    if session.info.get(_ENDED):
        raise RuntimeError("this session's transaction was ended by run_writes")
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the ORM would do first
    conn, raw = await _write_connection(session)
    compiled = write.compiled(conn.dialect)
    name = conn.dialect.driver
    fast = name == "aiosqlite" or (name == "asyncpg" and _in_driver_transaction(raw))
    if "[POSTCOMPILE_" in compiled.sql:  # an expanding IN list: SQLAlchemy renders it
        fast = False
    if not fast:
        result = await conn.execute(write.statement, params)
        if count:
            return [], int(getattr(result, "rowcount", 0) or 0)
        return (list(result.all()) if result.returns_rows else []), 0
    args = compiled.arguments(params)
    sync = conn.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, args, None, False)
    driver = raw.driver_connection
    if count:
        if name == "aiosqlite":
            # one hand-off to the driver's thread, not two (a cursor to read its rowcount,
            # then to close it): the connection's running count of changed rows, before
            # and after (triggers' changes count too: use it on tables without triggers)
            before = driver.total_changes  # type: ignore[union-attr]
            await _sqlite_fetchall(raw, compiled.sql, args)
            return [], driver.total_changes - before  # type: ignore[union-attr]
        status = await driver.execute(compiled.sql, *args)  # type: ignore[union-attr]
        return [], _status_count(status)
    if name == "aiosqlite":
        rows = await _sqlite_fetchall(raw, compiled.sql, args)
    else:
        rows = await driver.fetch(compiled.sql, *args)  # type: ignore[union-attr]
    return _converted(compiled, rows), 0


# -- SQLite: writers take turns ---------------------------------------------------------------

_TURN = "kindred.sqlite_write_turn"
TURN_WAIT_SECONDS = 10.0  # as long as SQLite's busy_timeout (db._sqlite_pragmas)
# Every CHECKPOINT_EVERY-th write transaction of a connection copies the WAL into the
# database (a PASSIVE checkpoint) before it waits for its turn: a reply writes ~100 WAL
# pages, so with two worker processes about every 800 pages (SQLite checkpoints at 1,000).
# SQLite's own automatic checkpoint now runs only past AUTOCHECKPOINT_PAGES (writes that
# take no turn, or much larger ones).
CHECKPOINT_EVERY = 16
AUTOCHECKPOINT_PAGES = 4000


async def _sqlite_fetchall(raw: Any, sql: str, args: list[Any]) -> Any:
    """Run a write on aiosqlite; the first write of a transaction first waits for its turn
    among the host's writers (`install_write_turns`), in the same hand-off to the driver's
    thread."""
    driver = raw.driver_connection
    turn = raw.info.get(_TURN)
    if turn is None or driver.in_transaction:
        return await driver.execute_fetchall(sql, args)
    return await driver._execute(turn.write_first, driver._conn, sql, args)


class WriteTurn:
    """One SQLite connection's place in the queue of the host's writers: an exclusive
    `flock` on a file beside the database, taken on the driver's thread before the first
    write of a transaction and let go when the connection goes back to the pool (after its
    commit or rollback).

    SQLite lets one writer at a time and makes the others poll: a writer that finds the
    database locked sleeps 1, 2, 5, 10 ... 100 ms between tries (`busy_timeout`), while the
    process holding the lock commits and, with requests queued, begins its next write at
    once. Two worker processes under a stream of replies took the lock from each other
    that way for up to a second (p99 1,050 ms, p50 79). A writer waiting for the turn
    looks again every half millisecond, and the holder's next write is further away than
    that (its next request has its reads, checks and rendering to do first). Writes that
    do not go through here (the ORM's) still meet SQLite's own lock and wait as before;
    nothing waits in a cycle, as a writer takes the turn only before it holds SQLite's
    lock.

    The WAL is copied into the database before the turn, not inside it (`settle`).
    SQLite runs its automatic checkpoint in the COMMIT that finds the WAL past 1,000
    pages, and the COMMIT returns, and the turn goes, only after it. A reply writes ~100
    WAL pages (60 of them the notifications' two per-member indexes, an entry per follower
    notified), so one reply in nine or ten held every writer of the host for 10-40 ms.
    `bench.reply_cost`, 1,000 replies in one process, the turn timed on the driver's
    thread, main and this alternated on a busy machine: a reply holds the turn at 210,000
    posts mean 3.07 -> 1.48 ms, p99 24.9 -> 2.5; at 1,050,000 COMMITs over 5 ms 55-57 ->
    20-27 in 1,000. In the bench (both workers' turns logged): held per reply 4.3-5.5 ->
    2.8-3.6 ms at 210,000 posts, 4.9-5.0 -> 3.3 at 1,050,000. A PASSIVE checkpoint takes
    no writer's lock: it runs while another process writes; this process's writers wait
    for it (its one connection), the other's do not. (A thread of its own copying beside
    the writers, on a connection of its own, was tried once: in one in-process run the
    COMMITs beside its fsyncs took 20-40 ms again.)"""

    __slots__ = ("path", "fd", "held", "writes")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.held = False
        self.writes = 0

    def write_first(self, conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[Any]:
        self.settle(conn)
        self.take()
        return conn.execute(sql, args).fetchall()

    def settle(self, conn: sqlite3.Connection) -> bool:
        """Before waiting for the turn, outside any transaction: every `CHECKPOINT_EVERY`th
        write transaction of this connection first copies the WAL into the database.
        Whether it did.

        Counted, not read from the wal-index: SQLite keeps its WAL locks as POSIX locks on
        the `-shm` file, which the process loses, all of them, when any descriptor of
        that file is closed; opening it to read the WAL's size corrupted the database
        under load ("database disk image is malformed" within seconds in the bench)."""
        self.writes += 1
        if self.writes % CHECKPOINT_EVERY:
            return False
        # a checkpoint that cannot run now (the database busy) is the next one's to do:
        # the write it comes before must not fail for it
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return True

    def take(self) -> None:
        """Wait for the turn, trying every half millisecond (a blocking `flock` has no
        timeout, and a writer stuck while holding it must not stop the others for good):
        after `TURN_WAIT_SECONDS` the write goes on without it and SQLite's own lock (and
        its busy timeout) decides."""
        if self.fd < 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + TURN_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.0005)
                continue
            self.held = True
            return

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


def install_write_turns(engine: AsyncEngine) -> None:
    """Give each connection of a file SQLite database a `WriteTurn`, let go on check-in
    and closed with the connection."""
    database = engine.url.database or ""
    if engine.dialect.driver != "aiosqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):
        return
    path = database + "-writers"
    pool = engine.sync_engine.pool

    def connect(dbapi: Any, record: Any) -> None:
        record.info[_TURN] = WriteTurn(path)
        # writers checkpoint before their turn (WriteTurn.settle); SQLite's own, inside a
        # COMMIT, only past four times as much (writes that take no turn)
        cursor = dbapi.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    def checkin(_dbapi: Any, record: Any) -> None:
        turn = record.info.get(_TURN) if record is not None else None
        if turn is not None:
            turn.release()

    def close(_dbapi: Any, record: Any) -> None:
        turn = record.info.pop(_TURN, None) if record is not None else None
        if turn is not None:
            turn.close()

    event.listen(pool, "connect", connect)
    event.listen(pool, "checkin", checkin)
    event.listen(pool, "close", close)
    event.listen(pool, "invalidate", lambda dbapi, record, _exc: close(dbapi, record))


# -- write scripts: a transaction's writes in one hand-off ---------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One write of a `WriteScript`. What it sends back to the script: its RETURNING rows
    (converted by the columns' types, as `execute_write` answers), or with `count` the
    number of rows it changed (as `execute_write_count`)."""

    write: Write
    params: dict[str, Any]
    count: bool = False


# A generator of `Step`s that receives each one's answer and returns what the caller needs.
# It is plain Python and may run on the database driver's thread (SQLite): it must touch
# nothing but its own values (no session, no ORM object, no event loop).
WriteScript = Generator[Step, Any, T]

_ENDED = "kindred.transaction_ended"


async def run_writes(
    session: AsyncSession, script: WriteScript[T], *, ends_transaction: bool = False
) -> T:
    """Run a script's writes in the session's transaction, one after another, each seeing
    what the ones before wrote and the script choosing the next from their answers.

    On SQLite the whole script runs in one hand-off to aiosqlite's thread: the writers'
    turn taken (`WriteTurn`), BEGIN IMMEDIATE, every statement, and with
    `ends_transaction` the COMMIT and the turn let go, before anything goes back to the
    event loop. Statement by statement, every write waited for the loop to hand it its
    answer and the host's writers all waited behind that (a reply's nine writes held the
    lock for nine turns of a busy loop). On other drivers the statements run one by one.

    `ends_transaction`: these are the request's last writes: its transaction is committed
    when this returns (on every database, so nothing differs between them), and the
    session's connection goes back to the pool. A later write in this session would be a
    transaction of its own: `execute_write` and `run_writes` refuse it.

    A script that fails (a statement's error, or the script's own) leaves nothing of the
    transaction it began written, and lets the turn go."""
    if session.info.get(_ENDED):
        raise RuntimeError("this session's transaction was ended by run_writes")
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the ORM would do first
    conn, raw = await _write_connection(session)
    if conn.dialect.driver == "aiosqlite":
        result = await _run_script_on_sqlite(conn, raw, script, ends_transaction)
    else:
        result = await _run_script_here(session, script)
    if ends_transaction:
        await session.commit()
        session.info[_ENDED] = True
    return result


async def _run_script_here(session: AsyncSession, script: WriteScript[T]) -> T:
    answer: Any = None
    while True:
        try:
            step = script.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        rows, count = await _run_write(session, step.write, step.params, count=step.count)
        answer = count if step.count else rows


async def _run_script_on_sqlite(
    conn: AsyncConnection, raw: Any, script: WriteScript[T], ends_transaction: bool
) -> T:
    dialect = conn.dialect
    ran: list[tuple[str, list[Any]]] = []
    driver = raw.driver_connection
    turn: WriteTurn | None = raw.info.get(_TURN)
    try:
        return await driver._execute(  # type: ignore[no-any-return]
            _script_on_thread, driver._conn, turn, script, dialect, ends_transaction, ran
        )
    finally:
        # statement listeners (the page cache's invalidation, statement counts) hear of
        # every statement that ran, in order, back on the loop
        sync = conn.sync_connection
        if sync is not None and sync.dispatch.before_cursor_execute:
            for sql, args in ran:
                sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)


def _script_on_thread(
    conn: sqlite3.Connection,
    turn: WriteTurn | None,
    script: WriteScript[T],
    dialect: Dialect,
    ends_transaction: bool,
    ran: list[tuple[str, list[Any]]],
) -> T:
    """On aiosqlite's thread: the script's writes, in a transaction of their own unless
    one is open already (then the statements join it, and its owner ends it)."""
    began = not conn.in_transaction
    if began:
        if turn is not None:
            turn.settle(conn)
            turn.take()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            if turn is not None:
                turn.release()
            raise
    try:
        answer: Any = None
        while True:
            try:
                step = script.send(answer)
            except StopIteration as done:
                result: T = done.value
                break
            # compiled here the first time (SQLAlchemy's compiler is thread-safe), then cached
            compiled = step.write.compiled(dialect)
            args = compiled.arguments(step.params)
            ran.append((compiled.sql, args))
            if step.count:
                before = conn.total_changes
                conn.execute(compiled.sql, args).fetchall()
                answer = conn.total_changes - before
            else:
                answer = _converted(compiled, conn.execute(compiled.sql, args).fetchall())
        if began and ends_transaction:
            conn.commit()
    except BaseException:
        if began:
            conn.rollback()
            if turn is not None:
                turn.release()
        raise
    if began and ends_transaction and turn is not None:
        turn.release()
    return result


def _converted(compiled: Compiled, rows: list[Any]) -> list[Any]:
    if not compiled.results:
        return list(rows)
    out = []
    for values in rows:
        values = list(values)
        for i, convert in compiled.results:
            values[i] = convert(values[i])
        out.append(values)
    return out
