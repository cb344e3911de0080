"""Pages for e-mail: settings, address verification, password reset and unsubscribe.

Unsubscribe links (`/email/unsubscribe/{token}`) deliberately do not resolve the visitor
(no AuthDep), so they carry no CSRF check: the signed token in the address is the only
credential, a forged cross-site POST cannot know it, and RFC 8058 one-click POSTs from
mail programs arrive without any cookie. GET only shows a confirmation page; POST acts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, check_permission
from app.accounts import email_service
from app.accounts.deps import (
    SESSION_COOKIE,
    AuthDep,
    CurrentUser,
    HasherDep,
    SettingsDep,
    SignerDep,
)
from app.accounts.email_api import RESET_REQUESTED
from app.accounts.email_schemas import EmailPreferencesIn, NewPasswordIn, PasswordResetRequestIn
from app.accounts.models import User
from app.core.errors import BadRequest, Invalid
from app.core.forms import read_form
from app.core.ratelimit import client_ip, limit
from app.core.seclog import security_event
from app.core.templating import render
from app.core.timing import uniform_duration
from app.db import SessionDep, keep_nothing
from app.email import preferences
from app.email.models import KIND_LABELS, EmailMode
from app.notifications.models import NotificationKind

router = APIRouter(include_in_schema=False)
KIND_FIELDS = tuple(k.value for k in NotificationKind)


async def _settings_context(
    session: SessionDep, user: User, errors: dict[str, str]
) -> dict[str, object]:
    modes = await preferences.get_preferences(session, user_id=user.id)
    return {
        "kinds": list(NotificationKind),
        "kind_labels": KIND_LABELS,
        "modes": list(EmailMode),
        "chosen": {k.value: m.value for k, m in modes.items()},
        "verified": user.email_verified_at is not None,
        "errors": errors,
    }


@router.get("/settings/email")
async def email_settings(
    request: Request, user: CurrentUser, _auth: AuthDep, session: SessionDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    return render(
        request, "accounts/email_settings.html", await _settings_context(session, user, {})
    )


@router.post("/settings/email")
async def save_email_settings(
    request: Request, user: CurrentUser, _auth: AuthDep, session: SessionDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    form = await read_form(request, EmailPreferencesIn, KIND_FIELDS, optional=KIND_FIELDS)
    if not form.ok or form.model is None:
        context = await _settings_context(session, user, form.errors)
        return render(request, "accounts/email_settings.html", context, 422)
    changes = {
        NotificationKind(kind): EmailMode(mode)
        for kind, mode in form.model.model_dump(exclude_none=True).items()
    }
    await preferences.set_preferences(session, user_id=user.id, changes=changes)
    return RedirectResponse("/settings/email?notice=email-settings-saved", status_code=303)


@router.post("/settings/email/verification")
async def resend_verification(
    request: Request, user: CurrentUser, _auth: AuthDep, session: SessionDep
) -> Response:
    check_permission(user, Action.edit_own_profile)
    await limit(request, "email_ip", client_ip(request))
    await email_service.resend_verification(session, user=user)
    return RedirectResponse("/settings/email?notice=verification-sent", status_code=303)


@router.get("/verify-email/{token}")
async def verify_email(
    request: Request,
    token: str,
    _auth: AuthDep,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    user = await email_service.verify_email(session, signer, settings, token=token[:200])
    return render(request, "accounts/email_verified.html", {"member_name": user.username})


# -- password reset ---------------------------------------------------------------------------


@router.get("/forgot-password")
async def forgot_password_form(request: Request, _auth: AuthDep) -> Response:
    return render(
        request, "accounts/forgot_password.html", {"sent": None, "errors": {}, "values": {}}
    )


@router.post("/forgot-password")
async def forgot_password(
    request: Request,
    _auth: AuthDep,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    await limit(request, "email_ip", client_ip(request))
    form = await read_form(request, PasswordResetRequestIn, ("email",))
    if not form.ok or form.model is None:
        context = {"sent": None, "errors": form.errors, "values": form.values}
        return render(request, "accounts/forgot_password.html", context, 422)
    uniform_duration(request)  # the same time whether or not it has an account
    await email_service.request_password_reset(session, signer, settings, email=form.model.email)
    # the same page whether or not an account uses the address
    return render(
        request,
        "accounts/forgot_password.html",
        {"sent": RESET_REQUESTED, "errors": {}, "values": {}},
    )


@router.get("/reset-password/{token}")
async def reset_password_form(
    request: Request, token: str, _auth: AuthDep, session: SessionDep
) -> Response:
    if not await email_service.check_reset_token(session, token=token[:200]):
        raise BadRequest(email_service.BAD_RESET, code="reset_token_invalid")
    return render(request, "accounts/reset_password.html", {"token": token, "errors": {}})


@router.post("/reset-password/{token}")
async def reset_password(
    request: Request, token: str, _auth: AuthDep, session: SessionDep, hasher: HasherDep
) -> Response:
    form = await read_form(request, NewPasswordIn, ("new_password",))
    if not form.ok or form.model is None:
        context = {"token": token, "errors": form.errors}
        return render(request, "accounts/reset_password.html", context, 422)
    try:
        user = await email_service.reset_password(
            session, hasher, token=token[:200], new_password=form.model.new_password
        )
    except Invalid as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        context = {"token": token, "errors": {exc.field or "form": exc.detail}}
        return render(request, "accounts/reset_password.html", context, exc.status_code)
    security_event("password_reset", user=user)
    response = RedirectResponse("/login?notice=password-reset", status_code=303)
    if request.cookies.get(SESSION_COOKIE):  # every session of the member has ended
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- unsubscribe (no sign-in, no CSRF: see the module docstring) ------------------------------


@router.get("/email/unsubscribe/{token}")
async def unsubscribe_form(
    request: Request, token: str, session: SessionDep, signer: SignerDep
) -> Response:
    target = await preferences.unsubscribe_target(session, signer, token=token[:300])
    return render(
        request,
        "notifications/unsubscribe.html",
        {"token": token, "target": target, "done": False, "kind_labels": KIND_LABELS},
    )


@router.post("/email/unsubscribe/{token}")
async def unsubscribe(
    request: Request, token: str, session: SessionDep, signer: SignerDep
) -> Response:
    form = await request.form()
    everything = form.get("everything") == "1"
    target = await preferences.unsubscribe(
        session, signer, token=token[:300], everything=everything
    )
    return render(
        request,
        "notifications/unsubscribe.html",
        {"token": token, "target": target, "done": True, "kind_labels": KIND_LABELS},
    )
