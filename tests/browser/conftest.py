"""A real server and a real browser: uvicorn in a background thread on a fresh, migrated
database with the demo data, and Debian's Chromium driven through Playwright (async API, so
the tests run in pytest-asyncio's loop; the server has its own loop in its own thread).

Chromium must be installed (`make browser`); `playwright install` cannot download browsers
here. A missing browser fails the tests, in CI and everywhere else: it never skips them.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from app.core.security import PasswordHasher
from app.db import Database
from app.demo.seed import load_demo
from app.main import create_app
from tests.conftest import ROOT, drop_database, fresh_database_url, settings_for_tests

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
RESULTS = ROOT / "test-results"  # screenshots of failed tests (git-ignored)
TIMEOUT_MS = 15_000

T = TypeVar("T")
# the running server's app and database, for tests that read what a person would get by
# e-mail (the link that finishes a registration)
LIVE: dict[str, Any] = {}


def in_own_thread(fn: Callable[[], T]) -> T:
    """Run `fn` (which may call asyncio.run) away from pytest-asyncio's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


async def _load_demo(url: str) -> None:
    db = Database(url)
    try:
        async with db.sessionmaker() as session:
            await load_demo(session, PasswordHasher(fast=True))
            await session.commit()
    finally:
        await db.dispose()


def registration_link_token(username: str) -> str:
    """The token of the link the registration e-mail carries (as the composer makes it)."""
    from sqlalchemy import select

    from app.accounts.models import PendingRegistration
    from app.accounts.registration import registration_token

    async def read() -> str:
        db = Database(LIVE["database_url"])
        try:
            async with db.sessionmaker() as s:
                pending = await s.scalar(
                    select(PendingRegistration).where(
                        PendingRegistration.username_key == username.lower()
                    )
                )
        finally:
            await db.dispose()
        assert pending is not None
        return registration_token(LIVE["app"].state.signer, pending.nonce)

    return in_own_thread(lambda: asyncio.run(read()))


async def follow_registration_link(page: Any, username: str) -> None:
    """What a newcomer does after registering: open the e-mailed link, create the account."""
    await page.goto(f"/register/confirm/{registration_link_token(username)}")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create my account", exact=True).click()


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            app=app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start (see the log above)")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running Kindred with the demo data loaded."""
    tmp = tmp_path_factory.mktemp("browser")
    url = in_own_thread(lambda: fresh_database_url(tmp, "browser"))
    try:
        in_own_thread(lambda: asyncio.run(_load_demo(url)))
        app = create_app(settings_for_tests(tmp, url))
        server = LiveServer(app)
        LIVE.update(app=app, database_url=url)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
    finally:
        in_own_thread(lambda: drop_database(url))


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing: the browser tests need Debian's Chromium at {CHROMIUM} "
            "(`make browser`, or `apt-get install chromium`). `playwright install` cannot "
            "download browsers here. These tests fail rather than skip, in CI and locally.",
            pytrace=False,
        )


class Chromium:
    """Launched on first use, inside a test: a missing browser fails that test."""

    def __init__(self, playwright: Any) -> None:
        self.playwright = playwright
        self.browser: Any = None

    async def get(self) -> Any:
        if self.browser is None:
            require_chromium()
            self.browser = await self.playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        return self.browser


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        holder = Chromium(playwright)
        try:
            yield holder
        finally:
            if holder.browser is not None:
                await holder.browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def new_page(
    chromium: Chromium, live_server: str, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Any]]:
    """Opens pages in fresh browser contexts (own cookies); failed tests leave screenshots
    of every page they opened in test-results/."""
    contexts: list[Any] = []
    pages: list[Any] = []

    async def factory(*, javascript: bool = True) -> Any:
        browser = await chromium.get()
        context = await browser.new_context(base_url=live_server, java_script_enabled=javascript)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = await context.new_page()
        pages.append(page)
        return page

    yield factory
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for n, page in enumerate(pages):
            path = RESULTS / f"{name}{'-' + str(n) if n else ''}.png"
            try:
                await page.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path} ({page.url})")
            except Exception as exc:  # a crashed page has no picture
                print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        await context.close()
