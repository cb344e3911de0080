"""Who is making this request, and CSRF for requests that ride on a cookie."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute, Route

from app.access.permissions import Action, check_permission
from app.accounts import service
from app.accounts.models import User
from app.accounts.service import SignedIn, Viewer
from app.config import Settings
from app.core.errors import Forbidden, NotAuthenticated
from app.core.security import (
    ANON_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    PasswordHasher,
    Signer,
    new_token,
)
from app.db import SessionDep, request_transaction

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class Auth:
    signed_in: SignedIn | None
    # what CSRF tokens are tied to: the session cookie, the anonymous cookie, or None (a
    # visitor without one yet, or a bearer token, which needs no CSRF token)
    binding: str | None
    signer: Signer | None = None
    via: str | None = None  # "session", "bearer" or None
    new_anon_cookie: str | None = None
    clear_session_cookie: bool = False
    _csrf: str | None = None

    @property
    def csrf_token(self) -> str:
        """The CSRF token of this request's forms. Made when first asked for: a visitor
        without the anonymous cookie gets one then (the page sets it), so only pages with
        a form a visitor can send (sign-in, registration, ...) carry a per-visitor token
        and cookie, and every other visitor's page is the same for all (app/cache)."""
        if self._csrf is None:
            if self.signer is None:
                self._csrf = ""
            else:
                if self.binding is None:
                    self.binding = self.new_anon_cookie = new_token(16)
                self._csrf = self.signer.sign("csrf", self.binding)
        return self._csrf

    @property
    def viewer(self) -> Viewer | None:
        """Who is asking (None: a visitor), as plain values: what permission checks and
        read-only pages need. `CurrentUser` gives routes that change the member the `User`."""
        return self.signed_in.viewer if self.signed_in else None


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_hasher(request: Request) -> PasswordHasher:
    return request.app.state.hasher  # type: ignore[no-any-return]


async def get_signer(request: Request) -> Signer:
    return request.app.state.signer  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
SignerDep = Annotated[Signer, Depends(get_signer)]


async def resolve_auth(request: Request, session: SessionDep) -> Auth:
    state = request.app.state
    header = request.headers.get("authorization", "")
    cookie = anon = None
    if header[:7].lower() == "bearer ":
        signed_in = await service.user_for_api_token(session, header[7:].strip(), state.settings)
        if signed_in is None:
            raise NotAuthenticated(
                "The access token is invalid or has expired.",
                code="invalid_token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        auth = Auth(signed_in=signed_in, binding=None, via="bearer")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        signed_in = (
            await service.user_for_session(session, state.settings, cookie) if cookie else None
        )
        anon = request.cookies.get(ANON_COOKIE)
        auth = Auth(
            signed_in=signed_in,
            binding=(cookie if signed_in else anon) or None,
            signer=state.signer,
            via="session" if signed_in else None,
            clear_session_cookie=bool(cookie and not signed_in),
        )
    request.state.auth = auth
    if auth.via != "bearer" and request.method not in SAFE_METHODS:
        await _check_csrf(request, auth, has_cookies=bool(cookie or anon))
    return auth


async def _check_csrf(request: Request, auth: Auth, *, has_cookies: bool) -> None:
    if not has_cookies and request.url.path.startswith("/api/"):
        # no ambient credentials to abuse: a script calling the API without a cookie
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not has_cookies or not hmac.compare_digest(sent, auth.csrf_token):
        raise Forbidden(
            "This form has expired or did not come from this site. "
            "Please reload the page and try again.",
            code="csrf_failed",
        )


AuthDep = Annotated[Auth, Depends(resolve_auth)]


async def require_user(auth: AuthDep, session: SessionDep) -> User:
    """The signed-in member as a `User` of this request's session, for routes that change
    things (one look-up by primary key)."""
    user = await session.get(User, auth.viewer.id) if auth.viewer else None
    if user is None:
        raise NotAuthenticated("Please sign in to do that.")
    return user


CurrentUser = Annotated[User, Depends(require_user)]


async def require_viewer(auth: AuthDep) -> Viewer:
    """The signed-in member as the sign-in look-up read them, for a route that reads what
    it needs of their row itself, with the rest of what it reads (a reply:
    `access.fetch.access_reply_context`): no look-up of its own."""
    if auth.viewer is None:
        raise NotAuthenticated("Please sign in to do that.")
    return auth.viewer


SignedInViewer = Annotated[Viewer, Depends(require_viewer)]


# -- plain routes ---------------------------------------------------------------------------

PlainPage = Callable[[Request, AsyncSession, Auth], Awaitable[Response]]


def plain_page(routes: list[BaseRoute], path: str) -> Callable[[PlainPage], PlainPage]:
    """Register a GET page as a plain Starlette route in `routes` (create_app puts them
    ahead of every router).

    For the pages read most. FastAPI's per-route machinery (routing through included
    routers, solving dependencies, validating parameters, two exit stacks) cost a
    discussion page a sixth of its CPU (measured: 1.05M of 5.8M instructions). A plain
    page takes the same steps with the same helpers: the request's transaction
    (`request_transaction`, as get_session), who is asking and the CSRF
    token (`resolve_auth`); it parses its own parameters (`core.validation.whole_number`)
    and authorizes like every route."""

    def register(page: PlainPage) -> PlainPage:
        async def endpoint(request: Request) -> Response:
            async with request_transaction(request) as session:
                return await page(request, session, await resolve_auth(request, session))

        routes.append(Route(path, endpoint, methods=["GET"], name=page.__name__))
        return page

    return register


def requires(action: Action) -> Any:
    """A route dependency that checks the permission table before anything else, the body's
    validation included, so a member calling a moderator route gets 403, not 422."""

    async def check(auth: AuthDep) -> None:
        check_permission(auth.viewer, action)

    return Depends(check)
