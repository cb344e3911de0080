"""A real server for the tests that need one (Server-Sent Events cannot be read through
httpx's in-process transport, which waits for the whole response, and Chromium needs a
socket): uvicorn in a thread on a free loopback port, with its own migrated database (a
SQLite file, or a fresh PostgreSQL database with KINDRED_TEST_DATABASE_URL), lifespan on.

Several servers may share one database: that is how the tests show events crossing
processes (each server has its own app and its own live-update hub).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app.accounts import service as accounts
from app.accounts.deps import SESSION_COOKIE
from app.accounts.models import Role, User
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.conftest import drop_database, fresh_database_url, settings_for_tests

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    database_url: str
    settings: Settings
    port: int = field(default_factory=free_port)
    app: Any = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, stream_seconds: float = 60.0) -> LiveServer:
        self.app = create_app(self.settings)
        self.app.state.live.max_stream_seconds = stream_seconds
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            assert self._server is not None
            loop.run_until_complete(self._server.serve())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        if self._loop is not None and self._loop.is_running():
            # what SIGTERM does under `kindred serve`: streams end, then the server stops
            self._loop.call_soon_threadsafe(self.app.state.live.begin_shutdown)
        self._server.should_exit = True
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the live server did not stop"
        self._server = self._thread = None


@dataclass
class LiveSite:
    """A database with servers on it, and helpers to make members and sign them in."""

    database_url: str
    tmp: Path
    servers: list[LiveServer] = field(default_factory=list)

    def server(self, stream_seconds: float = 60.0, **settings: Any) -> LiveServer:
        server = LiveServer(
            self.database_url, settings_for_tests(self.tmp, self.database_url, **settings)
        )
        self.servers.append(server.start(stream_seconds))
        return server

    async def member(self, username: str, role: Role = Role.member) -> User:
        db = Database(self.database_url)
        try:
            async with db.sessionmaker() as s:
                from app.core.security import PasswordHasher

                user = await accounts.register(
                    s,
                    PasswordHasher(fast=True),
                    username=username,
                    email=f"{username}@example.org",
                    password="correct horse battery",
                    role=role,
                )
                await s.commit()
                return user
        finally:
            await db.dispose()

    async def client(self, server: LiveServer, user: User | None = None) -> httpx.AsyncClient:
        """An httpx client for `server`, signed in as `user`; `.csrf` holds its form token."""
        client = httpx.AsyncClient(base_url=server.url, timeout=10)
        if user is not None:
            db = Database(self.database_url)
            try:
                async with db.sessionmaker() as s:
                    token = await accounts.start_session(s, server.settings, user=user)
                    await s.commit()
            finally:
                await db.dispose()
            client.cookies.set(SESSION_COOKIE, token)
            client.csrf = server.app.state.signer.sign("csrf", token)  # type: ignore[attr-defined]
            client.session_token = token  # type: ignore[attr-defined]
        return client

    async def set_hold_first_posts(self, value: int) -> None:
        from sqlalchemy import text

        db = Database(self.database_url)
        try:
            async with db.sessionmaker() as s:
                await s.execute(
                    text("UPDATE site_settings SET hold_first_posts = :v"), {"v": value}
                )
                await s.commit()
        finally:
            await db.dispose()

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


@pytest.fixture(name="live_site")
def live_site_fixture(tmp_path: Path) -> Iterator[LiveSite]:
    url = fresh_database_url(tmp_path, "live")
    site = LiveSite(url, tmp_path)
    try:
        yield site
    finally:
        site.stop()
        drop_database(url)
