"""Chromium with JavaScript off, driven by the keyboard only: a moderator tabs to the
header's Moderation entry, on to the member directory and searches it; a member deletes a
post of their own through the confirmation page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.browser


async def tab_to(page: Any, target: Any, limit: int = 80) -> None:
    """Press Tab until `target` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never took the focus by Tab")


async def sign_in_by_keyboard(page: Any, username: str) -> None:
    await page.goto("/login")
    await tab_to(page, page.locator("#username"))
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert (await page.locator(".account .me").inner_text()).strip() == username


async def test_a_moderator_reaches_the_directory_from_the_header_by_keyboard(
    new_page: Any,
) -> None:
    page = await new_page(javascript=False)
    await sign_in_by_keyboard(page, "colleenyoung")
    await tab_to(page, page.locator("#mod-link"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/mod")
    await tab_to(page, page.get_by_role("link", name="Members", exact=True))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await tab_to(page, page.locator("#member-q"))
    await page.keyboard.type("sonia")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "q=sonia" in page.url
    rows = page.locator("table.members-table tbody tr")
    assert await rows.count() == 1
    assert "sonia85" in await rows.first.inner_text()
    await tab_to(page, page.get_by_role("link", name="sonia85", exact=True))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/mod/users/sonia85")


async def test_a_member_deletes_a_post_after_confirming_by_keyboard(new_page: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    page = await new_page(javascript=False)
    await sign_in_by_keyboard(page, "sonia85")
    # a discussion of its own (the demo's threads are other tests' to count)
    await page.goto("/groups/blood-cancers-disorders/new")
    await page.locator("#title").fill(f"Keyboard deleting {marker}")
    await page.locator("#body").fill("A question to answer")
    async with page.expect_navigation():
        await page.get_by_role("button", name=re.compile("Post discussion")).click()
    await page.locator("#body").fill(f"Posted in the wrong place {marker}")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Post reply", exact=True).click()
    post = page.locator("article.post", has_text=marker)
    post_id = (await post.get_attribute("id") or "").removeprefix("post-")
    await page.goto(f"/posts/{post_id}/edit")
    await tab_to(page, page.get_by_role("link", name=re.compile("^Delete post")))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith(f"/posts/{post_id}/delete")
    assert await page.get_by_role("heading", name="Delete your post?").count() == 1
    await tab_to(page, page.get_by_role("button", name="Delete the post"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator(f"#post-{post_id}").inner_text() != ""
    assert "This post was deleted." in await page.locator(f"#post-{post_id}").inner_text()
