"""Every route of the app, with every role: allowed or refused as the permission table says.

A new route without a rule here fails `test_every_route_has_a_rule`, so nobody can add an
endpoint without deciding who may call it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from starlette.routing import Route

from app.accounts.models import Role, User
from app.db import utcnow

V, M, MENTOR, MOD, ADMIN = "visitor", "member", "mentor", "moderator", "admin"
LADDER = [V, M, MENTOR, MOD, ADMIN]

# (method, path) -> the lowest role allowed. Post and discussion targets belong to another
# member ("author"), so editing or deleting them needs a moderator.
RULES: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): V,
    ("GET", "/api/docs"): V,
    ("GET", "/docs/oauth2-redirect"): V,
    ("GET", "/healthz"): V,
    # accounts
    ("POST", "/api/v1/auth/register"): V,
    ("POST", "/api/v1/auth/token"): V,
    ("DELETE", "/api/v1/auth/token"): M,
    ("GET", "/api/v1/me"): M,
    ("PATCH", "/api/v1/me"): M,
    ("POST", "/api/v1/me/password"): M,
    ("GET", "/api/v1/users/{username}"): V,
    ("GET", "/login"): V,
    ("POST", "/login"): V,
    ("POST", "/logout"): V,
    ("GET", "/register"): V,
    ("POST", "/register"): V,
    ("GET", "/users/{username}"): V,
    ("GET", "/settings"): M,
    ("POST", "/settings/sessions/{session_id}/end"): M,
    ("POST", "/settings/sessions/end-others"): M,
    ("POST", "/settings/profile"): M,
    ("POST", "/settings/password"): M,
    ("GET", "/api/v1/me/tokens"): M,
    ("POST", "/api/v1/auth/register/confirm"): V,
    ("GET", "/register/confirm/{token}"): V,
    ("POST", "/register/confirm/{token}"): V,
    ("POST", "/api/v1/me/email"): M,
    ("POST", "/api/v1/me/email/confirm"): V,
    ("POST", "/settings/email-address"): M,
    ("GET", "/settings/email-address/confirm/{token}"): V,
    ("POST", "/settings/email-address/confirm/{token}"): V,
    ("DELETE", "/api/v1/me/tokens/{token_id}"): M,
    ("DELETE", "/api/v1/me/tokens"): M,
    ("POST", "/settings/tokens/{token_id}/revoke"): M,
    ("POST", "/settings/tokens/revoke-all"): M,
    # mentions, following, notifications, live updates (app/notifications)
    ("GET", "/api/v1/users/suggest"): M,
    ("POST", "/api/v1/discussions/{discussion_id}/follow"): M,
    ("DELETE", "/api/v1/discussions/{discussion_id}/follow"): M,
    ("POST", "/api/v1/groups/{slug}/follow"): M,
    ("DELETE", "/api/v1/groups/{slug}/follow"): M,
    ("GET", "/api/v1/notifications"): M,
    ("POST", "/api/v1/notifications/read-all"): M,
    ("POST", "/api/v1/notifications/{notification_id}/read"): M,
    ("GET", "/api/v1/discussions/{discussion_id}/events"): V,
    ("GET", "/notifications"): M,
    ("GET", "/notifications/{notification_id}"): M,
    ("POST", "/notifications/{notification_id}/read"): M,
    ("POST", "/notifications/read-all"): M,
    ("POST", "/discussions/{discussion_id}/follow"): M,
    ("POST", "/groups/{slug}/follow"): M,
    ("POST", "/settings/notifications"): M,
    ("GET", "/posts/{post_id}/fragment"): V,
    ("GET", "/posts/{post_id}/mentions"): M,  # the author's own (404 for others)
    ("POST", "/posts/{post_id}/mentions"): M,
    # e-mail: preferences, verification, password reset, unsubscribe (the signed link in
    # the address is the credential: open to visitors, refused with 400 when altered)
    ("GET", "/api/v1/me/email-preferences"): M,
    ("PUT", "/api/v1/me/email-preferences"): M,
    ("POST", "/api/v1/me/email/verification"): M,
    ("POST", "/api/v1/auth/verify-email"): V,
    ("POST", "/api/v1/auth/password-reset"): V,
    ("POST", "/api/v1/auth/password-reset/confirm"): V,
    ("GET", "/settings/email"): M,
    ("POST", "/settings/email"): M,
    ("POST", "/settings/email/verification"): M,
    ("GET", "/verify-email/{token}"): V,
    ("GET", "/forgot-password"): V,
    ("POST", "/forgot-password"): V,
    ("GET", "/reset-password/{token}"): V,
    ("POST", "/reset-password/{token}"): V,
    ("GET", "/email/unsubscribe/{token}"): V,
    ("POST", "/email/unsubscribe/{token}"): V,
    # groups and discussions
    ("GET", "/api/v1/groups"): V,
    ("POST", "/api/v1/groups"): ADMIN,
    ("GET", "/api/v1/groups/{slug}"): V,
    ("GET", "/api/v1/groups/{slug}/discussions"): V,
    ("POST", "/api/v1/groups/{slug}/discussions"): M,
    ("GET", "/api/v1/discussions/{discussion_id}"): V,
    ("GET", "/api/v1/discussions/{discussion_id}/posts"): V,
    ("POST", "/api/v1/discussions/{discussion_id}/posts"): M,
    ("GET", "/api/v1/posts/{post_id}"): V,
    ("PATCH", "/api/v1/posts/{post_id}"): MOD,
    ("DELETE", "/api/v1/posts/{post_id}"): MOD,
    ("GET", "/api/v1/posts/{post_id}/history"): MOD,
    ("GET", "/api/v1/posts/{post_id}/reactions"): V,
    ("POST", "/api/v1/posts/{post_id}/reactions"): M,
    ("GET", "/"): V,
    ("GET", "/groups"): V,
    ("GET", "/groups/{slug}"): V,
    ("GET", "/groups/{slug}/new"): M,
    ("POST", "/groups/{slug}/new"): M,
    ("GET", "/discussions/{discussion_id}"): V,
    ("GET", "/discussions/{discussion_id}/{slug}"): V,
    ("POST", "/discussions/{discussion_id}/replies"): M,
    ("GET", "/posts/{post_id}"): V,
    ("GET", "/posts/{post_id}/reply"): M,
    ("GET", "/posts/{post_id}/edit"): MOD,
    ("POST", "/posts/{post_id}/edit"): MOD,
    ("POST", "/posts/{post_id}/delete"): MOD,
    ("POST", "/posts/{post_id}/reactions"): M,
    ("GET", "/posts/{post_id}/history"): MOD,
    ("GET", "/posts/{post_id}/reactions"): V,
    # flags and moderation
    ("POST", "/api/v1/posts/{post_id}/flags"): M,
    ("GET", "/posts/{post_id}/flag"): M,
    ("POST", "/posts/{post_id}/flag"): M,
    ("GET", "/api/v1/mod/queue"): MOD,
    ("POST", "/api/v1/mod/flags/{flag_id}/resolve"): MOD,
    ("POST", "/api/v1/mod/posts/{post_id}/{action}"): MOD,
    ("PATCH", "/api/v1/mod/posts/{post_id}"): MOD,
    ("PATCH", "/api/v1/mod/discussions/{discussion_id}"): MOD,
    ("GET", "/api/v1/mod/users/{username}"): MOD,
    ("PATCH", "/api/v1/mod/users/{username}"): MOD,
    ("GET", "/api/v1/mod/audit"): MOD,
    ("GET", "/mod/queue"): MOD,
    ("POST", "/mod/flags/{flag_id}/resolve"): MOD,
    ("POST", "/mod/posts/{post_id}/{action}"): MOD,
    ("POST", "/mod/discussions/{discussion_id}/{action}"): MOD,
    ("GET", "/mod/users/{username}"): MOD,
    ("POST", "/mod/users/{username}/{action}"): MOD,
    ("GET", "/mod/audit"): MOD,
    ("GET", "/api/v1/admin/settings"): ADMIN,
    ("PATCH", "/api/v1/admin/settings"): ADMIN,
    ("GET", "/admin/settings"): ADMIN,
    ("POST", "/admin/settings"): ADMIN,
    # canned responses (mentors use, moderators change) and appointment links (admins)
    ("GET", "/api/v1/canned-responses"): MENTOR,
    ("POST", "/api/v1/canned-responses"): MOD,
    ("GET", "/api/v1/canned-responses/{canned_id}"): MENTOR,
    ("PATCH", "/api/v1/canned-responses/{canned_id}"): MOD,
    ("DELETE", "/api/v1/canned-responses/{canned_id}"): MOD,
    ("POST", "/api/v1/canned-responses/{canned_id}/render"): MENTOR,
    ("GET", "/mod/canned"): MENTOR,
    ("GET", "/mod/canned/new"): MOD,
    ("POST", "/mod/canned/new"): MOD,
    ("GET", "/mod/canned/{canned_id}/edit"): MOD,
    ("POST", "/mod/canned/{canned_id}/edit"): MOD,
    ("POST", "/mod/canned/{canned_id}/retire"): MOD,
    ("POST", "/mod/canned/{canned_id}/restore"): MOD,
    ("GET", "/api/v1/admin/appointments"): ADMIN,
    ("POST", "/api/v1/admin/appointments"): ADMIN,
    ("PATCH", "/api/v1/admin/appointments/{appointment_key}"): ADMIN,
    ("DELETE", "/api/v1/admin/appointments/{appointment_key}"): ADMIN,
    ("GET", "/admin/appointments"): ADMIN,
    ("POST", "/admin/appointments"): ADMIN,
    # safety (app/safety): the composer's check, members' country, the queue's items
    ("POST", "/api/v1/posts/check"): M,
    ("PATCH", "/api/v1/groups/{slug}"): ADMIN,
    ("POST", "/groups/{slug}/visibility"): ADMIN,
    ("POST", "/settings/country"): M,
    ("GET", "/api/v1/me/export"): M,
    ("GET", "/settings/export"): M,
    ("DELETE", "/api/v1/me"): M,
    ("GET", "/settings/delete"): M,
    ("POST", "/settings/delete"): M,
    ("POST", "/api/v1/mod/safety/{review_id}/resolve"): MOD,
    ("POST", "/mod/safety/{review_id}/resolve"): MOD,
    ("GET", "/admin/appointments/{appointment_key}/edit"): ADMIN,
    ("POST", "/admin/appointments/{appointment_key}/edit"): ADMIN,
    ("POST", "/admin/appointments/{appointment_key}/delete"): ADMIN,
    ("GET", "/admin/appointments/{appointment_key}/delete"): ADMIN,
    # the moderation hub, member directory and deleted posts (moderators), groups (admins)
    ("GET", "/mod"): MOD,
    ("GET", "/mod/users"): MOD,
    ("GET", "/mod/deleted"): MOD,
    ("GET", "/mod/posts/{post_id}/deleted"): MOD,
    ("POST", "/mod/deleted/{post_id}/restore"): MOD,
    ("POST", "/api/v1/mod/deleted/{post_id}/restore"): MOD,
    ("GET", "/posts/{post_id}/delete"): MOD,  # the confirmation (someone else's post)
    ("GET", "/admin/groups"): ADMIN,
    ("POST", "/admin/groups"): ADMIN,
    ("GET", "/admin/groups/{slug}/edit"): ADMIN,
    ("POST", "/admin/groups/{slug}/edit"): ADMIN,
    ("POST", "/admin/groups/{slug}/archive"): ADMIN,
    ("POST", "/admin/groups/{slug}/unarchive"): ADMIN,
    # search and discovery (app/search)
    ("GET", "/search"): V,
    ("GET", "/api/v1/search"): V,
    ("GET", "/api/v1/discussions/similar"): V,
    ("GET", "/unanswered"): MENTOR,
    ("GET", "/api/v1/unanswered"): MENTOR,
    ("GET", "/mod/searches"): MOD,
    ("GET", "/api/v1/mod/searches"): MOD,
    ("GET", "/feeds/latest.atom"): V,
    ("GET", "/groups/{slug}/feed.atom"): V,
    ("GET", "/discussions/{discussion_id}/feed.atom"): V,
    ("GET", "/sitemap.xml"): V,
    ("GET", "/sitemaps/site.xml"): V,
    ("GET", "/sitemaps/discussions.xml"): V,
    ("GET", "/robots.txt"): V,
    # the health library and saved items (app/library)
    ("GET", "/api/v1/library"): V,
    ("GET", "/api/v1/library/{slug}"): V,
    ("GET", "/api/v1/library/{slug}/trials"): V,
    ("GET", "/library"): V,
    ("GET", "/library/{slug}"): V,
    ("GET", "/api/v1/saved"): M,
    ("POST", "/api/v1/saved"): M,
    ("DELETE", "/api/v1/saved/{saved_id}"): M,
    ("GET", "/saved"): M,
    ("POST", "/saved"): M,  # a visitor is sent to sign in, and comes back with it saved
    ("GET", "/saved/return"): M,
    ("GET", "/saved/start"): V,  # a visitor's Save button: on to sign in
    ("POST", "/saved/{saved_id}/delete"): M,
    ("GET", "/admin/library"): ADMIN,
    ("POST", "/admin/library/{slug}/{action}"): ADMIN,
}

# path parameters filled per route (keyed by parameter name, or by path for "action")
ACTIONS = {
    "/api/v1/mod/posts/{post_id}/{action}": "hide",
    "/mod/posts/{post_id}/{action}": "hide",
    "/mod/discussions/{discussion_id}/{action}": "lock",
    "/mod/users/{username}/{action}": "suspend",
    "/admin/library/{slug}/{action}": "unpublish",
}


# valid bodies where the check depends on the object (whose post it is), so that the answer
# is about permission and not about a missing field
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/posts/{post_id}"): {"body": "edited by someone"},
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included routers
                walk(route.original_router.routes)
            elif isinstance(route, Route):
                found.update((m, route.path) for m in route.methods or () if m != "HEAD")

    walk(app.routes)
    return found


def test_every_route_has_a_rule(app):
    routes = app_routes(app)
    missing = sorted(routes - set(RULES))
    stale = sorted(set(RULES) - routes)
    assert not missing, f"routes without a permission rule in this test: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


async def builtin_canned_id(app: Any, key: str) -> int:
    from sqlalchemy import select

    from app.moderation.models import CannedResponse

    async with app.state.db.sessionmaker() as s:
        return int(await s.scalar(select(CannedResponse.id).where(CannedResponse.key == key)))


@pytest.fixture
async def targets(app, make_user, make_client, group):
    author = await make_user("post_author")
    c = await make_client(author)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Target discussion", "body": "question"},
        )
    ).json()
    p = (
        await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "a reply"})
    ).json()
    flagger = await make_client(await make_user("flagger"))
    f = (
        await flagger.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
    ).json()
    return {
        "username": author.username,
        "slug": group.slug,
        "discussion_id": d["id"],
        "post_id": p["id"],
        "flag_id": f["id"],
        "session_id": "not-a-session",
        "token_id": 1,
        "discussion_slug": d["url"].rsplit("/", 1)[1],
        # a built-in canned response and a default appointment link (installed by migration)
        "canned_id": await builtin_canned_id(app, "welcome"),
        "appointment_key": "request",
    }


def fill(path: str, values: dict[str, Any]) -> str:
    url = path.replace("{action}", ACTIONS.get(path, "x"))
    if path.startswith("/discussions/{discussion_id}/{slug}"):
        url = url.replace("{slug}", values["discussion_slug"])
    for name, value in values.items():
        url = url.replace("{" + name + "}", str(value))
    return url


async def call(client: Any, method: str, path: str, url: str) -> Any:
    if method == "GET":
        return await client.get(url)
    if url.startswith("/api/"):
        return await client.api(method, url, json=BODIES.get((method, path), {}))
    return await client.form(url, {})


async def test_every_route_with_every_role(
    app, make_user, make_client, targets, connection, session
):
    users: dict[str, User | None] = {V: None}
    for role in (M, MENTOR, MOD, ADMIN):
        users[role] = await make_user(f"walker_{role}", Role(role))
    suspended = await make_user("walker_suspended")
    clients = {role: await make_client(user) for role, user in users.items()}
    clients["suspended"] = await make_client(suspended)
    await session.execute(update(User).where(User.id == suspended.id).values(suspended_at=utcnow()))
    await session.commit()

    failures = []
    for (method, path), lowest in sorted(RULES.items()):
        url = fill(path, targets)
        # each route starts from the same state: what an allowed call changed is undone
        nested = await connection.begin_nested()
        try:
            for role in [V, "suspended", M, MENTOR, MOD, ADMIN]:
                # a suspended member's session no longer counts: they are a visitor (whose
                # stale form token is refused with 403 before anything else)
                rung = LADDER.index(V if role == "suspended" else role)
                allowed = rung >= LADDER.index(lowest)
                r = await call(clients[role], method, path, url)
                to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
                refused = r.status_code in (401, 403) or to_login
                if r.status_code >= 500:
                    failures.append(f"{method} {url} as {role}: {r.status_code}")
                elif lowest == V:
                    continue  # open to all: a 401 here is a wrong password, not a rule
                elif allowed and refused:
                    failures.append(f"{method} {url} as {role}: refused ({r.status_code})")
                elif not allowed and not refused:
                    failures.append(f"{method} {url} as {role}: {r.status_code}, not refused")
                elif not allowed and role == V and r.status_code == 403:
                    failures.append(f"{method} {url} as a visitor: 403 instead of sign in")
                elif not allowed and role in (M, MENTOR, MOD) and r.status_code != 403:
                    failures.append(f"{method} {url} as {role}: {r.status_code} instead of 403")
        finally:
            await nested.rollback()
    assert not failures, "\n".join(failures)
