"""Test database and app fixtures.

The schema is built by `alembic upgrade head` (so every run exercises the migrations) on a
fresh SQLite file, or on PostgreSQL when KINDRED_TEST_DATABASE_URL is set. Each test runs in
a connection-level transaction that is rolled back at the end; the app's own commits become
savepoint releases inside it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts import service as accounts
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import Role, User
from app.config import Settings
from app.db import make_engine
from app.main import create_app

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("KINDRED_TEST_DATABASE_URL", "")


def alembic_upgrade(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")


async def _pg_admin(sql: str) -> None:
    engine = make_engine(PG_URL)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


def fresh_database_url(tmp_dir: Path, name: str) -> str:
    """A new, migrated database: a SQLite file, or a new PostgreSQL database."""
    if PG_URL:
        db_name = f"kindred_{name}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{db_name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + db_name
    else:
        url = f"sqlite+aiosqlite:///{tmp_dir / (name + '.db')}"
    alembic_upgrade(url)
    return url


def drop_database(url: str) -> None:
    if PG_URL and url != PG_URL:
        db_name = url.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = fresh_database_url(tmp_path_factory.mktemp("db"), "suite")
    yield url
    drop_database(url)


def settings_for_tests(tmp_dir: Path, url: str, **overrides: Any) -> Settings:
    # rate limits are off unless a test turns them on (tests/core/test_rate_limits.py); so
    # is the in-process e-mail worker (tests/notifications/ runs workers where it needs them)
    # the page cache reaches other hosts only where a test asks for it (tests/cache/)
    values: dict[str, Any] = {
        "rate_limits_enabled": False,
        "email_worker_in_process": False,
        "page_cache_fanout": "local",
        **overrides,
    }
    return Settings(
        env="test",
        database_url=url,
        var_dir=tmp_dir,
        secret_key="test-secret-" + "x" * 40,
        **values,
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling would break SAVEPOINTs: take it over
        @event.listens_for(engine.sync_engine, "connect")
        def _no_implicit_tx(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    yield engine
    await engine.dispose()


@dataclass
class TestDatabase:
    __test__ = False  # not a test class, despite its name

    url: str
    sessionmaker: async_sessionmaker[AsyncSession]
    is_sqlite: bool

    async def dispose(self) -> None:
        return None


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
async def sessionmaker(
    connection: AsyncConnection, request: pytest.FixtureRequest
) -> async_sessionmaker[AsyncSession]:
    # New members' first posts are held for review only in the tests about that
    # (marked `hold_first_posts`); elsewhere everybody posts straight away.
    if request.node.get_closest_marker("hold_first_posts") is None:
        await connection.execute(text("UPDATE site_settings SET hold_first_posts = 0"))
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return settings_for_tests(tmp_path, database_url)


@pytest.fixture
def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> Any:
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    return create_app(settings, database=db)  # type: ignore[arg-type]


class Client(httpx.AsyncClient):
    """A browser-like client: keeps cookies and knows its CSRF token."""

    csrf: str = ""
    user: User | None = None

    async def form(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        payload = {"csrf_token": self.csrf, **(data or {})}
        return await self.post(url, data=payload, **kw)

    async def api(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf, **kw.pop("headers", {})}
        return await self.request(method, url, headers=headers, **kw)


@pytest.fixture
async def make_client(app: Any) -> AsyncIterator[Any]:
    clients: list[Client] = []

    async def factory(user: User | None = None) -> Client:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = Client(transport=transport, base_url="http://testserver")
        clients.append(client)
        if user is not None:
            await sign_in(app, client, user)
        else:
            anon = "anon-" + uuid.uuid4().hex
            client.cookies.set("kindred_anon", anon)
            client.csrf = app.state.signer.sign("csrf", anon)
        return client

    yield factory
    for c in clients:
        await c.aclose()


async def sign_in(app: Any, client: Client, user: User) -> None:
    async with app.state.db.sessionmaker() as s:
        token = await accounts.start_session(s, app.state.settings, user=user)
        await s.commit()
    client.cookies.set(SESSION_COOKIE, token)
    client.csrf = app.state.signer.sign("csrf", token)
    client.user = user


@pytest.fixture
async def client(make_client: Any) -> Client:
    return await make_client()


@pytest.fixture
def make_user(app: Any) -> Any:
    counter = iter(range(1, 1_000_000))

    async def factory(
        username: str | None = None,
        role: Role = Role.member,
        password: str = "correct horse battery",
    ) -> User:
        name = username or f"user{next(counter)}_{uuid.uuid4().hex[:6]}"
        async with app.state.db.sessionmaker() as s:
            user = await accounts.register(
                s,
                app.state.hasher,
                username=name,
                email=f"{name}@example.org",
                password=password,
                role=role,
            )
            await s.commit()
        return user

    return factory


@pytest.fixture
async def member(make_user: Any) -> User:
    return await make_user("maria_member")


@pytest.fixture
async def mentor(make_user: Any) -> User:
    return await make_user("mentor_mo", Role.mentor)


@pytest.fixture
async def moderator(make_user: Any) -> User:
    return await make_user("mod_colleen", Role.moderator)


@pytest.fixture
async def admin(make_user: Any) -> User:
    return await make_user("admin_ada", Role.admin)


@pytest.fixture
async def group(app: Any) -> Any:
    from app.groups.service import create_group

    async with app.state.db.sessionmaker() as s:
        g = await create_group(
            s,
            slug="blood-disorders",
            name="Blood Cancers & Disorders",
            description="Neutropenia, anemia and more.",
        )
        await s.commit()
    return g


@pytest.fixture
def count_queries(engine: AsyncEngine) -> Any:
    """Context manager counting SQL statements sent through the engine."""
    from contextlib import contextmanager

    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
        try:
            yield statements
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", on_execute)

    return counter
