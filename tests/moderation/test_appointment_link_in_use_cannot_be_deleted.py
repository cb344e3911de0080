"""Deleting an appointment link asks first, and a link that canned responses in use still
name is refused, naming those responses (so none is left pointing nowhere)."""

from __future__ import annotations


async def canned_titles_using(c, key: str) -> list[str]:
    library = (await c.get("/api/v1/canned-responses")).json()
    return sorted(r["title"] for r in library if "{appointment:" + key + "}" in r["body"])


async def test_deleting_a_link_in_use_is_refused_naming_the_responses(make_client, admin):
    c = await make_client(admin)
    users = await canned_titles_using(c, "request")  # the built-in "Request an appointment"
    assert users
    listing = (await c.get("/admin/appointments")).text
    assert 'href="/admin/appointments/request/delete"' in listing
    assert 'action="/admin/appointments/request/delete"' not in listing  # no one-click delete
    confirm = await c.get("/admin/appointments/request/delete")
    assert confirm.status_code == 200 and "cannot be deleted" in confirm.text
    for title in users:
        assert title in confirm.text
    assert 'action="/admin/appointments/request/delete"' not in confirm.text
    # the form posted anyway (or the API) is refused, naming them
    r = await c.form("/admin/appointments/request/delete")
    assert r.status_code == 409 and all(t in r.text for t in users)
    r = await c.api("DELETE", "/api/v1/admin/appointments/request")
    assert r.status_code == 409 and r.json()["code"] == "appointment_in_use"
    assert sorted(r.json()["used_by"]) == users
    assert "request" in (await c.get("/admin/appointments")).text


async def test_a_link_nobody_uses_is_deleted_after_confirming(make_client, admin):
    c = await make_client(admin)
    r = await c.form(
        "/admin/appointments",
        {"key": "second-opinion", "name": "Second opinion", "url": "https://example.org/so"},
    )
    assert r.status_code == 303, r.text
    confirm = await c.get("/admin/appointments/second-opinion/delete")
    assert confirm.status_code == 200 and "No canned response in use links to it" in confirm.text
    assert 'action="/admin/appointments/second-opinion/delete"' in confirm.text
    r = await c.form("/admin/appointments/second-opinion/delete")
    assert r.status_code == 303
    assert (await c.get("/admin/appointments/second-opinion/delete")).status_code == 404


async def test_retired_responses_do_not_keep_a_link_alive(make_client, admin, moderator):
    c = await make_client(admin)
    await c.form(
        "/admin/appointments",
        {"key": "clinic", "name": "Clinic", "url": "https://example.org/clinic"},
    )
    mod = await make_client(moderator)
    r = await mod.api(
        "POST",
        "/api/v1/canned-responses",
        json={"title": "Book the clinic", "body": "Book here: {appointment:clinic}"},
    )
    assert r.status_code == 201, r.text
    canned_id = r.json()["id"]
    assert (await c.form("/admin/appointments/clinic/delete")).status_code == 409
    assert (await mod.api("DELETE", f"/api/v1/canned-responses/{canned_id}")).status_code in (
        200,
        204,
    )
    assert (await c.form("/admin/appointments/clinic/delete")).status_code == 303
