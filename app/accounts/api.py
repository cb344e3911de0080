from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response

from app.access.permissions import Action, check_permission
from app.accounts import email_change, registration, service, signin
from app.accounts.deps import AuthDep, CurrentUser, HasherDep, SettingsDep, SignerDep
from app.accounts.models import User
from app.accounts.schemas import (
    ApiTokenOut,
    EmailChangeConfirmIn,
    EmailChangeIn,
    MeOut,
    PasswordChangeIn,
    ProfileUpdateIn,
    PublicUserOut,
    RegisterConfirmIn,
    RegisterIn,
    RegistrationOut,
    TokenIn,
    TokenOut,
)
from app.core.errors import Invalid, NotFound, RateLimited
from app.core.ratelimit import check_limit, client_ip, limit
from app.core.seclog import security_event
from app.core.timing import uniform_duration
from app.core.validation import Id
from app.db import SessionDep
from app.discussions.reading import count_posts_by
from app.safety.settings import set_country

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def public_user(user: User, post_count: int | None = None) -> PublicUserOut:
    """`post_count`: what the asker may see (the stored count is the member's own)."""
    return PublicUserOut(
        username=user.username,
        role=user.role,
        badge=user.role_badge,
        bio=user.bio,
        joined_at=user.created_at,
        post_count=user.post_count if post_count is None else post_count,
    )


def me_out(user: User) -> MeOut:
    return MeOut(
        id=user.id, email=user.email, country=user.country, **public_user(user).model_dump()
    )


@router.post("/auth/register", status_code=202, response_model=RegistrationOut)
async def register(
    request: Request,
    data: RegisterIn,
    session: SessionDep,
    hasher: HasherDep,
    signer: SignerDep,
    _auth: AuthDep,
) -> RegistrationOut:
    """Always 202 with the same words for an accepted form, whether or not the address has
    an account: the link e-mailed to it creates the account (`/auth/register/confirm`)."""
    # the budget counts registrations accepted, not refused forms
    await check_limit(request, "register_ip", client_ip(request))
    uniform_duration(request)
    pending = await registration.request_registration(
        session,
        hasher,
        signer,
        username=data.username,
        email=data.email,
        password=data.password,
    )
    with contextlib.suppress(RateLimited):  # counted; a race past the check still registers
        await limit(request, "register_ip", client_ip(request))
    security_event("registration_requested", username=pending.username)
    return RegistrationOut(detail=registration.sent_message(data.email))


@router.post("/auth/register/confirm", status_code=201, response_model=MeOut)
async def confirm_registration(
    data: RegisterConfirmIn, session: SessionDep, _auth: AuthDep
) -> MeOut:
    """Create the account with the token from the e-mailed link."""
    user = await registration.confirm_registration(session, token=data.token)
    security_event("registered", user=user)
    return me_out(user)


@router.post("/auth/token", status_code=201, response_model=TokenOut)
async def issue_token(
    request: Request,
    data: TokenIn,
    session: SessionDep,
    hasher: HasherDep,
    settings: SettingsDep,
    _auth: AuthDep,
) -> TokenOut:
    user = await signin.sign_in(
        request, session, hasher, login=data.username, password=data.password, via="token"
    )
    token, expires_at = await service.issue_api_token(
        session,
        settings,
        user=user,
        name=data.name,
        client=request.headers.get("user-agent", ""),
    )
    security_event("token_created", user=user, token_name=data.name[:100])
    return TokenOut(access_token=token, expires_at=expires_at)


@router.delete("/auth/token", status_code=204)
async def revoke_token(auth: AuthDep, session: SessionDep, _user: CurrentUser) -> Response:
    if auth.signed_in and auth.signed_in.token_id is not None:
        await service.revoke_api_token(session, auth.signed_in.token_id)
        security_event("token_revoked", token_id=auth.signed_in.token_id)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser) -> MeOut:
    return me_out(user)


@router.patch("/me", response_model=MeOut)
async def update_me(data: ProfileUpdateIn, user: CurrentUser, session: SessionDep) -> MeOut:
    check_permission(user, Action.edit_own_profile)
    if data.country is not None:
        await set_country(session, user=user, country=data.country)
    if data.bio is not None:
        await service.update_profile(session, user=user, bio=data.bio)
    return me_out(user)


@router.post("/me/password", status_code=204)
async def change_password(
    request: Request,
    data: PasswordChangeIn,
    user: CurrentUser,
    auth: AuthDep,
    session: SessionDep,
    hasher: HasherDep,
) -> Response:
    check_permission(user, Action.edit_own_profile)
    assert auth.signed_in is not None
    await signin.check_current_password(request, user)
    try:
        await service.change_password(
            session,
            hasher,
            user=user,
            current_password=data.current_password,
            new_password=data.new_password,
            signed_in=auth.signed_in,
        )
    except Invalid as exc:
        await signin.count_wrong_current_password(request, user, exc)
        raise
    security_event("password_changed", user=user)
    return Response(status_code=204)


@router.post("/me/email", status_code=202, response_model=RegistrationOut)
async def change_email(
    request: Request, data: EmailChangeIn, user: CurrentUser, session: SessionDep, hasher: HasherDep
) -> RegistrationOut:
    """Needs the current password; the new address gets a link, the old one a notice, and
    the old address stays until the link is followed (`/me/email/confirm`)."""
    check_permission(user, Action.edit_own_profile)
    await signin.check_current_password(request, user)
    try:
        await email_change.request_email_change(
            session,
            hasher,
            user=user,
            current_password=data.current_password,
            new_email=data.new_email,
        )
    except Invalid as exc:
        await signin.count_wrong_current_password(request, user, exc)
        raise
    security_event("email_change_requested")
    return RegistrationOut(detail=email_change.requested_message(data.new_email))


@router.post("/me/email/confirm", response_model=MeOut)
async def confirm_email_change(
    data: EmailChangeConfirmIn, session: SessionDep, signer: SignerDep, _auth: AuthDep
) -> MeOut:
    user, _old = await email_change.confirm_email_change(session, signer, token=data.token)
    security_event("email_changed", user=user)
    return me_out(user)


@router.get("/me/tokens", response_model=list[ApiTokenOut])
async def list_tokens(user: CurrentUser, auth: AuthDep, session: SessionDep) -> list[ApiTokenOut]:
    check_permission(user, Action.edit_own_profile)
    current = auth.signed_in.token_id if auth.signed_in else None
    return [
        ApiTokenOut(
            id=t.id,
            name=t.name,
            client=t.client,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            current=t.id == current,
        )
        for t in await service.list_api_tokens(session, user=user)
    ]


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_one_token(token_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    check_permission(user, Action.edit_own_profile)
    if not await service.revoke_own_api_token(session, user=user, token_id=token_id):
        raise NotFound("You have no API token with that id.", code="token_not_found")
    security_event("token_revoked", token_id=token_id)
    return Response(status_code=204)


@router.delete("/me/tokens", status_code=204)
async def revoke_all_tokens(user: CurrentUser, session: SessionDep) -> Response:
    check_permission(user, Action.edit_own_profile)
    count = await service.revoke_all_api_tokens(session, user=user)
    security_event("tokens_revoked_all", count=count)
    return Response(status_code=204)


@router.get("/users/{username}", response_model=PublicUserOut)
async def user_profile(username: str, session: SessionDep, auth: AuthDep) -> PublicUserOut:
    check_permission(auth.viewer, Action.read)
    user = await service.access_user(session, username)
    return public_user(user, await count_posts_by(session, author=user, viewer=auth.viewer))
