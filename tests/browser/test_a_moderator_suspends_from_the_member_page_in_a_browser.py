"""Chromium, without JavaScript: a moderator suspends a member from the member page; a bad
number of days comes back next to its field with what was typed; the suspension then shows
in the member's moderation history, and lifting it adds a second entry."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.demo.seed import DEMO_PASSWORD
from tests.browser.conftest import follow_registration_link

pytestmark = pytest.mark.browser


async def test_a_moderator_suspends_from_the_member_page(new_page: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    newcomer = f"spammy_{marker}"
    member = await new_page(javascript=False)
    await member.goto("/register")
    await member.locator("#username").fill(newcomer)
    await member.locator("#email").fill(f"{newcomer}@example.org")
    await member.locator("#password").fill("a long enough passphrase")
    async with member.expect_navigation():
        await member.get_by_role("button", name="Create account").click()
    await follow_registration_link(member, newcomer)  # the link the e-mail carries

    mod = await new_page(javascript=False)
    await mod.goto("/login")
    await mod.locator("#username").fill("colleenyoung")
    await mod.locator("#password").fill(DEMO_PASSWORD)
    async with mod.expect_navigation():
        await mod.get_by_role("button", name="Sign in", exact=True).click()
    await mod.goto(f"/mod/users/{newcomer}")
    assert "None." in await mod.locator("#history + *").inner_text()

    await mod.get_by_label("For how many days").fill("0")
    await mod.get_by_label("Reason (the member sees it)").fill(f"advertising {marker}")
    async with mod.expect_navigation():
        await mod.get_by_role("button", name=re.compile("^Suspend")).click()
    assert await mod.locator("#days-error").is_visible()
    assert await mod.get_by_label("Reason (the member sees it)").input_value() == (
        f"advertising {marker}"
    )

    await mod.get_by_label("For how many days").fill("7")
    async with mod.expect_navigation():
        await mod.get_by_role("button", name=re.compile("^Suspend")).click()
    assert "Suspended until" in await mod.locator("main").inner_text()
    rows = await mod.locator("table.audit-table tbody tr").all_inner_texts()
    assert len(rows) == 1 and "suspend" in rows[0] and f"advertising {marker}" in rows[0]
    assert "colleenyoung" in rows[0]

    await mod.get_by_label("Reason").fill("appeal accepted")
    async with mod.expect_navigation():
        await mod.get_by_role("button", name="Lift the suspension").click()
    rows = await mod.locator("table.audit-table tbody tr").all_inner_texts()
    assert [r.split("\t")[2].strip() for r in rows] == ["unsuspend", "suspend"]
