"""`GET /healthz` is answered inside Kindred's middleware, before FastAPI's routing (which
tries every route in turn), yet with everything the middleware adds to any answer; HEAD
works as for any GET, and other methods still reach the route (405)."""

from __future__ import annotations

from typing import Any

import pytest


async def test_health_check_carries_what_every_answer_carries(client: Any) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-cache"
    assert "Cookie" in r.headers["vary"]


async def test_health_check_does_not_go_through_routing(
    app: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed: list[str] = []
    router_call = type(app.router).__call__

    async def counting(router: Any, scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await router_call(router, scope, receive, send)

    monkeypatch.setattr(type(app.router), "__call__", counting)
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/groups")).status_code == 200
    assert routed == ["/groups"]


async def test_head_and_other_methods(client: Any) -> None:
    head = await client.head("/healthz")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(b'{"status":"ok"}'))
    assert (await client.post("/healthz")).status_code == 405
