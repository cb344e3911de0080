"""The similar-discussions call is asked every few keystrokes, so it is a plain route
ahead of the routers (`search.api.similar_as_typed`), answering as the documented FastAPI
route did: the same JSON, the same 422 naming `title`, the same permission."""

from __future__ import annotations

from starlette.routing import Route

from app.search.query import MAX_QUERY_CHARS


async def test_the_plain_route_comes_before_every_router(app):
    first = next(
        route
        for route in app.router.routes
        if getattr(route, "path", "") == "/api/v1/discussions/similar"
    )
    assert type(first) is Route, first  # not FastAPI's APIRoute, nor inside a router
    # still documented
    spec = app.openapi()
    assert "/api/v1/discussions/similar" in spec["paths"]


async def test_a_title_too_long_is_a_422_naming_it(make_client, member):
    client = await make_client(member)
    r = await client.get(
        "/api/v1/discussions/similar", params={"title": "x" * (MAX_QUERY_CHARS + 1)}
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error" and body["errors"][0]["field"] == "title", body
    ok = await client.get("/api/v1/discussions/similar", params={"title": "x" * MAX_QUERY_CHARS})
    assert ok.status_code == 200 and ok.json() == []
    assert ok.headers["content-type"] == "application/json"


async def test_a_nul_in_the_title_is_no_error(make_client, member):
    client = await make_client(member)
    r = await client.get("/api/v1/discussions/similar", params={"title": "ly\x00mphoma diet"})
    assert r.status_code == 200 and r.json() == []
