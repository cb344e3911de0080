"""The canned-response library: moderators create, edit and retire; mentors read and use;
members and visitors get nothing. Built-ins are installed by the migration; retiring keeps
the usage count and the history; every change is in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import Role
from app.moderation.models import AuditEntry, CannedResponse

BUILT_IN = {
    "not-medical-professionals": "We are not medical professionals",
    "request-appointment": "Request an appointment",
    "international-patients": "International patients",
    "welcome": "Welcome to the community",
    "crisis-resources": "Crisis resources",
}


async def builtin_id(session: Any, key: str) -> int:
    return int(await session.scalar(select(CannedResponse.id).where(CannedResponse.key == key)))


async def test_built_ins_are_installed_with_stable_keys_and_safe_wording(make_client, mentor):
    c = await make_client(mentor)
    r = await c.get("/api/v1/canned-responses")
    assert r.status_code == 200, r.text
    by_key = {item["key"]: item for item in r.json() if item["key"]}
    assert {k: v["title"] for k, v in by_key.items()} == BUILT_IN
    for item in by_key.values():
        assert not item["retired"] and item["usage_count"] == 0
        assert item["missing_appointments"] == []
    assert "{member}" in by_key["not-medical-professionals"]["body"]
    assert "not medical professionals" in by_key["not-medical-professionals"]["body"]
    assert "interpret test results" in by_key["not-medical-professionals"]["body"]
    assert by_key["request-appointment"]["appointment_keys"] == ["request"]
    assert by_key["international-patients"]["appointment_keys"] == ["international"]
    crisis = by_key["crisis-resources"]["body"]
    assert "emergency number now" in crisis and "988" in crisis
    assert by_key["welcome"]["category"] == "Welcome"


async def test_members_and_visitors_are_refused_everything(make_client, member, session, group):
    canned_id = await builtin_id(session, "welcome")
    author = await make_client(member)
    d = (
        await author.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Question", "body": "Hello"},
        )
    ).json()
    opening_id = (await author.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]["id"]
    calls = [
        ("GET", "/api/v1/canned-responses", None),
        ("GET", "/api/v1/canned-responses?include_retired=true", None),
        ("POST", "/api/v1/canned-responses", {"title": "x", "body": "y"}),
        ("GET", f"/api/v1/canned-responses/{canned_id}", None),
        ("PATCH", f"/api/v1/canned-responses/{canned_id}", {"title": "Hijacked"}),
        ("DELETE", f"/api/v1/canned-responses/{canned_id}", None),
        ("POST", f"/api/v1/canned-responses/{canned_id}/render", {"discussion_id": d["id"]}),
    ]
    visitor = await make_client()
    for method, url, body in calls:
        r = await author.api(method, url, json=body) if body else await author.api(method, url)
        assert r.status_code == 403, (method, url, r.status_code)
        assert r.json()["code"] == "forbidden"
        r = await visitor.api(method, url, json=body) if body else await visitor.api(method, url)
        assert r.status_code == 401, (method, url, r.status_code)
    pages = [
        ("GET", "/mod/canned"),
        ("GET", "/mod/canned/new"),
        ("POST", "/mod/canned/new"),
        ("GET", f"/mod/canned/{canned_id}/edit"),
        ("POST", f"/mod/canned/{canned_id}/edit"),
        ("POST", f"/mod/canned/{canned_id}/retire"),
        ("POST", f"/mod/canned/{canned_id}/restore"),
        ("GET", f"/posts/{opening_id}/reply?canned={canned_id}"),
    ]
    for method, url in pages:
        if method == "GET":
            r = await author.get(url)
        else:
            r = await author.form(url, {"title": "Hijacked", "category": "x", "body": "y"})
        assert r.status_code == 403, (method, url, r.status_code)
    # nothing changed
    row = await session.get(CannedResponse, canned_id)
    await session.refresh(row)
    assert row.title == BUILT_IN["welcome"] and row.retired_at is None


async def test_mentors_use_but_do_not_change_the_library(make_client, mentor, session):
    canned_id = await builtin_id(session, "welcome")
    c = await make_client(mentor)
    assert (await c.get(f"/api/v1/canned-responses/{canned_id}")).status_code == 200
    for method, url, body in [
        ("POST", "/api/v1/canned-responses", {"title": "Mine", "body": "text"}),
        ("PATCH", f"/api/v1/canned-responses/{canned_id}", {"title": "Mine"}),
        ("DELETE", f"/api/v1/canned-responses/{canned_id}", None),
        ("GET", "/api/v1/canned-responses?include_retired=true", None),
    ]:
        r = await c.api(method, url, json=body) if body else await c.api(method, url)
        assert r.status_code == 403, (method, url)
        assert "moderators" in r.json()["detail"].lower()
    page = await c.get("/mod/canned")
    assert page.status_code == 200
    assert "We are not medical professionals" in page.text
    assert "Only moderators can change the library." in page.text
    assert 'action="/mod/canned/' not in page.text and "/edit" not in page.text
    assert (await c.get("/mod/canned/new")).status_code == 403


async def test_moderator_creates_edits_retires_and_restores_with_audit_entries(
    make_client, moderator, mentor, session
):
    mod = await make_client(moderator)
    r = await mod.api(
        "POST",
        "/api/v1/canned-responses",
        json={
            "title": "Second opinions",
            "category": "Appointments",
            "body": "Hi {member}, many members of {group} asked for a second opinion. {moderator}",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["key"] is None and created["usage_count"] == 0 and not created["retired"]
    canned_id = created["id"]

    r = await mod.api(
        "PATCH",
        f"/api/v1/canned-responses/{canned_id}",
        json={"title": "Second opinions (telemedicine)", "body": "Hi {member}, see {group}."},
    )
    assert r.status_code == 200 and r.json()["title"] == "Second opinions (telemedicine)"
    # an update that changes nothing writes nothing
    r = await mod.api(
        "PATCH", f"/api/v1/canned-responses/{canned_id}", json={"category": "Appointments"}
    )
    assert r.status_code == 200

    # a use is counted, then the response is retired: the count and the row stay
    await session.execute(
        CannedResponse.__table__.update()
        .where(CannedResponse.id == canned_id)
        .values(usage_count=7)
    )
    await session.commit()
    r = await mod.api("DELETE", f"/api/v1/canned-responses/{canned_id}")
    assert r.status_code == 204
    r = await mod.api("DELETE", f"/api/v1/canned-responses/{canned_id}")
    assert r.status_code == 204  # retiring twice is harmless and audited once

    mentor_client = await make_client(mentor)
    listed = (await mentor_client.get("/api/v1/canned-responses")).json()
    assert canned_id not in [i["id"] for i in listed]  # not offered any more
    assert (await mentor_client.get(f"/api/v1/canned-responses/{canned_id}")).status_code == 404
    history = (await mod.get("/api/v1/canned-responses?include_retired=true")).json()
    retired = next(i for i in history if i["id"] == canned_id)
    assert retired["retired"] and retired["usage_count"] == 7 and retired["retired_at"]
    assert history[-1]["id"] == canned_id  # retired ones come last
    page = await mod.get("/mod/canned")
    assert "Retired (1)" in page.text and "used 7 times" in page.text

    r = await mod.api("PATCH", f"/api/v1/canned-responses/{canned_id}", json={"retired": False})
    assert r.status_code == 200 and not r.json()["retired"] and r.json()["usage_count"] == 7

    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "canned_response", AuditEntry.target_id == canned_id)
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [e.action for e in entries] == [
        "create_canned",
        "update_canned",
        "retire_canned",
        "restore_canned",
    ]
    assert all(e.actor_name == moderator.username for e in entries)
    assert "title: Second opinions → Second opinions (telemedicine)" in entries[1].reason
    assert "text" in entries[1].reason
    assert entries[2].reason == "used 7 times"
    audit_page = await mod.get("/mod/audit")
    assert "retire canned" in audit_page.text


async def test_retired_built_in_can_be_restored_and_usage_count_cannot_be_set(
    make_client, moderator, session
):
    canned_id = await builtin_id(session, "crisis-resources")
    mod = await make_client(moderator)
    for field, value in [("usage_count", 0), ("key", "mine"), ("retired_at", None)]:
        r = await mod.api("PATCH", f"/api/v1/canned-responses/{canned_id}", json={field: value})
        assert r.status_code == 422, field
    r = await mod.form(f"/mod/canned/{canned_id}/retire")
    assert r.status_code == 303 and r.headers["location"] == "/mod/canned?notice=canned-retired"
    r = await mod.form(f"/mod/canned/{canned_id}/restore")
    assert r.status_code == 303
    item = (await mod.get(f"/api/v1/canned-responses/{canned_id}")).json()
    assert item["key"] == "crisis-resources" and not item["retired"]


async def test_search_covers_title_category_and_text_and_is_literal(make_client, mentor, moderator):
    mod = await make_client(moderator)
    r = await mod.api(
        "POST",
        "/api/v1/canned-responses",
        json={"title": "100% honest", "category": "Tone", "body": "We use snake_case here."},
    )
    assert r.status_code == 201
    c = await make_client(mentor)

    async def titles(q: str) -> list[str]:
        r = await c.get("/api/v1/canned-responses", params={"q": q})
        assert r.status_code == 200, r.text
        return [i["title"] for i in r.json()]

    assert await titles("crisis") == ["Crisis resources"]  # title, any case
    assert await titles("APPOINTMENTS") == ["International patients", "Request an appointment"]
    assert await titles("interpreter") == ["International patients"]  # in the text
    assert await titles("diagnose SCANS") == ["We are not medical professionals"]  # all words
    assert await titles("100%") == ["100% honest"]  # % and _ are not wildcards
    assert await titles("e_c") == ["100% honest"]
    assert await titles("%") == ["100% honest"]
    assert await titles("nothing-like-this") == []
    r = await c.get("/api/v1/canned-responses", params={"q": "a\x00b"})
    assert r.status_code == 422
    r = await c.get("/api/v1/canned-responses", params={"q": "x" * 201})
    assert r.status_code == 422
    page = await c.get("/mod/canned", params={"q": "crisis"})
    assert page.status_code == 200
    assert "Crisis resources" in page.text and "Request an appointment" not in page.text


async def test_library_pages_create_and_edit_through_forms(make_client, make_user, session):
    mod = await make_client(await make_user("mod_forms", Role.moderator))
    page = await mod.get("/mod/canned/new")
    assert page.status_code == 200 and "{appointment:request}" in page.text
    r = await mod.form("/mod/canned/new", {"title": "", "category": "General", "body": "x"})
    assert r.status_code == 422 and "must not be empty" in r.text
    r = await mod.form(
        "/mod/canned/new",
        {"title": "Bad", "category": "General", "body": "Ask {doctor} and {nurse}"},
    )
    assert r.status_code == 422
    assert "unknown placeholders {doctor}, {nurse}" in r.text
    assert "Ask {doctor} and {nurse}" in r.text  # the text typed is kept
    r = await mod.form(
        "/mod/canned/new",
        {"title": "Thanks", "category": "General", "body": "Thank you, {member}."},
    )
    assert r.status_code == 303, r.text
    row = await session.scalar(select(CannedResponse).where(CannedResponse.title == "Thanks"))
    assert row is not None and row.body_md == "Thank you, {member}."
    page = await mod.get(f"/mod/canned/{row.id}/edit")
    assert page.status_code == 200 and "Thank you, {member}." in page.text
    r = await mod.form(
        f"/mod/canned/{row.id}/edit",
        {"title": "Thanks", "category": "Gratitude", "body": "Thank you so much, {member}."},
    )
    assert r.status_code == 303
    await session.refresh(row)
    assert row.category == "Gratitude" and row.body_md == "Thank you so much, {member}."
