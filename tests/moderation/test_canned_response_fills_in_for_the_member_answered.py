"""POST /api/v1/canned-responses/{id}/render fills a template in for one reply: {member} is
the author of the post answered (or of the question) as an @mention, {group} the group,
{moderator} whoever uses it, {appointment:KEY} a link to the configured address only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import delete, select

from app.accounts.models import Role
from app.groups.service import create_group
from app.moderation.models import AppointmentDestination, CannedResponse

REQUEST_URL = "https://www.mayoclinic.org/appointments"


async def canned_id(session: Any, key: str) -> int:
    return int(await session.scalar(select(CannedResponse.id).where(CannedResponse.key == key)))


@pytest.fixture
async def thread(make_client, make_user, group):
    asker = await make_client(await make_user("asker_amy"))
    d = (
        await asker.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Low counts", "body": "What do these results mean?"},
        )
    ).json()
    replier = await make_client(await make_user("replier_rob"))
    p = (
        await replier.api(
            "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Same here."}
        )
    ).json()
    return {"discussion": d, "reply": p}


async def render(client, canned: int, **payload):
    return await client.api("POST", f"/api/v1/canned-responses/{canned}/render", json=payload)


async def test_member_group_and_moderator_are_filled_in(make_client, mentor, session, thread):
    c = await make_client(mentor)
    nmp = await canned_id(session, "not-medical-professionals")
    d, p = thread["discussion"], thread["reply"]
    r = await render(c, nmp, discussion_id=d["id"], reply_to=p["id"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["title"] == "We are not medical professionals" and out["canned_response_id"] == nmp
    text = out["markdown"]
    assert text.startswith("Hi @replier_rob,")
    assert "the members of Blood Cancers & Disorders are patients and caregivers" in text
    assert text.rstrip().endswith(mentor.username)
    assert "{" not in text
    # answering the question: the discussion's author
    r = await render(c, nmp, discussion_id=d["id"])
    assert r.json()["markdown"].startswith("Hi @asker_amy,")
    # rendering is not a use
    row = await session.get(CannedResponse, nmp)
    await session.refresh(row)
    assert row.usage_count == 0


async def test_appointment_placeholder_becomes_the_configured_link(
    make_client, moderator, admin, session, thread
):
    c = await make_client(moderator)
    request = await canned_id(session, "request-appointment")
    d = thread["discussion"]
    text = (await render(c, request, discussion_id=d["id"])).json()["markdown"]
    assert f"[Request an appointment]({REQUEST_URL})" in text
    assert text.count("](") == 1

    # the administrator moves the page: templates follow, nothing else needs editing
    a = await make_client(admin)
    new_url = "https://appointments.example.org/request?src=community"
    r = await a.api("PATCH", "/api/v1/admin/appointments/request", json={"url": new_url})
    assert r.status_code == 200, r.text
    text = (await render(c, request, discussion_id=d["id"])).json()["markdown"]
    assert f"[Request an appointment]({new_url})" in text and REQUEST_URL not in text


async def test_a_deleted_destination_is_never_linked(
    make_client, moderator, admin, session, thread
):
    c = await make_client(moderator)
    request = await canned_id(session, "request-appointment")
    a = await make_client(admin)
    # deleting a link in use is refused (test_appointment_link_in_use_cannot_be_deleted);
    # one can still go missing (deleted before that rule, or a retired response put back
    # in use): it is removed underneath here, and must still never be linked
    await session.execute(
        delete(AppointmentDestination).where(AppointmentDestination.key == "request")
    )
    await session.commit()
    r = await render(c, request, discussion_id=thread["discussion"]["id"])
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "appointment_not_configured" and body["keys"] == ["request"]
    assert "“request”" in body["detail"] and "markdown" not in body
    listed = (await c.get(f"/api/v1/canned-responses/{request}")).json()
    assert listed["missing_appointments"] == ["request"]
    page = await c.get("/mod/canned")
    assert "no longer configured (request)" in page.text
    # configured again (even elsewhere): the template works again, with the new address
    r = await a.api(
        "POST",
        "/api/v1/admin/appointments",
        json={"key": "request", "name": "Appointments", "url": "https://example.org/book"},
    )
    assert r.status_code == 201
    r = await render(c, request, discussion_id=thread["discussion"]["id"])
    assert (
        r.status_code == 200 and "[Appointments](https://example.org/book)" in r.json()["markdown"]
    )


async def test_names_are_escaped_so_they_cannot_add_markdown(
    make_client, make_user, moderator, admin, session, app
):
    async with app.state.db.sessionmaker() as s:
        odd = await create_group(s, slug="odd", name="Kids *and* [teens](x)", description="")
        await s.commit()
    asker = await make_client(await make_user("asker_odd"))
    d = (
        await asker.api(
            "POST", f"/api/v1/groups/{odd.slug}/discussions", json={"title": "t", "body": "q"}
        )
    ).json()
    a = await make_client(admin)
    r = await a.api(
        "PATCH",
        "/api/v1/admin/appointments/request",
        json={"name": "Book [here](https://evil.example)", "url": "https://example.org/a_(b)"},
    )
    assert r.status_code == 200, r.text
    mod = await make_client(moderator)
    r = await mod.api(
        "POST",
        "/api/v1/canned-responses",
        json={"title": "Odd", "body": "In {group}: {appointment:request}"},
    )
    assert r.status_code == 201
    text = (await render(mod, r.json()["id"], discussion_id=d["id"])).json()["markdown"]
    assert text == (
        r"In Kids \*and\* \[teens\](x): "
        r"[Book \[here\](https://evil.example)](<https://example.org/a_(b)>)"
    )
    # posted, the only link is the configured address
    r = await mod.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": text})
    html = r.json()["body_html"]
    assert re.findall(r'href="([^"]*)"', html) == ["https://example.org/a_(b)"]


async def test_bad_targets_are_refused(make_client, make_user, mentor, session, thread, group):
    c = await make_client(mentor)
    nmp = await canned_id(session, "not-medical-professionals")
    d = thread["discussion"]
    other = await make_client(await make_user("other_olga"))
    d2 = (
        await other.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Another", "body": "Elsewhere"},
        )
    ).json()
    opening2 = (await other.get(f"/api/v1/discussions/{d2['id']}")).json()["posts"][0]["id"]
    r = await render(c, nmp, discussion_id=d["id"], reply_to=opening2)
    assert r.status_code == 422 and r.json()["field"] == "reply_to"
    r = await render(c, nmp, discussion_id=d["id"], reply_to=2_147_483_647)
    assert r.status_code == 422
    r = await render(c, nmp, discussion_id=999_999)
    assert r.status_code == 404
    r = await render(c, 999_999, discussion_id=d["id"])
    assert r.status_code == 404
    for payload in ({}, {"discussion_id": "x"}, {"discussion_id": 0}, {"discussion_id": 2**40}):
        r = await render(c, nmp, **payload)
        assert r.status_code == 422, payload


async def test_retired_response_cannot_be_filled_in(make_client, make_user, session, thread):
    mod = await make_client(await make_user("mod_retire", Role.moderator))
    welcome = await canned_id(session, "welcome")
    assert (await mod.api("DELETE", f"/api/v1/canned-responses/{welcome}")).status_code == 204
    r = await render(mod, welcome, discussion_id=thread["discussion"]["id"])
    assert r.status_code == 409 and r.json()["code"] == "canned_retired"
    mentor = await make_client(await make_user("mentor_retire", Role.mentor))
    r = await render(mentor, welcome, discussion_id=thread["discussion"]["id"])
    assert r.status_code == 404  # mentors do not see retired responses at all
