from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, can, check_permission
from app.accounts import email_change, registration, service, signin
from app.accounts.deps import (
    SESSION_COOKIE,
    AuthDep,
    CurrentUser,
    HasherDep,
    SettingsDep,
    SignerDep,
)
from app.accounts.models import User
from app.accounts.schemas import EmailChangeIn, PasswordChangeIn, ProfileUpdateIn, RegisterIn
from app.config import Settings
from app.core.errors import BadRequest, Conflict, Forbidden, Invalid, NotAuthenticated, RateLimited
from app.core.forms import read_form
from app.core.ratelimit import check_limit, client_ip, limit
from app.core.seclog import security_event
from app.core.templating import render
from app.core.timing import uniform_duration
from app.core.urls import safe_next
from app.core.validation import whole_number
from app.db import SessionDep, keep_nothing
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
    try:
        user = await signin.sign_in(
            request, session, hasher, login=login_name, password=password, via="form"
        )
    except (NotAuthenticated, Forbidden, RateLimited) as exc:
        # a 429 too re-renders the form, with what was typed
        response = render(
            request,
            "accounts/login.html",
            {"next": target, "errors": {"form": exc.detail}, "values": {"username": login_name}},
            status_code=exc.status_code,
        )
        response.headers.update(exc.headers or {})
        return response
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
        if auth.viewer is not None:
            security_event("signed_out")
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
    signer: SignerDep,
) -> Response:
    """The same page, after the same work, whether or not the address has an account
    (app/accounts/registration.py); the link in the e-mail creates the account."""
    form = await read_form(request, RegisterIn, ("username", "email", "password"))
    target = safe_next(str((await request.form()).get("next", "/")))
    values = {k: v for k, v in form.values.items() if k != "password"}

    def again(
        errors: dict[str, str], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        response = render(
            request,
            "accounts/register.html",
            {"next": target, "errors": errors, "values": values},
            status,
        )
        response.headers.update(headers or {})
        return response

    try:
        # the budget counts registrations accepted, not refused forms
        await check_limit(request, "register_ip", client_ip(request))
    except RateLimited as exc:
        return again({"form": exc.detail}, 429, exc.headers)
    if not form.ok:
        return again(form.errors, 422)
    assert form.model is not None
    try:
        uniform_duration(request)
        pending = await registration.request_registration(
            session,
            hasher,
            signer,
            username=form.model.username,
            email=form.model.email,
            password=form.model.password,
            next_path=target,
        )
    except (Conflict, Invalid) as exc:
        if exc.code == "taken":  # lost a race at flush: the transaction must roll back
            raise
        return again({exc.field or "form": exc.detail}, exc.status_code)
    with contextlib.suppress(RateLimited):  # counted; a race past the check still registers
        await limit(request, "register_ip", client_ip(request))
    security_event("registration_requested", username=pending.username)
    return render(
        request,
        "accounts/register_sent.html",
        {"message": registration.sent_message(form.model.email)},
    )


@router.get("/register/confirm/{token}")
async def register_confirm_form(
    request: Request, token: str, auth: AuthDep, session: SessionDep
) -> Response:
    """A page with a button: following a link (or a mail scanner fetching it) creates and
    signs in nothing by itself."""
    pending = await registration.live_pending(session, token[:100])
    if pending is None:
        raise BadRequest(registration.BAD_LINK, code="registration_link_invalid")
    return render(
        request,
        "accounts/register_confirm.html",
        {"token": token[:100], "pending_username": pending.username},
    )


@router.post("/register/confirm/{token}")
async def register_confirm(
    request: Request, token: str, auth: AuthDep, session: SessionDep, settings: SettingsDep
) -> Response:
    pending = await registration.live_pending(session, token[:100])
    target = safe_next(pending.next_path) if pending is not None else "/"
    user = await registration.confirm_registration(session, token=token[:100])
    security_event("registered", user=user)
    token_value = await service.start_session(
        session, settings, user=user, user_agent=request.headers.get("user-agent", "")
    )
    return _signed_in_redirect(
        settings, token_value, target if target != "/" else "/?notice=welcome"
    )


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
        "tokens": await service.list_api_tokens(session, user=user),
        "email": user.email,
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
    security_event("session_ended")
    return RedirectResponse("/settings?notice=session-ended", status_code=303)


@router.post("/settings/sessions/end-others")
async def end_other_sessions(user: CurrentUser, auth: AuthDep, session: SessionDep) -> Response:
    """Every other browser session and every API token end."""
    assert auth.signed_in is not None
    await service.end_other_sessions(
        session, user=user, keep_session_id=auth.signed_in.session_id, keep_token_id=None
    )
    security_event("signed_out_everywhere_else")
    return RedirectResponse("/settings?notice=sessions-ended", status_code=303)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(token_id: str, user: CurrentUser, session: SessionDep) -> Response:
    check_permission(user, Action.edit_own_profile)
    number = whole_number(token_id, "token_id")
    if await service.revoke_own_api_token(session, user=user, token_id=number):
        security_event("token_revoked", token_id=number)
    return RedirectResponse("/settings?notice=token-revoked", status_code=303)


@router.post("/settings/tokens/revoke-all")
async def revoke_all_tokens(user: CurrentUser, session: SessionDep) -> Response:
    check_permission(user, Action.edit_own_profile)
    count = await service.revoke_all_api_tokens(session, user=user)
    security_event("tokens_revoked_all", count=count)
    return RedirectResponse("/settings?notice=tokens-revoked", status_code=303)


@router.post("/settings/profile")
async def update_profile(
    request: Request, user: CurrentUser, auth: AuthDep, session: SessionDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    form = await read_form(request, ProfileUpdateIn, ("bio",))
    if not form.ok or form.model is None:
        context = await _settings_context(session, auth, user, form.errors, form.values)
        return render(request, "accounts/settings.html", context, 422)
    await service.update_profile(session, user=user, bio=form.model.bio or "")
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
    assert auth.signed_in is not None
    try:
        await signin.check_current_password(request, user)
        await service.change_password(
            session,
            hasher,
            user=user,
            current_password=form.model.current_password,
            new_password=form.model.new_password,
            signed_in=auth.signed_in,
        )
    except (Invalid, RateLimited) as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        if isinstance(exc, Invalid):
            await signin.count_wrong_current_password(request, user, exc)
        errors = {exc.field or "form": exc.detail}
        context = await _settings_context(session, auth, user, errors, values)
        response = render(request, "accounts/settings.html", context, exc.status_code)
        response.headers.update(exc.headers or {})
        return response
    security_event("password_changed")
    return RedirectResponse("/settings?notice=password-changed", status_code=303)


@router.post("/settings/email-address")
async def change_email_address(
    request: Request, user: CurrentUser, auth: AuthDep, session: SessionDep, hasher: HasherDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    form = await read_form(request, EmailChangeIn, ("current_password", "new_email"))
    values = {"bio": user.bio, "new_email": str(form.values.get("new_email", ""))}
    if not form.ok or form.model is None:
        context = await _settings_context(session, auth, user, form.errors, values)
        return render(request, "accounts/settings.html", context, 422)
    try:
        await signin.check_current_password(request, user)
        await email_change.request_email_change(
            session,
            hasher,
            user=user,
            current_password=form.model.current_password,
            new_email=form.model.new_email,
        )
    except (Invalid, RateLimited) as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        if isinstance(exc, Invalid):
            await signin.count_wrong_current_password(request, user, exc)
        # the form's own message (the password field beside it belongs to this form)
        errors = {"new_email" if exc.field == "new_email" else "form": exc.detail}
        context = await _settings_context(session, auth, user, errors, values)
        response = render(request, "accounts/settings.html", context, exc.status_code)
        response.headers.update(exc.headers or {})
        return response
    security_event("email_change_requested")
    return RedirectResponse("/settings?notice=email-change-sent", status_code=303)


@router.get("/settings/email-address/confirm/{token}")
async def confirm_email_address_form(request: Request, token: str, auth: AuthDep) -> Response:
    """A page with a button (a link fetched by a mail scanner changes nothing)."""
    return render(request, "accounts/email_change_confirm.html", {"token": token[:600]})


@router.post("/settings/email-address/confirm/{token}")
async def confirm_email_address(
    request: Request, token: str, auth: AuthDep, session: SessionDep, signer: SignerDep
) -> Response:
    user, old = await email_change.confirm_email_change(session, signer, token=token[:600])
    security_event("email_changed", user=user)
    target = "/settings?notice=email-changed" if auth.viewer else "/login?notice=email-changed"
    return RedirectResponse(target, status_code=303)
