"""A template is checked when it is saved: placeholders that do not exist, and appointment
links that are not configured, are refused with 422 naming each of them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.moderation.models import CannedResponse


@pytest.fixture
async def mod(make_client, moderator):
    return await make_client(moderator)


async def create(mod, body: str, title: str = "Test response"):
    return await mod.api(
        "POST", "/api/v1/canned-responses", json={"title": title, "category": "T", "body": body}
    )


async def test_unknown_placeholder_is_named(mod):
    r = await create(mod, "Hi {member}, please ask your {doctor}.")
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "unknown_placeholder" and body["field"] == "body"
    assert "unknown placeholder {doctor}" in body["detail"]
    assert body["placeholders"] == ["{doctor}"]


async def test_every_unknown_placeholder_is_named_once(mod):
    r = await create(mod, "{Member} {doctor} {doctor} {member:x} {appointment} {group}")
    assert r.status_code == 422
    body = r.json()
    assert body["placeholders"] == ["{Member}", "{doctor}", "{member:x}", "{appointment}"]
    assert "unknown placeholders {Member}, {doctor}, {member:x}, {appointment}" in body["detail"]
    assert "{appointment:request}" in body["detail"]  # how to write an appointment link


async def test_unknown_appointment_key_is_refused(mod):
    r = await create(mod, "Book here: {appointment:second-opinion}")
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "unknown_appointment"
    assert "{appointment:second-opinion}" in body["detail"]
    assert "international, request" in body["detail"]  # the keys that do exist
    r = await create(mod, "Book here: {appointment:Request Now}")
    assert r.status_code == 422 and "{appointment:Request Now}" in r.json()["detail"]
    r = await create(mod, "Look: {appointment:https://evil.example/}")
    assert r.status_code == 422 and r.json()["code"] == "unknown_appointment"


async def test_edit_is_checked_like_create(mod, session):
    canned_id = await session.scalar(
        select(CannedResponse.id).where(CannedResponse.key == "welcome")
    )
    r = await mod.api(
        "PATCH", f"/api/v1/canned-responses/{canned_id}", json={"body": "Hi {patient}"}
    )
    assert r.status_code == 422 and "unknown placeholder {patient}" in r.json()["detail"]
    r = await mod.api(
        "PATCH", f"/api/v1/canned-responses/{canned_id}", json={"body": "{appointment:nope}"}
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_appointment"
    row = await session.get(CannedResponse, canned_id)
    await session.refresh(row)
    assert "{patient}" not in row.body_md  # nothing changed


async def test_other_braces_are_ordinary_text(mod):
    body = (
        "Known: {member} {group} {moderator} {appointment:request}.\n\n"
        'Not placeholders: { }, {}, {1,2}, `{"dose": 5}`, {-x}.'
    )
    r = await create(mod, body)
    assert r.status_code == 201, r.text
    assert r.json()["body"] == body  # stored exactly as typed


async def test_text_that_cannot_be_stored_or_is_blank_is_refused(mod):
    for payload in (
        {"title": "x", "body": "a\x00b"},
        {"title": "x", "body": "   "},
        {"title": "", "body": "text"},
        {"title": "x" * 121, "body": "text"},
        {"title": "x", "category": "c" * 61, "body": "text"},
        {"title": "x", "body": "text", "usage_count": 5},
    ):
        r = await mod.api("POST", "/api/v1/canned-responses", json=payload)
        assert r.status_code == 422, payload
