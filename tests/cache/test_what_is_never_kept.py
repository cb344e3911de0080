"""Never kept: answers that set a cookie or carry a CSRF token, a notice after a redirect,
anything for a signed-in member or an API caller, anything but GET and HEAD. A visitor's
page carries no per-visitor token; a moderator's page is never served to a visitor."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.cache.conftest import Thread, cached


def _no_client_state(text: str) -> None:
    assert "csrf_token" not in text
    assert 'name="client_key"' not in text


async def test_visitors_pages_carry_no_token_and_set_no_cookie(app: Any, thread: Thread) -> None:
    # a browser on its first visit: no cookie at all
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for url in ("/", "/groups", f"/groups/{thread.group_slug}", thread.url, "/library"):
            r = await c.get(url)
            assert r.status_code == 200 and "set-cookie" not in r.headers, url
            _no_client_state(r.text)
        assert not c.cookies


@pytest.mark.parametrize("url", ["/login", "/register", "/forgot-password"])
async def test_pages_with_a_visitors_form_carry_a_token_and_are_not_kept(
    app: Any, url: str
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        first = await c.get(url)
        assert first.status_code == 200
        assert "set-cookie" in first.headers and "kindred_anon=" in first.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', first.text)
        assert token and token.group(1) == app.state.signer.sign("csrf", c.cookies["kindred_anon"])
        second = await c.get(url)  # with the cookie now: still the visitor's own
        assert second.headers.get("x-cache") != "hit"
    assert len(app.state.page_cache.store) == 0


async def test_a_visitor_still_signs_in_with_the_token_of_the_sign_in_page(
    app: Any, member: Any, thread: Thread
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await c.get(thread.url)
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = await c.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "username": member.username,
                "password": "correct horse battery",
                "next": thread.url,
            },
        )
        assert r.status_code == 303 and "kindred_session" in c.cookies
        mine = await c.get(thread.url)
        assert mine.headers["x-cache"] == "miss" and member.username in mine.text


async def test_a_notice_after_a_redirect_is_never_served_from_the_cache(
    app: Any, visitor: Any
) -> None:
    await cached(visitor, "/")
    r = await visitor.get("/?notice=signed-out")
    assert "You are signed out." in r.text and r.headers["x-cache"] == "miss"
    r = await visitor.get("/?notice=signed-out")
    assert r.headers["x-cache"] == "miss"
    r = await visitor.get("/")
    assert r.headers["x-cache"] == "hit" and "You are signed out." not in r.text


async def test_session_cookie_and_authorization_bypass_the_cache(
    app: Any, visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    await cached(visitor, thread.url)
    me = await make_client(member)
    r = await me.get(thread.url)
    assert r.headers["x-cache"] == "miss" and member.username in r.text
    # a stale or forged session cookie: never a kept page (the app clears it)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.cookies.set("kindred_session", "not-a-session")
        forged = await c.get(thread.url)
    assert forged.headers["x-cache"] == "miss"
    bearer = await visitor.get(thread.url, headers={"Authorization": "Bearer nothing"})
    assert bearer.headers.get("x-cache") != "hit"


async def test_only_get_and_head(app: Any, visitor: Any, thread: Thread) -> None:
    await cached(visitor, thread.url)
    r = await visitor.post(thread.url, data={})
    assert r.status_code == 405 and r.headers.get("x-cache") is None
    r = await visitor.options(thread.url)
    assert r.headers.get("x-cache") != "hit"


async def test_a_moderators_view_never_reaches_a_visitor(
    app: Any, visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{thread.opening_id}/hide", json={"reason": "x"})
    assert r.status_code == 204
    seen_by_mod = await mod.get(thread.url)
    assert "Hidden from members" in seen_by_mod.text or "Restore" in seen_by_mod.text
    for _ in range(2):
        r = await visitor.get(thread.url)
        assert "neutrophil counts" not in r.text and "Restore" not in r.text
        assert moderator.username not in r.text
    again = await mod.get(thread.url)
    assert again.headers["x-cache"] == "miss" and moderator.username in again.text


async def test_a_visitors_save_button_signs_them_in_and_saves(
    app: Any, visitor: Any, thread: Thread
) -> None:
    page = await cached(visitor, thread.url)
    assert 'action="/saved/start"' in page and 'method="get"' in page
    start = f"/saved/start?kind=discussion&discussion_id={thread.id}&next={thread.url}"
    # pressed on another site: nothing is bound, the visitor is sent back
    r = await visitor.get(start, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 303 and r.headers["location"] == thread.url
    r = await visitor.get(start, headers={"sec-fetch-site": "same-origin"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    from urllib.parse import parse_qs, urlsplit

    back = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    anon = visitor.cookies["kindred_anon"]
    query = parse_qs(urlsplit(back).query)
    assert query["sig"][0] == app.state.signer.sign("save-return", f"{anon}|discussion|{thread.id}")
