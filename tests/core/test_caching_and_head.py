"""Personal data is never cached, other answers say what may be; HEAD works wherever GET
does (issue 10, hole 10)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

PERSONAL = [
    "/api/v1/me",
    "/api/v1/notifications",
    "/api/v1/me/email-preferences",
    "/api/v1/me/tokens",
    "/settings",
    "/settings/email",
    "/notifications",
]


async def test_personal_answers_are_no_store(make_client: Any, member: Any) -> None:
    c = await make_client(member)
    for path in PERSONAL:
        r = await c.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path


async def test_every_api_answer_to_a_signed_in_caller_is_no_store(
    make_client: Any, member: Any, group: Any
) -> None:
    c = await make_client(member)
    r = await c.get(f"/api/v1/groups/{group.slug}")
    assert r.headers["cache-control"] == "no-store"


async def test_public_answers_say_what_may_be_cached(client: Any, group: Any) -> None:
    r = await client.get(f"/api/v1/groups/{group.slug}")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, no-cache"
    assert "Cookie" in r.headers["vary"] and "Authorization" in r.headers["vary"]
    page = await client.get("/groups")
    # a visitor's page, the same for every visitor: a shared cache may keep it a second
    # (app/cache), a browser asks again each time
    assert page.headers["cache-control"] == "public, max-age=0, s-maxage=1"
    # kept gzip-compressed for clients that accept it (app/cache)
    assert page.headers["vary"] == "Accept-Encoding, Cookie, Authorization"
    login = await client.get("/login")  # carries a CSRF token: nobody else's to keep
    assert login.headers["cache-control"] == "no-cache"
    static = await client.get("/static/app.css")
    assert static.status_code in (200, 404)


async def test_signed_in_pages_are_not_stored(make_client: Any, member: Any, group: Any) -> None:
    c = await make_client(member)
    r = await c.get(f"/groups/{group.slug}")
    assert r.headers["cache-control"] == "no-store"  # the page names the member


def get_paths(app: Any) -> list[str]:
    found: list[str] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif isinstance(route, Route) and "GET" in (route.methods or ()):
                found.append(route.path)

    walk(app.routes)
    return found


async def test_head_answers_wherever_get_does(
    app: Any, make_client: Any, member: Any, group: Any
) -> None:
    c = await make_client(member)
    checked = 0
    for path in get_paths(app):
        if "{" in path or path.endswith("/events"):
            continue
        got = await c.get(path)
        head = await c.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        checked += 1
    assert checked >= 15
    for path in (f"/groups/{group.slug}", f"/api/v1/groups/{group.slug}", "/users/maria_member"):
        got, head = await c.get(path), await c.head(path)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers.get("content-length") == got.headers.get("content-length"), path


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/login"])
async def test_head_is_not_a_way_around_post(client: Any, path: str) -> None:
    r = await client.head(path)
    assert r.status_code in (200, 405)
    assert r.content == b""
