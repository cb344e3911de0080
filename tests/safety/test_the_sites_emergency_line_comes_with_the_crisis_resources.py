"""The site's own emergency line (KINDRED_CRISIS_LINE_NAME / _PHONE), when configured, is
shown with the crisis resources of the author's country: in the API's answer and at the top
of the next page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from tests.conftest import settings_for_tests

CRISIS = "I can't go on anymore. I want to end it tonight."
LINE_NAME, LINE_PHONE = "Kindred care team", "+1 507-555-0100"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return settings_for_tests(
        tmp_path, database_url, crisis_line_name=LINE_NAME, crisis_line_phone=LINE_PHONE
    )


async def _discussion(c: Any, group: Any) -> dict[str, Any]:
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Living with neutropenia", "body": "How long did your fatigue last?"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_the_api_answer_ends_with_the_sites_line(make_client, member, group):
    c = await make_client(member)
    assert (await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "US"})).is_success
    d = await _discussion(c, group)
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": CRISIS})
    assert r.status_code == 201, r.text
    resources = r.json()["support"]["resources"]
    assert [(x["name"], x["phone"]) for x in resources] == [
        ("Emergency services", "911"),
        ("988 Suicide & Crisis Lifeline", "988"),
        (LINE_NAME, LINE_PHONE),
    ]


async def test_the_next_page_shows_the_sites_line_too(make_client, member, group):
    c = await make_client(member)
    assert (await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "GB"})).is_success
    d = await _discussion(c, group)
    r = await c.form(f"/discussions/{d['id']}/replies", {"body": CRISIS, "client_key": "s1"})
    assert r.status_code == 303 and "support=crisis" in r.headers["location"]
    text = (await c.get(r.headers["location"])).text
    start = text.index("crisis-support")
    section = text[start : text.index("</section>", start)]
    assert "116 123" in section and LINE_NAME in section and LINE_PHONE in section
