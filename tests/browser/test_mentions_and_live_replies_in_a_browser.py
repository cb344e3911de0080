"""Chromium: @mention autocomplete in the composer with the keyboard alone (ARIA combobox
with a listbox), and a reply posted in one browser appearing live in another."""

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


async def unread(page: Any) -> int:
    badge = page.locator("#unread-count")
    if await badge.is_hidden():
        return 0
    return int(re.sub(r"\D", "", await badge.inner_text()))


async def open_seed_discussion(page: Any) -> None:
    await page.goto("/groups/blood-cancers-disorders")
    await page.get_by_role("link", name=EXCHANGE_TITLE).first.click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))


async def test_typing_at_joh_offers_johnbishop_and_the_keyboard_inserts_him(
    new_page: Any,
) -> None:
    page = await new_page()
    await sign_in(page, "dsm")
    await open_seed_discussion(page)
    box = page.locator("#body")
    assert await box.get_attribute("role") == "combobox"
    assert await box.get_attribute("aria-expanded") == "false"
    await box.focus()
    await page.keyboard.type("Thank you @joh")

    listbox = page.get_by_role("listbox", name="Members to mention")
    await listbox.wait_for(state="visible")
    options = listbox.get_by_role("option")
    # a slow machine types slower than the lookup's debounce: the list may first show what
    # "@" alone found (the discussion's people) and then, when the answer for "@joh"
    # arrives, johnbishop; wait for the answer to what was typed
    await page.wait_for_function(
        "list => list.querySelector('[role=option]')?.innerText.startsWith('@johnbishop')",
        arg=await listbox.element_handle(),
    )
    assert (await options.first.inner_text()).startswith("@johnbishop")
    assert await box.get_attribute("aria-expanded") == "true"
    active = await box.get_attribute("aria-activedescendant")
    assert active and await page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    # the list is announced to screen readers
    status = page.locator(".mention-box [role=status]")
    await page.wait_for_function(
        "el => el.textContent.includes('johnbishop')", arg=await status.element_handle()
    )

    await page.keyboard.press("Enter")  # chooses; does not submit the form
    assert await box.input_value() == "Thank you @johnbishop "
    assert await listbox.is_hidden()
    assert await box.get_attribute("aria-expanded") == "false"
    assert "/discussions/" in page.url and "#" not in page.url  # still composing

    # Escape closes the list and keeps the text; Tab also chooses
    await page.keyboard.type("and @hop")
    await listbox.wait_for(state="visible")
    await page.keyboard.press("Escape")
    assert await listbox.is_hidden()
    assert await box.input_value() == "Thank you @johnbishop and @hop"
    await page.keyboard.type("e")
    await listbox.wait_for(state="visible")
    await page.keyboard.press("Tab")
    assert await box.input_value() == "Thank you @johnbishop and @hopeful33250 "
    assert await page.evaluate("document.activeElement.id") == "body"


async def test_a_reply_from_another_browser_appears_live_with_the_unread_count(
    new_page: Any,
) -> None:
    reader = await new_page()
    await sign_in(reader, "dsm")
    writer = await new_page()
    await sign_in(writer, "johnbishop")
    csrf = await writer.locator("form[action='/logout'] input[name=csrf_token]").input_value()

    created = await writer.request.post(
        "/api/v1/groups/caregivers/discussions",
        data={"title": "Live replies while you read", "body": "Does this update by itself?"},
        headers={"x-csrf-token": csrf},
    )
    assert created.status == 201, await created.text()
    discussion = await created.json()

    await reader.goto(discussion["url"])
    await reader.locator("#live-updates:not([hidden])").wait_for(state="attached")
    before = await unread(reader)  # dsm has notifications from the demo exchange

    # the writer answers in their own browser, through the ordinary form
    await writer.goto(discussion["url"])
    await writer.locator("#body").fill("Yes it does, @dsm: no need to reload.")
    async with writer.expect_navigation():
        await writer.get_by_role("button", name="Post reply", exact=True).click()

    live = reader.locator("article.post", has_text="Yes it does")
    await live.wait_for(state="visible")
    assert await live.locator("a.mention").inner_text() == "@dsm"
    assert "live-new" in (await live.get_attribute("class") or "")
    await reader.wait_for_function(
        "() => document.getElementById('live-status').textContent.includes('johnbishop')"
    )
    # the header count follows without a reload
    await reader.wait_for_function(
        "n => document.getElementById('unread-count').textContent.includes(String(n))",
        arg=before + 1,
    )
    assert await unread(reader) == before + 1
