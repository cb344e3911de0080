"""A NUL character typed into any parameter of any page or API read is refused (422) or
finds nothing, never a 500: PostgreSQL takes no NUL in text, so one reaching a query
failed there (`/api/v1/mod/audit?action=%00` did, found by the random cursors' test;
similar discussions' title did, mended where the title is read). Every GET route the app
declares is asked with a NUL in each query parameter it reads and in each part of its
path, as a visitor and as an administrator, on both databases."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

NUL = "\x00"
# parameters the plain routes read themselves (FastAPI routes declare theirs)
COMMON = (
    *("q", "cursor", "title", "action", "page", "before", "after", "group", "author"),
    *("type", "kind", "status", "tab", "next", "sort", "order", "condition", "place"),
)


def part(name: str) -> str:
    """A path parameter's place in a route's path, as `{name}` or `{name:converter}`."""
    return r"{" + name + r"(?::\w+)?}"


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, the included routers' too (as the access canary walks them)."""
    found: list[Any] = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += _routes(route.original_router.routes)
        else:
            found.append(route)
    return found


def _asks(app: Any, group_slug: str) -> list[tuple[str, dict[str, str]]]:
    asks: list[tuple[str, dict[str, str]]] = []
    for route in _routes(app.routes):
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        if "GET" not in methods or not path or path.startswith(("/static", "/docs", "/redoc")):
            continue
        declared: list[str] = []
        if isinstance(route, APIRoute):
            declared = [p.alias for p in route.dependant.query_params]
        names = re.findall(r"{(\w+)(?::\w+)?}", path)

        real = {"slug": group_slug, "group_slug": group_slug}
        filled = path
        for name in names:
            filled = re.sub(part(name), real.get(name, "1"), filled)
        # each declared parameter alone (with another refused first, the handler would
        # never see it), then the plain routes' usual names together
        asks += [(filled, {name: NUL}) for name in declared]
        asks.append((filled, {name: NUL for name in COMMON}))
        for name in names:  # and the NUL in each part of the path in turn
            one = path
            for other in names:
                value = "%00" if other == name else real.get(other, "1")
                one = re.sub(part(other), value, one)
            asks.append((one, {}))
    return asks


async def test_a_nul_anywhere_is_refused_or_finds_nothing(
    app: Any, make_client: Any, admin: Any, group: Any
) -> None:
    asks = _asks(app, group.slug)
    assert len(asks) > 60  # every GET route, not a handful
    for client in (await make_client(), await make_client(admin)):
        for path, params in asks:
            r = await client.get(path, params=params)
            assert r.status_code < 500, (path, params, r.status_code, r.text[:200])
