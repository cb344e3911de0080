"""Putting the page cache in front of an app, and telling it of a command's writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from app.cache.invalidation import Bus, fanout_for, install
from app.cache.middleware import PageCache
from app.cache.pages import PAGES
from app.cache.store import PageStore


def install_page_cache(app: Any, settings: Any, database_url: str) -> None:
    """Make the page cache the outermost ASGI callable of `app` (ahead of Starlette's own
    error middleware: a hit runs nothing else). Writes are watched whether or not pages
    are cached, so that other processes of the host hear of this one's writes."""
    install()
    bus = Bus(settings.var_dir, fanout_for(settings, database_url))
    app.state.page_cache_bus = bus
    if settings.page_cache_entries < 1:
        app.state.page_cache = None
        return
    store = PageStore(max_entries=settings.page_cache_entries, max_bytes=settings.page_cache_bytes)
    build = app.build_middleware_stack

    def build_with_cache() -> Any:
        return PageCache(
            build(),
            store=store,
            bus=bus,
            seconds=settings.page_cache_seconds,
            pages=page_endpoints(app.routes),
        )

    app.build_middleware_stack = build_with_cache
    app.state.page_cache = PageCacheHandle(store, bus)


def page_endpoints(routes: list[Any]) -> dict[Any, str]:
    """The endpoint of every GET route of `cache.pages`, and its path template."""
    found: dict[Any, str] = {}
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included routers
            found.update(page_endpoints(route.original_router.routes))
        elif getattr(route, "path", None) in PAGES and "GET" in (route.methods or ()):
            found[route.endpoint] = route.path
    return found


class PageCacheHandle:
    """What tests, the bench and the lifespan reach through `app.state.page_cache`."""

    def __init__(self, store: PageStore, bus: Bus) -> None:
        self.store = store
        self.bus = bus


@contextlib.asynccontextmanager
async def command_bus(settings: Any) -> AsyncIterator[Bus]:
    """For a command that writes (`kindred library import`, ...): its commits empty the
    server processes' caches like a request's would."""
    install()
    bus = Bus(settings.var_dir, fanout_for(settings, settings.resolved_database_url))
    try:
        yield bus
    finally:
        await bus.close()
