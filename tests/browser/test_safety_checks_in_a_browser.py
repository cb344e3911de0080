"""Chromium: a phone number typed into the composer is found while typing, removed with one
click and the reply posted; a crisis sentence is posted and the resources are shown at the
top of the next page. And the same choice without JavaScript."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.browser


async def sign_in(page: Any, username: str) -> None:
    await page.goto("/login")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in", exact=True).click()
    assert (await page.locator(".account .me").inner_text()).strip() == username


async def start_discussion(page: Any, marker: str) -> None:
    await page.goto("/groups/infectious-diseases/new")
    await page.locator("#title").fill(f"Fevers after chemo {marker}")
    await page.locator("#body").fill("How high did your temperature go, 99.8 or more?")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Post discussion", exact=True).click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))


async def test_a_phone_number_is_removed_with_one_click_and_a_crisis_is_answered(
    new_page: Any,
) -> None:
    marker = uuid.uuid4().hex[:8]
    page = await new_page()
    await sign_in(page, "johnbishop")  # a mentor: published at once
    await start_discussion(page, marker)

    composer = page.locator("#composer")
    await composer.locator("#body").fill(f"Ring me on 212-555-0187 any evening {marker}")
    panel = composer.locator(".safety-findings")
    await panel.get_by_text("212-555-0187").wait_for()
    assert "A phone number" in await panel.inner_text()
    await panel.get_by_role("button", name=re.compile("^Remove it")).click()
    await page.wait_for_function(
        "() => document.querySelector('#composer #body').value.includes('[phone number removed]')"
    )
    assert await panel.locator(".finding").count() == 0
    async with page.expect_navigation():
        await composer.get_by_role("button", name="Post reply", exact=True).click()
    bodies = await page.locator("article.post .post-body").all_inner_texts()
    assert any(f"Ring me on [phone number removed] any evening {marker}" in b for b in bodies)
    assert not any("212-555-0187" in b for b in bodies)
    assert await page.locator(".crisis-support").count() == 0

    await page.locator("#composer #body").fill("I can't go on anymore. I want to end it tonight.")
    async with page.expect_navigation():
        await page.locator("#composer").get_by_role("button", name="Post reply").click()
    assert "support=crisis" in page.url
    support = page.locator(".crisis-support")
    await support.wait_for()
    text = await support.inner_text()
    assert "You are not alone" in text and "findahelpline.com" in text
    # it is the first thing on the page
    first = await page.locator("main h2, main h1").first.inner_text()
    assert "You are not alone" in first


async def test_remove_it_finds_its_words_after_emoji_and_other_wide_characters(
    new_page: Any,
) -> None:
    """The check answers offsets in characters (code points); a textarea's value counts
    UTF-16 units, two for an emoji: "Remove it" must still replace the finding itself."""
    marker = uuid.uuid4().hex[:8]
    page = await new_page()
    await sign_in(page, "johnbishop")
    await start_discussion(page, marker)
    composer = page.locator("#composer")
    await composer.locator("#body").fill(
        f"\U0001f917\U0001f917 Thank you! \U0001d400 Ring me on 212-555-0187 {marker}"
    )
    panel = composer.locator(".safety-findings")
    await panel.get_by_text("212-555-0187").wait_for()
    await panel.get_by_role("button", name=re.compile("^Remove it")).click()
    await page.wait_for_function(
        "() => document.querySelector('#composer #body').value.includes('[phone number removed]')"
    )
    value = await composer.locator("#body").input_value()
    assert value == (
        f"\U0001f917\U0001f917 Thank you! \U0001d400 Ring me on [phone number removed] {marker}"
    )


async def test_post_anyway_and_remove_it_work_without_javascript(new_page: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    page = await new_page(javascript=False)
    await sign_in(page, "hopeful33250")
    await start_discussion(page, marker)
    await page.locator("#composer #body").fill(f"Write to me: jo.{marker}@example.com or call")
    async with page.expect_navigation():
        await page.locator("#composer").get_by_role("button", name="Post reply").click()
    assert "Before you post" in await page.locator("#pi-findings").inner_text()
    async with page.expect_navigation():
        await page.get_by_role("button", name=re.compile("^Remove it")).click()
    assert "[e-mail removed]" in await page.locator("#body").input_value()
    await page.locator("#body").fill(f"Write to me: jo.{marker}@example.com please")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Post reply").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Post anyway").click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))
    bodies = await page.locator("article.post .post-body").all_inner_texts()
    assert any(f"jo.{marker}@example.com" in b for b in bodies)


async def test_the_advice_hint_appears_while_typing_and_the_reply_posts(new_page: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    page = await new_page()
    await sign_in(page, "johnbishop")
    await start_discussion(page, marker)
    composer = page.locator("#composer")
    text = f"You should stop taking it and double your dose {marker}"
    await composer.locator("#body").fill(text)
    await composer.locator(".advice-hint").wait_for()  # while typing, before sending
    async with page.expect_navigation():
        await composer.get_by_role("button", name="Post reply", exact=True).click()
    bodies = await page.locator("article.post .post-body").all_inner_texts()
    assert any(text in b for b in bodies)  # one submit: a hint, never a refusal


async def test_without_javascript_the_advice_hint_comes_back_once(new_page: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    page = await new_page(javascript=False)
    await sign_in(page, "johnbishop")
    await start_discussion(page, marker)
    text = f"You don't need to see a doctor for that {marker}"
    await page.locator("#composer #body").fill(text)
    async with page.expect_navigation():
        await page.locator("#composer").get_by_role("button", name="Post reply").click()
    hint = page.locator(".advice-hint")
    assert "share their own experience" in await hint.inner_text()
    assert await page.locator("#body").input_value() == text
    async with page.expect_navigation():
        await page.get_by_role("button", name="Post as it is").click()
    bodies = await page.locator("article.post .post-body").all_inner_texts()
    assert any(text in b for b in bodies)
