"""Chromium against a running server with the demo data: a visitor opens the health
library, matches trials for a 14-month-old, saves the page (joining on the way) and finds
it under Saved; then the same page is used with the keyboard alone."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.browser.conftest import follow_registration_link

pytestmark = pytest.mark.browser

PAGE = "/library/infantile-neutropenia"


async def submit(page: Any, button: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_a_visitor_matches_trials_for_a_toddler_and_saves_the_page_by_joining(
    new_page: Any, javascript: bool
) -> None:
    page = await new_page(javascript=javascript)
    await page.goto("/library")
    if javascript:  # the filter box narrows the list as one types
        await page.locator("#library-q").fill("zzz")
        await page.wait_for_function("() => document.querySelector('.library-item').hidden")
        await page.locator("#library-q").fill("infants")
        assert await page.locator(".library-item").first.is_visible()
    await page.get_by_role("link", name="Infantile Neutropenia").click()
    await page.wait_for_url(re.compile(PAGE + "$"))
    headings = await page.locator(".library-section h2").all_inner_texts()
    assert headings[:4] == ["Definition", "Causes", "Treatments", "Outlook"]

    # match to trials: a 14-month-old in the United States
    await page.locator("#age").fill("14")
    await page.locator("#age_unit").select_option("months")
    await page.locator("#country").fill("United States")
    await submit(page, "Match to trials")
    funnel = await page.locator(".funnel-steps li").all_inner_texts()
    assert [int(step.split()[0]) for step in funnel] == [3, 2, 2, 1], funnel
    trials = await page.locator(".trial h3").all_inner_texts()
    assert len(trials) == 1 and trials[0].startswith("Etiologic Investigation of Cancer")

    # save for later: sign-in, then join, then back on the page with it saved
    await submit(page, "Save for later")
    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.get_by_role("link", name="Create an account").click()
    await page.wait_for_url(re.compile(r"/register\?next="))
    name = f"parent_{uuid.uuid4().hex[:8]}"
    await page.locator("#username").fill(name)
    await page.locator("#email").fill(f"{name}@example.org")
    await page.locator("#password").fill("a long enough passphrase")
    await submit(page, "Create account")
    await follow_registration_link(page, name)  # the link the e-mail carries
    await page.wait_for_url(re.compile(PAGE + r"\?notice=saved"))
    assert "Saved for later" in await page.locator(".notice").inner_text()
    assert await page.locator(".saved-state").is_visible()

    # a discussion too: the linked group's discussion, from the page's community list
    await page.get_by_role("link", name=re.compile("My 1-year-old has neutropenia")).click()
    await page.wait_for_url(re.compile(r"/discussions/\d+/"))
    if javascript:  # saved without leaving the page
        await page.get_by_role("button", name="Save for later").click()
        await page.wait_for_function(
            "() => document.querySelector('.save-status').textContent.includes('Saved')"
        )
    else:
        await submit(page, "Save for later")
        assert "notice=saved" in page.url

    await page.goto("/saved")
    items = await page.locator(".saved-title").all_inner_texts()
    assert items == [
        "My 1-year-old has neutropenia: what are our options?",
        "Infantile Neutropenia",
    ]


async def test_the_library_page_works_with_the_keyboard_alone(new_page: Any) -> None:
    page = await new_page()
    await page.goto(PAGE)
    reached: list[str] = []
    for _ in range(60):  # from the top, as a keyboard user would
        await page.keyboard.press("Tab")
        reached.append(
            await page.evaluate(
                "() => { const e = document.activeElement;"
                " return (e.id || e.getAttribute('href') || e.textContent.trim()).slice(0, 40) }"
            )
        )
        if reached[-1] == "age":
            break
    # the skip link first, then the page's own links and buttons, in reading order
    assert reached[0] == "#main"
    for wanted in ("Save for later", "#definition", "#trials", "#references", "tier", "age"):
        assert wanted in reached, (wanted, reached)
    assert reached.index("#definition") < reached.index("tier") < reached.index("age")
    # the focused field is visibly focused
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    await page.keyboard.type("3")
    await page.keyboard.press("Tab")
    await page.keyboard.press("ArrowDown")  # the unit: days, then weeks...
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")  # years
    assert await page.locator("#age_unit").input_value() == "years"
    await page.keyboard.press("Shift+Tab")  # back to the age: Enter in a field submits
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "that take a patient aged 3 years" in (await page.locator(".funnel").inner_text())
    # the result's count is announced: it is a live region
    assert await page.locator(".funnel").get_attribute("role") == "status"
