"""Chromium against a running server: joining and replying in threads (with and without
JavaScript), the demo exchange shown in its threads, and signing in with the keyboard."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.accounts.models import Role
from app.demo.seed import DEMO_PASSWORD, EXCHANGE, EXCHANGE_TITLE, USERS
from app.discussions.views import MAX_INDENT
from tests.browser.conftest import follow_registration_link

pytestmark = pytest.mark.browser

BADGES = {Role.mentor: "Volunteer Mentor", Role.moderator: "Moderator", Role.admin: "Admin"}

# What a page shows of each post, read in document order.
READ_POSTS = """
articles => articles.map(a => ({
  id: a.id,
  indent: (a.className.match(/\\bindent-(\\d+)\\b/) || [null, null])[1],
  author: a.querySelector('.author')?.textContent.trim() ?? null,
  badge: a.querySelector('.post-head .badge')?.textContent.replace(/\\s+/g, ' ').trim() ?? null,
  inReplyTo: a.querySelector('.in-reply-to')?.textContent.replace(/\\s+/g, ' ').trim() ?? null,
  body: a.querySelector('.post-body')?.textContent ?? '',
}))
"""


async def read_posts(page: Any) -> list[dict[str, Any]]:
    return await page.locator("article.post").evaluate_all(READ_POSTS)


async def submit(page: Any, button: str) -> None:
    """Click a submit button and wait for the page the form leads to."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_a_new_member_starts_a_discussion_and_replies_in_a_thread(
    new_page: Any, javascript: bool
) -> None:
    page = await new_page(javascript=javascript)
    name = f"newbie_{uuid.uuid4().hex[:8]}"

    await page.goto("/register")
    await page.locator("#username").fill(name)
    await page.locator("#email").fill(f"{name}@example.org")
    await page.locator("#password").fill("a long enough passphrase")
    await submit(page, "Create account")
    assert "Check your e-mail" in await page.locator("h1").inner_text()
    await follow_registration_link(page, name)
    assert (await page.locator(".account .me").inner_text()).strip() == name

    await page.goto("/groups")
    await page.get_by_role("link", name="Caregivers", exact=True).first.click()
    await page.wait_for_url(re.compile(r"/groups/caregivers$"))
    await page.get_by_role("link", name="Start a discussion").first.click()
    title = f"Respite care near home? ({name})"
    await page.locator("#title").fill(title)
    await page.locator("#body").fill("Who has found **respite care** that worked for them?")
    await submit(page, "Post discussion")
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))
    assert (await page.locator("h1").first.inner_text()).strip() == title

    await page.locator("#body").fill("Answering myself: the council has a list.")
    await submit(page, "Post reply")
    posts = await read_posts(page)
    assert [p["author"] for p in posts] == [name, name]
    parent = posts[1]
    assert "the council has a list" in parent["body"] and parent["indent"] == "0"

    parent_id = parent["id"].removeprefix("post-")
    await page.locator(f"#{parent['id']} .reply-link").click()
    # with JavaScript the reply box may move under the post, set to answer it; otherwise
    # (or where the script does not do that) the link leads to the post's reply page
    await page.wait_for_function(
        "() => location.pathname.endsWith('/reply')"
        " || (document.getElementById('reply_to') || {}).value"
    )
    if await page.evaluate("location.pathname.endsWith('/reply')"):
        assert await page.evaluate("location.pathname") == f"/posts/{parent_id}/reply"
    else:
        assert javascript
        assert await page.locator("#reply_to").input_value() == parent_id
        box = page.locator(f"#{parent['id']} ~ .composer-section #body")
        assert await box.count() == 1, "the reply box is not under the post"
    await page.locator("#body").fill("And a nested answer to that.")
    await submit(page, "Post reply")

    posts = await read_posts(page)
    assert [p["author"] for p in posts] == [name, name, name]
    nested = next(i for i, p in enumerate(posts) if "a nested answer" in p["body"])
    assert posts[nested - 1]["id"] == parent["id"], "the nested reply follows its parent"
    assert posts[nested]["indent"] == "1"
    assert posts[nested]["inReplyTo"] is None


async def test_the_demo_exchange_is_shown_in_its_threads(new_page: Any) -> None:
    page = await new_page()
    await page.goto("/groups/blood-cancers-disorders")
    await page.get_by_role("link", name=EXCHANGE_TITLE).click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))
    assert (await page.locator("h1").first.inner_text()).strip() == EXCHANGE_TITLE

    roles = {username: role for username, role, _bio in USERS}
    depth: list[int] = []
    for seed in EXCHANGE:
        depth.append(0 if seed.reply_to is None else depth[seed.reply_to] + 1)
    # thread order: the question, then depth-first, oldest first among siblings (for this
    # seed, the seed's own order)
    order: list[int] = [0]
    stack = [i for i in reversed(range(1, len(EXCHANGE))) if EXCHANGE[i].reply_to is None]
    while stack:
        order.append(stack.pop())
        answers = [i for i, seed in enumerate(EXCHANGE) if seed.reply_to == order[-1]]
        stack += reversed(answers)
    assert order == list(range(len(EXCHANGE)))

    shown = await read_posts(page)
    assert len(shown) == len(EXCHANGE) == 11
    assert [p["author"] for p in shown] == [EXCHANGE[i].author for i in order]
    for i, post in zip(order, shown, strict=True):
        seed = EXCHANGE[i]
        where = f"post {i} by {seed.author}"
        assert post["indent"] == str(min(depth[i], MAX_INDENT)), where
        if depth[i] > MAX_INDENT:
            assert seed.reply_to is not None
            answered = EXCHANGE[seed.reply_to].author
            assert post["inReplyTo"] == f"in reply to @{answered}", where
        else:
            assert post["inReplyTo"] is None, where
        badge = BADGES.get(roles[seed.author])
        if badge is None:
            assert post["badge"] is None, where
        else:
            assert post["badge"] is not None and post["badge"].endswith(badge), where


async def test_signing_in_works_with_the_keyboard_alone(new_page: Any) -> None:
    page = await new_page()
    await page.goto("/login")
    focused = ""
    for _ in range(30):  # from the top of the page, as a keyboard user would
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.id")
        if focused == "username":
            break
    assert focused == "username", "Tab never reaches the username field"
    await page.keyboard.type("dsm")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type(DEMO_PASSWORD)
    await page.keyboard.press("Tab")
    button = await page.evaluate(
        "[document.activeElement.tagName, document.activeElement.type,"
        " document.activeElement.textContent.trim()]"
    )
    assert button == ["BUTTON", "submit", "Sign in"], button
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.evaluate("location.pathname") == "/"
    assert (await page.locator(".account .me").inner_text()).strip() == "dsm"
