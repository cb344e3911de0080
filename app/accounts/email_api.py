"""JSON API for e-mail: preferences, address verification and password reset."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.access.permissions import Action, check_permission
from app.accounts import email_service
from app.accounts.deps import AuthDep, CurrentUser, HasherDep, SettingsDep, SignerDep
from app.accounts.email_schemas import (
    DetailOut,
    EmailPreferencesIn,
    EmailPreferencesOut,
    PasswordResetIn,
    PasswordResetRequestIn,
    VerificationOut,
    VerifyEmailIn,
)
from app.core.ratelimit import client_ip, limit
from app.core.seclog import security_event
from app.core.timing import uniform_duration
from app.db import SessionDep
from app.email import preferences
from app.email.models import EmailMode
from app.notifications.models import NotificationKind

router = APIRouter(prefix="/api/v1", tags=["e-mail"])

RESET_REQUESTED = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works for one hour."
)


def preferences_out(modes: preferences.Preferences, *, verified: bool) -> EmailPreferencesOut:
    return EmailPreferencesOut(
        **{kind.value: mode.value for kind, mode in modes.items()}, email_verified=verified
    )


@router.get("/me/email-preferences", response_model=EmailPreferencesOut)
async def get_email_preferences(user: CurrentUser, session: SessionDep) -> EmailPreferencesOut:
    check_permission(user, Action.edit_own_profile)
    modes = await preferences.get_preferences(session, user_id=user.id)
    return preferences_out(modes, verified=user.email_verified_at is not None)


@router.put("/me/email-preferences", response_model=EmailPreferencesOut)
async def put_email_preferences(
    data: EmailPreferencesIn, user: CurrentUser, session: SessionDep
) -> EmailPreferencesOut:
    check_permission(user, Action.edit_own_profile)
    changes = {
        NotificationKind(kind): EmailMode(mode)
        for kind, mode in data.model_dump(exclude_none=True).items()
    }
    modes = await preferences.set_preferences(session, user_id=user.id, changes=changes)
    return preferences_out(modes, verified=user.email_verified_at is not None)


@router.post("/me/email/verification", status_code=202, response_model=VerificationOut)
async def resend_verification(
    request: Request, user: CurrentUser, session: SessionDep
) -> VerificationOut:
    check_permission(user, Action.edit_own_profile)
    await limit(request, "email_ip", client_ip(request))
    if user.email_verified_at is not None:
        return VerificationOut(queued=False, detail="Your e-mail address is already verified.")
    queued = await email_service.resend_verification(session, user=user)
    detail = (
        "We have sent you a new verification e-mail."
        if queued
        else "A verification e-mail is on its way; please check your inbox in a minute."
    )
    return VerificationOut(queued=queued, detail=detail)


@router.post("/auth/verify-email", status_code=204)
async def verify_email(
    data: VerifyEmailIn,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    _auth: AuthDep,
) -> Response:
    await email_service.verify_email(session, signer, settings, token=data.token)
    return Response(status_code=204)


@router.post("/auth/password-reset", status_code=202, response_model=DetailOut)
async def request_password_reset(
    request: Request,
    data: PasswordResetRequestIn,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    _auth: AuthDep,
) -> DetailOut:
    await limit(request, "email_ip", client_ip(request))
    uniform_duration(request)  # the same time whether or not it has an account
    await email_service.request_password_reset(session, signer, settings, email=data.email)
    return DetailOut(detail=RESET_REQUESTED)


@router.post("/auth/password-reset/confirm", status_code=204)
async def reset_password(
    data: PasswordResetIn, session: SessionDep, hasher: HasherDep, _auth: AuthDep
) -> Response:
    user = await email_service.reset_password(
        session, hasher, token=data.token, new_password=data.new_password
    )
    security_event("password_reset", user=user)
    return Response(status_code=204)
