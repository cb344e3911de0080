"""Chromium: while a member types a question's title, similar discussions appear under it
(and open); without JavaScript the preview shows them; the header's search box, then a
filter on the search page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.demo.seed import DEMO_PASSWORD, EXCHANGE_TITLE

pytestmark = pytest.mark.browser


async def sign_in(page: Any, username: str) -> None:
    await page.goto("/login")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in", exact=True).click()
    assert (await page.locator(".account .me").inner_text()).strip() == username


async def test_typing_a_title_shows_similar_discussions_and_one_opens(new_page: Any) -> None:
    page = await new_page()
    await sign_in(page, "sonia85")
    await page.goto("/groups/blood-cancers-disorders/new")
    await page.locator("#title").press_sequentially("My toddler has neutropenia", delay=30)
    similar = page.locator("#similar-live .similar-discussions")
    await similar.wait_for()
    link = similar.get_by_role("link", name=EXCHANGE_TITLE)
    item = similar.locator("li").filter(has_text=EXCHANGE_TITLE)
    assert re.search(r"\d+ replies, answered", await item.inner_text())
    await link.click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))
    assert EXCHANGE_TITLE in await page.locator("h1").inner_text()


async def test_without_javascript_the_preview_lists_similar_discussions(new_page: Any) -> None:
    page = await new_page(javascript=False)
    await sign_in(page, "dsm")
    await page.goto("/groups/blood-cancers-disorders/new")
    await page.locator("#title").fill("Neutropenia in a one year old")
    await page.locator("#body").fill("Is a *low* count a worry?")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Preview", exact=True).click()
    assert await page.locator("#title").input_value() == "Neutropenia in a one year old"
    assert await page.locator(".preview em").inner_text() == "low"
    await page.locator(".similar-discussions").get_by_role("link", name=EXCHANGE_TITLE).click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))


async def test_search_from_the_header_then_filter_by_author(new_page: Any) -> None:
    page = await new_page()
    await page.goto("/groups")
    await page.locator("#header-q").fill("bone marrow")
    async with page.expect_navigation():
        await page.locator("#header-q").press("Enter")
    assert "/search?q=bone+marrow" in page.url
    hits = page.locator(".search-hit")
    assert await hits.count() >= 3
    assert await page.locator(".search-hit mark").count() >= 3
    await page.get_by_label("Author (username)").fill("sonia85")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Search", exact=True).last.click()
    authors = await page.locator(".search-hit .meta a[href^='/users/']").all_inner_texts()
    assert authors and set(authors) == {"sonia85"}
    await page.get_by_label("Show").select_option("discussions")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Search", exact=True).last.click()
    assert "0 results" in await page.locator("#results-heading").inner_text()
