"""The app factory: settings in, a configured FastAPI app out."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.health import HealthCheckMiddleware
from app.core.ratelimit import RateLimiter
from app.core.security import (
    BodySizeLimitMiddleware,
    PasswordHasher,
    SecurityHeadersMiddleware,
    Signer,
)
from app.core.templating import STATIC_DIR, Templates
from app.db import Database


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(
        settings.resolved_database_url, settings.db_pool_size, settings.db_reader_connections
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the e-mail outbox worker runs in this process unless turned off (production runs
        # `kindred worker`; tests turn it on only where they need it)
        from app.email.worker import start_in_process

        email_worker = start_in_process(app) if settings.email_worker_in_process else None
        # live-update streams end as soon as the server starts shutting down
        app.state.live.end_streams_on_signals()
        # What is alive now lives as long as the process (modules, the app, the routes):
        # taken out of the collector's view, the full collections that busy pages trigger
        # no longer walk it every time (measured: a tenth of a discussion page's CPU).
        gc.collect()
        gc.freeze()
        # the page cache serves nothing until it listens to the other hosts (app/cache)
        await app.state.page_cache_bus.start()
        yield
        await app.state.page_cache_bus.close()
        await app.state.live.close()
        if email_worker is not None:
            await email_worker.close()
        if database is None:
            await db.dispose()

    app = FastAPI(
        title="Kindred",
        version="0.1.0",
        description="Patient-community discussion forum. JSON API under /api/v1.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        # Kindred sets up no OpenTelemetry; left on, FastAPI's native telemetry looks up
        # three global providers (and the environment) on every request to find that out
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.db = db
    app.state.hasher = PasswordHasher(fast=settings.env == "test")
    app.state.signer = Signer(settings.resolved_secret_key())
    app.state.rate_limiter = RateLimiter(settings)
    from app.accounts.models import Role

    app.state.templates = Templates(
        auto_reload=settings.is_development,
        site_name=settings.site_name,
        role_badges={role.value: role.badge is not None for role in Role},
    )
    from app.discussions.post_html import PostsHtml

    # the posts of a discussion page, written in Python (app/discussions/post_html.py)
    app.state.templates.env.globals["posts"] = PostsHtml(app.state.templates.env.globals["badges"])

    install_error_handlers(app)
    # Each add_middleware wraps the ones added before it: the first added is innermost.
    # innermost: GET /healthz answered after all of Kindred's middleware, before routing
    app.add_middleware(HealthCheckMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.env == "production")
    from app.live.hub import Hub, LiveContextMiddleware

    app.state.live = Hub.for_app(settings, db)
    app.add_middleware(LiveContextMiddleware, hub=app.state.live)
    # outermost: HEAD as GET, Cache-Control, the request for the security log
    from app.core.http_policy import HttpPolicyMiddleware
    from app.core.seclog import configure as configure_security_log

    app.add_middleware(HttpPolicyMiddleware)
    configure_security_log()

    from app.accounts import api as accounts_api
    from app.accounts import email_api, email_pages
    from app.accounts import pages as accounts_pages
    from app.discussions import api as discussions_api
    from app.discussions import pages as discussions_pages
    from app.groups import admin_pages as groups_admin_pages
    from app.groups import api as groups_api
    from app.groups import pages as groups_pages
    from app.library import api as library_api
    from app.library import pages as library_pages
    from app.moderation import api as moderation_api
    from app.moderation import deleted_api, deleted_pages, hub_pages
    from app.moderation import pages as moderation_pages
    from app.moderation.canned import api as canned_api
    from app.moderation.canned import appointments_api, appointments_pages
    from app.moderation.canned import pages as canned_pages
    from app.notifications import api as notifications_api
    from app.notifications import pages as notifications_pages
    from app.safety import api as safety_api
    from app.safety import pages as safety_pages
    from app.search import api as search_api
    from app.search import feeds as search_feeds
    from app.search import pages as search_pages
    from app.search import sitemaps as search_sitemaps

    # Routes are tried in order, and matching costs time on every request: the plain
    # routes of the pages read most (accounts.deps.plain_page) come first, then the routers
    app.router.routes[0:0] = [
        *search_feeds.PLAIN_ROUTES,  # /discussions/{id}/feed.atom before /discussions/{id}/{slug}
        *discussions_pages.PLAIN_ROUTES,
        *groups_pages.PLAIN_ROUTES,
        *search_api.PLAIN_ROUTES,  # similar discussions, asked as a title is typed
    ]
    # the one write a busy forum serves most, ahead of the routers (app/discussions/api.py)
    app.include_router(discussions_api.reply_router)
    for module in (
        discussions_pages,
        groups_pages,
        # /api/v1/users/suggest before /api/v1/users/{username}
        notifications_api,
        notifications_pages,
        accounts_api,
        email_api,
        email_pages,
        groups_api,
        # /api/v1/discussions/similar before /api/v1/discussions/{discussion_id}
        search_api,
        safety_api,  # POST /api/v1/posts/check
        discussions_api,
        accounts_pages,
        moderation_api,
        moderation_pages,
        canned_api,
        canned_pages,
        appointments_api,
        appointments_pages,
        # the moderation hub, member directory, deleted posts, group administration
        hub_pages,
        deleted_pages,
        deleted_api,
        groups_admin_pages,
        search_pages,
        search_feeds,
        search_sitemaps,
        library_api,
        library_pages,
        safety_pages,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        # GET is answered by core.health.HealthCheckMiddleware before routing; the route
        # keeps /healthz in the route tables (and 405 for other methods)
        return {"status": "ok"}

    # outermost of all, ahead of Starlette's own error middleware: visitors' pages from
    # memory (app/cache)
    from app.cache.setup import install_page_cache

    install_page_cache(app, settings, db.url)

    return app
