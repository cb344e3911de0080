"""Saved items round trip (API and forms), a visitor who saves by signing up on the way,
hidden or deleted discussions dropping out, and the match form's bad input (422 naming the
field, never 500)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from app.db import utcnow
from app.discussions.models import Discussion
from tests.accounts.registration_support import link_token


async def start_discussion(make_client: Any, make_user: Any) -> dict[str, Any]:
    author = await make_client(await make_user())
    r = await author.api(
        "POST",
        "/api/v1/groups/blood-cancers-disorders/discussions",
        json={"title": "Neutrophil counts at 14 months", "body": "Ours was 0.8."},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_saved_items_round_trip(
    library: str, make_client: Any, make_user: Any, member: Any, app: Any
) -> None:
    d = await start_discussion(make_client, make_user)
    c = await make_client(member)
    page = await c.api("POST", "/api/v1/saved", json={"kind": "library_page", "slug": library})
    again = await c.api("POST", "/api/v1/saved", json={"kind": "library_page", "slug": library})
    assert page.status_code == again.status_code == 201 and page.json()["id"] == again.json()["id"]
    r = await c.form(
        "/saved", {"kind": "discussion", "discussion_id": str(d["id"]), "next": d["url"]}
    )
    assert r.status_code == 303 and r.headers["location"] == d["url"] + "?notice=saved"
    items = (await c.get("/api/v1/saved")).json()
    assert [i["kind"] for i in items] == ["discussion", "library_page"]  # newest first
    html = (await c.get("/saved")).text
    assert "Neutrophil counts at 14 months" in html and "Infantile Neutropenia" in html
    # the page shows it saved
    assert 'Saved. <a href="/saved">' in (await c.get(f"/library/{library}")).text

    # hidden, then deleted: the discussion drops out of the list
    async with app.state.db.sessionmaker() as s:
        await s.execute(update(Discussion).where(Discussion.id == d["id"]).values(status="hidden"))
        await s.commit()
    assert [i["kind"] for i in (await c.get("/api/v1/saved")).json()] == ["library_page"]
    assert "Neutrophil counts" not in (await c.get("/saved")).text
    # ...and saving it again is saving what one may not see: 404
    r = await c.api("POST", "/api/v1/saved", json={"kind": "discussion", "discussion_id": d["id"]})
    assert r.status_code == 404
    # restored, it is back; deleted, it is gone again
    async with app.state.db.sessionmaker() as s:
        await s.execute(update(Discussion).where(Discussion.id == d["id"]).values(status="visible"))
        await s.commit()
    assert len((await c.get("/api/v1/saved")).json()) == 2
    async with app.state.db.sessionmaker() as s:
        await s.execute(
            update(Discussion).where(Discussion.id == d["id"]).values(deleted_at=utcnow())
        )
        await s.commit()
    assert [i["kind"] for i in (await c.get("/api/v1/saved")).json()] == ["library_page"]

    # remove: by form and by API; someone else's id is 404
    other = await make_client(await make_user())
    assert (await other.api("DELETE", f"/api/v1/saved/{page.json()['id']}")).status_code == 404
    r = await c.form(f"/saved/{page.json()['id']}/delete")
    assert r.status_code == 303 and (await c.get("/api/v1/saved")).json() == []
    assert (await c.api("DELETE", f"/api/v1/saved/{page.json()['id']}")).status_code == 404


async def test_saving_what_you_may_not_see_is_not_found(
    library: str, make_client: Any, member: Any, admin: Any
) -> None:
    c = await make_client(member)
    for body in (
        {"kind": "library_page", "slug": "no-such-page"},
        {"kind": "discussion", "discussion_id": 999999},
    ):
        r = await c.api("POST", "/api/v1/saved", json=body)
        assert r.status_code == 404 and r.json()["code"] == "not_found", body
    r = await c.api("POST", "/api/v1/saved", json={"kind": "library_page"})
    assert r.status_code == 422 and "slug" in r.json()["detail"]
    # an unpublished page is 404 for everyone but administrators
    boss = await make_client(admin)
    assert (await boss.form(f"/admin/library/{library}/unpublish")).status_code == 303
    assert (await c.get(f"/library/{library}")).status_code == 404
    assert (await c.get(f"/api/v1/library/{library}")).status_code == 404
    r = await c.api("POST", "/api/v1/saved", json={"kind": "library_page", "slug": library})
    assert r.status_code == 404
    assert (await c.get("/api/v1/library")).json() == []
    assert (await boss.get(f"/library/{library}")).status_code == 200
    html = (await boss.get("/admin/library")).text
    assert "Review overdue" in html and "Publish<span" in html
    assert (await boss.form(f"/admin/library/{library}/publish")).status_code == 303
    assert (await c.get(f"/library/{library}")).status_code == 200


async def test_a_visitor_saves_by_joining_on_the_way(library: str, make_client: Any) -> None:
    visitor = await make_client()
    page_url = f"/library/{library}"
    r = await visitor.form("/saved", {"kind": "library_page", "slug": library, "next": page_url})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    back = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    assert back.startswith("/saved/return?")
    login = await visitor.get(r.headers["location"])
    assert 'href="/register?next=' in login.text  # the login page offers joining, same next
    r = await visitor.form(
        "/register",
        {
            "username": "new_parent",
            "email": "new_parent@example.org",
            "password": "a long enough passphrase",
            "next": back,
        },
    )
    assert r.status_code == 200 and "Check your e-mail" in r.text, r.text
    # the link the e-mail carries creates the account and leads back where they were going
    token = await link_token(visitor._transport.app, "new_parent")  # type: ignore[attr-defined]
    r = await visitor.form(f"/register/confirm/{token}")
    assert r.status_code == 303 and r.headers["location"] == back, r.text
    # the session cookie is set now; CSRF is tied to it
    from app.accounts.deps import SESSION_COOKIE

    visitor.csrf = visitor._transport.app.state.signer.sign(  # type: ignore[attr-defined]
        "csrf", visitor.cookies[SESSION_COOKIE]
    )
    r = await visitor.get(back)
    assert r.status_code == 303 and r.headers["location"] == page_url + "?notice=saved"
    items = (await visitor.get("/api/v1/saved")).json()
    assert [(i["kind"], i["url"]) for i in items] == [("library_page", page_url)]


async def test_a_return_link_from_another_browser_saves_nothing(
    library: str, make_client: Any, member: Any
) -> None:
    visitor = await make_client()
    r = await visitor.form("/saved", {"kind": "library_page", "slug": library})
    back = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    c = await make_client(member)  # another browser, another anonymous cookie
    r = await c.get(back)
    assert r.status_code == 303 and "notice=saved" not in r.headers["location"]
    assert (await c.get("/api/v1/saved")).json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("age=-1&age_unit=months", "age"),
        ("age=400&age_unit=years", "age"),
        ("age=1e9&age_unit=days", "age"),
        ("age=14", "age_unit"),
        ("age=14&age_unit=fortnights", "age_unit"),
        ("sex=other", "sex"),
        ("country=" + "x" * 10_000, "country"),
        ("age=" + "9" * 10_000 + "&age_unit=days", "age"),
        ("city=Bethesda", "country"),
        ("recruiting_only=perhaps", "recruiting_only"),
    ],
)
async def test_bad_match_input_is_422_naming_the_field(
    library: str, client: Any, query: str, field: str
) -> None:
    r = await client.get(f"/api/v1/library/{library}/trials?{query}")
    assert r.status_code == 422, r.text[:300]
    assert r.json()["field"] == field and r.json()["code"] == "invalid"
    page = await client.get(f"/library/{library}?{query}")
    assert page.status_code == 422 and 'role="alert"' in page.text
    assert f"{field}:" in page.text


async def test_unknown_pages_are_not_found(client: Any) -> None:
    for url in (
        "/library/nothing-here",
        "/api/v1/library/nothing-here",
        "/api/v1/library/nothing-here/trials",
        "/library/" + "x" * 300,
    ):
        assert (await client.get(url)).status_code == 404, url
