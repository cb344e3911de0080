"""Engine, session factory, the declarative Base and the per-request transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app.core.rows import READER, install_write_turns, reader_for

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every database.

    SQLite keeps no zone, so values are stored as naive UTC and handed back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        general = super().result_processor(dialect, coltype)

        def from_sqlite(value: Any) -> datetime | None:
            # SQLite hands back the text SQLAlchemy stored ("2026-11-29 17:12:59.123456",
            # UTC): parsed with its zone in one C call, a fifth of the general route's cost
            # (a discussion page reads some sixty of these)
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                return general(value) if general else value  # type: ignore[no-any-return]

        return from_sqlite


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, pool_size: int = 0) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # One connection per process: SQLite serialises writers anyway, and a larger
        # aiosqlite pool only spends CPU on threads (measured in bench/).
        kwargs.update(pool_size=pool_size or 1, max_overflow=0, pool_timeout=30)
        from sqlalchemy.pool import AsyncAdaptedQueuePool

        kwargs["poolclass"] = AsyncAdaptedQueuePool
    else:
        kwargs.update(pool_size=pool_size or 10, max_overflow=10, pool_pre_ping=False)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        install_write_turns(engine)
    return engine


def insert_for_dialect(dialect: str, table: Any) -> Any:
    """INSERT with ON CONFLICT clauses, as the dialect ("postgresql", else SQLite) writes
    them; for statements built once per dialect."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT clauses for the session's database."""
    return insert_for_dialect(session.get_bind().dialect.name, table)


def table_of(entity: Any) -> Table:
    """A mapped class's table. INSERT and UPDATE statements built once and executed with
    parameters are written on it: on the mapped class, the ORM would take the parameters
    for rows to write in bulk."""
    return entity.__table__  # type: ignore[no-any-return]


class Database:
    def __init__(self, url: str, pool_size: int = 0, reader_connections: int = 4) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        # hot reads outside a transaction go to a reader of their own (app/core/rows.py)
        self.reader = reader_for(self.engine, reader_connections)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, info={READER: self.reader}
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def dispose(self) -> None:
        if self.reader is not None:
            await self.reader.close()
        await self.engine.dispose()


@asynccontextmanager
async def request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The session of one request (get_session for FastAPI routes, `accounts.deps.plain_page`
    for the plain ones): one transaction, opened by the first statement that needs it,
    committed when the route returns, rolled back if it raises; then the after-commit hooks
    run. Services flush, never commit."""
    db: Database = request.app.state.db
    session = db.sessionmaker()
    # services deep in a call chain (e.g. the e-mail outbox) read settings from here
    session.info["settings"] = request.app.state.settings
    try:
        yield session
        # Many requests never open a transaction (every hot read of a GET page runs outside
        # one, app/core/rows.py): for them there is nothing to commit or close, and the
        # hand-offs that would cost are skipped.
        if session.info.pop(_REFUSED, False):
            # the route answered a refusal it caught (a form shown again with its errors):
            # nothing the refused call wrote is kept
            await session.rollback()
        elif session.in_transaction() or session.new or session.dirty or session.deleted:
            await session.commit()
    except BaseException:
        await session.close()  # rolls back whatever is open
        raise
    for hook in session.info.pop("after_commit", []):
        await hook()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request_transaction(request) as session:
        yield session


_REFUSED = "kindred.refused"


def keep_nothing(session: AsyncSession) -> None:
    """End this request's transaction with a rollback instead of a commit: for a route that
    catches a service's refusal and answers it itself (objects already loaded stay readable
    until the response is built)."""
    session.info[_REFUSED] = True
    session.info.pop("after_commit", None)


def after_commit(session: AsyncSession, hook: Any) -> None:
    """Run `hook` (an async callable) once the request's transaction has committed."""
    session.info.setdefault("after_commit", []).append(hook)


# scope="function": commit before the response is sent, so a client never sees success for
# a write that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
