from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, can, check_permission
from app.accounts import service
from app.accounts.deps import SESSION_COOKIE, AuthDep, CurrentUser, HasherDep, SettingsDep
from app.accounts.models import User
from app.accounts.schemas import PasswordChangeIn, ProfileUpdateIn, RegisterIn
from app.config import Settings
from app.core.errors import Forbidden, NotAuthenticated
from app.core.forms import read_form
from app.core.ratelimit import client_ip, limit
from app.core.templating import render
from app.core.urls import safe_next
from app.db import SessionDep
from app.discussions.reading import count_posts_by, recent_posts_by
from app.safety.settings import country_choices

router = APIRouter(include_in_schema=False)


def _signed_in_redirect(settings: Settings, token: str, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


@router.get("/login")
async def login_form(request: Request, auth: AuthDep, next: str = "/") -> Response:
    if auth.viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request, "accounts/login.html", {"next": safe_next(next), "errors": {}, "values": {}}
    )


@router.post("/login")
async def login(
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    login_name = str(form.get("username", ""))[:320]
    password = str(form.get("password", ""))[:256]
    target = safe_next(str(form.get("next", "/")))
    await limit(request, "login_ip", client_ip(request))
    await limit(request, "login_user", login_name.strip().lower())
    try:
        user = await service.authenticate(session, hasher, login=login_name, password=password)
    except (NotAuthenticated, Forbidden) as exc:
        return render(
            request,
            "accounts/login.html",
            {"next": target, "errors": {"form": exc.detail}, "values": {"username": login_name}},
            status_code=exc.status_code,
        )
    if auth.signed_in and auth.signed_in.session_id and request.cookies.get(SESSION_COOKIE):
        await service.end_session(session, request.cookies[SESSION_COOKIE])
    token = await service.start_session(
        session, settings, user=user, user_agent=request.headers.get("user-agent", "")
    )
    return _signed_in_redirect(settings, token, target)


@router.post("/logout")
async def logout(request: Request, auth: AuthDep, session: SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await service.end_session(session, cookie)
    response = RedirectResponse("/?notice=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/register")
async def register_form(request: Request, auth: AuthDep, next: str = "/") -> Response:
    if auth.viewer is not None:
        return RedirectResponse("/", status_code=303)
    return render(
        request, "accounts/register.html", {"next": safe_next(next), "errors": {}, "values": {}}
    )


@router.post("/register")
async def register(
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> Response:
    await limit(request, "register_ip", client_ip(request))
    form = await read_form(request, RegisterIn, ("username", "email", "password"))
    target = safe_next(str((await request.form()).get("next", "/")))
    values = {k: v for k, v in form.values.items() if k != "password"}
    if not form.ok:
        return render(
            request,
            "accounts/register.html",
            {"next": target, "errors": form.errors, "values": values},
            422,
        )
    assert form.model is not None
    from app.core.errors import Conflict, Invalid

    try:
        user = await service.register(
            session,
            hasher,
            username=form.model.username,
            email=form.model.email,
            password=form.model.password,
        )
    except (Conflict, Invalid) as exc:
        if exc.code == "taken":  # lost a race at flush: the transaction must roll back
            raise
        return render(
            request,
            "accounts/register.html",
            {"next": target, "errors": {exc.field or "form": exc.detail}, "values": values},
            exc.status_code,
        )
    token = await service.start_session(
        session, settings, user=user, user_agent=request.headers.get("user-agent", "")
    )
    return _signed_in_redirect(settings, token, target if target != "/" else "/?notice=welcome")


@router.get("/users/{username}")
async def profile(request: Request, username: str, auth: AuthDep, session: SessionDep) -> Response:
    check_permission(auth.viewer, Action.read)
    user = await service.access_user(session, username)
    posts = await recent_posts_by(session, author=user, viewer=auth.viewer, limit=10)
    post_count = await count_posts_by(session, author=user, viewer=auth.viewer)
    return render(
        request,
        "accounts/profile.html",
        {
            "member": user,
            "posts": posts,
            "post_count": post_count,
            "can_moderate_member": can(auth.viewer, Action.suspend_members),
        },
    )


async def _settings_context(
    session: SessionDep, auth: AuthDep, user: User, errors: dict[str, str], values: dict[str, str]
) -> dict[str, object]:
    return {
        "errors": errors,
        "values": values,
        "sessions": await service.list_sessions(session, user=user),
        "current_session_id": auth.signed_in.session_id if auth.signed_in else None,
        "countries": country_choices(),
        "country": user.country or "",
    }


@router.get("/settings")
async def settings_page(
    request: Request, user: CurrentUser, auth: AuthDep, session: SessionDep
) -> Response:
    context = await _settings_context(session, auth, user, {}, {"bio": user.bio})
    return render(request, "accounts/settings.html", context)


@router.post("/settings/sessions/{session_id}/end")
async def end_one_session(session_id: str, user: CurrentUser, session: SessionDep) -> Response:
    await service.revoke_session(session, user=user, session_id=session_id[:64])
    return RedirectResponse("/settings?notice=session-ended", status_code=303)


@router.post("/settings/sessions/end-others")
async def end_other_sessions(user: CurrentUser, auth: AuthDep, session: SessionDep) -> Response:
    assert auth.signed_in is not None
    await service.end_other_sessions(
        session,
        user=user,
        keep_session_id=auth.signed_in.session_id,
        keep_token_id=None,
        include_tokens=False,
    )
    return RedirectResponse("/settings?notice=sessions-ended", status_code=303)


@router.post("/settings/profile")
async def update_profile(
    request: Request, user: CurrentUser, auth: AuthDep, session: SessionDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    form = await read_form(request, ProfileUpdateIn, ("bio",))
    if not form.ok or form.model is None:
        context = await _settings_context(session, auth, user, form.errors, form.values)
        return render(request, "accounts/settings.html", context, 422)
    await service.update_profile(session, user=user, bio=form.model.bio)
    return RedirectResponse("/settings?notice=profile-saved", status_code=303)


@router.post("/settings/password")
async def change_password(
    request: Request, user: CurrentUser, auth: AuthDep, session: SessionDep, hasher: HasherDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    form = await read_form(request, PasswordChangeIn, ("current_password", "new_password"))
    values = {"bio": user.bio}
    if not form.ok or form.model is None:
        context = await _settings_context(session, auth, user, form.errors, values)
        return render(request, "accounts/settings.html", context, 422)
    from app.core.errors import Invalid

    assert auth.signed_in is not None
    try:
        await service.change_password(
            session,
            hasher,
            user=user,
            current_password=form.model.current_password,
            new_password=form.model.new_password,
            signed_in=auth.signed_in,
        )
    except Invalid as exc:
        errors = {exc.field or "form": exc.detail}
        context = await _settings_context(session, auth, user, errors, values)
        return render(request, "accounts/settings.html", context, 422)
    return RedirectResponse("/settings?notice=password-changed", status_code=303)
