"""In Chromium: a moderator opens a discussion, searches the canned responses in the reply
box, picks one with the keyboard, edits the inserted text and posts it; the post shows it,
with the configured appointment link, and the template's use is counted.

Runs the real server (uvicorn, in a thread) on a fresh migrated database, because the
browser needs HTTP and its requests must not share the test's rolled-back connection.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.urls import discussion_url
from app.db import make_engine
from app.discussions import posting
from app.groups.service import create_group
from app.main import create_app
from app.moderation.models import CannedResponse
from tests.conftest import drop_database, fresh_database_url, settings_for_tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "browser-test-password"
REQUEST_URL = "https://www.mayoclinic.org/appointments"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Chromium is not installed"),
]


@dataclass
class Live:
    base_url: str
    database_url: str
    discussion_url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(url: str, hasher: object) -> str:
    """A moderator, and a member's question to answer; returns the discussion's address."""
    engine = make_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as s:
            await accounts.register(
                s,
                hasher,  # type: ignore[arg-type]
                username="mod_browser",
                email="mod_browser@example.org",
                password=PASSWORD,
                role=Role.moderator,
            )
            asker = await accounts.register(
                s,
                hasher,  # type: ignore[arg-type]
                username="asker_ann",
                email="asker_ann@example.org",
                password=PASSWORD,
                role=Role.mentor,  # published at once, whatever the hold setting
            )
            group = await create_group(
                s, slug="blood", name="Blood Cancers & Disorders", description=""
            )
            written = await posting.start_discussion(
                s,
                author=asker,
                group=group,
                title="Second opinion by video?",
                body="Does anyone know how to get a second opinion by telemedicine?",
            )
            await s.commit()
            return discussion_url(written.discussion.id, written.discussion.slug)
    finally:
        await engine.dispose()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    url = await asyncio.to_thread(fresh_database_url, tmp_path, "canned_browser")
    import uvicorn

    app = create_app(settings_for_tests(tmp_path, url))
    discussion_url = await seed(url, app.state.hasher)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        await asyncio.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", url, discussion_url)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        await asyncio.to_thread(drop_database, url)


async def usage_count(url: str, key: str) -> int:
    engine = make_engine(url)
    try:
        async with async_sessionmaker(engine)() as s:
            count = await s.scalar(
                select(CannedResponse.usage_count).where(CannedResponse.key == key)
            )
            return int(count or 0)
    finally:
        await engine.dispose()


async def test_moderator_inserts_edits_and_posts_a_canned_response(live: Live) -> None:
    from playwright.async_api import async_playwright, expect

    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))

            await page.goto(live.base_url + "/login")
            await page.fill("#username", "mod_browser")
            await page.fill("#password", PASSWORD)
            await page.locator("main form button[type=submit]").click()
            await page.wait_for_url(live.base_url + "/")

            await page.goto(live.base_url + live.discussion_url)
            # the script replaced the no-JS link with a search box and a list
            search = page.get_by_label("Canned responses")
            await expect(search).to_be_visible()
            listbox = page.locator("[data-canned-picker] select")
            await expect(listbox.locator("option", has_text="Crisis resources")).to_have_count(1)

            # keyboard only: search, move into the list, choose, Enter
            await search.focus()
            await page.keyboard.type("appointment")
            await expect(listbox.locator("option", has_text="Crisis resources")).to_have_count(0)
            await expect(listbox.locator("option")).to_have_count(2)
            await page.keyboard.press("ArrowDown")  # into the list
            await expect(listbox).to_be_focused()
            # grouped by category: "International patients", then "Request an appointment"
            await page.keyboard.press("ArrowDown")
            chosen = await listbox.evaluate("s => s.options[s.selectedIndex].textContent")
            assert chosen == "Request an appointment"
            await page.keyboard.press("Enter")

            body = page.locator("#body")
            await expect(body).to_have_value(re.compile(r"^Hi @asker_ann,"))
            await expect(body).to_be_focused()
            value = await body.input_value()
            assert f"[Request an appointment]({REQUEST_URL})" in value
            assert "the members of Blood Cancers & Disorders are glad" in value
            assert value.rstrip().endswith("mod_browser")
            await expect(page.locator("[data-canned-picker] [role=status]")).to_contain_text(
                "Inserted “Request an appointment”"
            )
            used = page.locator("#composer input[name=canned_response_id]")
            assert await used.input_value() != ""

            # still editable: the moderator adds a line before posting
            await page.keyboard.press("Control+End")
            await page.keyboard.type("\nP.S. Bring your last blood count results.")
            await page.get_by_role("button", name="Post reply").click()
            await page.wait_for_url(re.compile(r"#post-\d+$"))

            post_id = page.url.rsplit("#post-", 1)[1]
            article = page.locator(f"#post-{post_id}")
            await expect(article).to_contain_text("P.S. Bring your last blood count results.")
            await expect(article).to_contain_text("Moderator")
            await expect(article.locator('a[href="/users/asker_ann"]').first).to_be_visible()
            link = article.locator(f'.post-body a[href="{REQUEST_URL}"]')
            await expect(link).to_have_text("Request an appointment")
            await expect(link).to_have_attribute("rel", "nofollow ugc noopener")
            hrefs = await article.locator(".post-body a").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            )
            assert [h for h in hrefs if not h.startswith("/users/")] == [REQUEST_URL]
        finally:
            await browser.close()

    assert await usage_count(live.database_url, "request-appointment") == 1
    assert not [m for m in problems if "Content Security Policy" in m or "Uncaught" in m], problems
