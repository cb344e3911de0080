from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.access.permissions import Action, check_permission
from app.accounts import service
from app.accounts.deps import AuthDep, CurrentUser, HasherDep, SettingsDep
from app.accounts.models import User
from app.accounts.schemas import (
    MeOut,
    PasswordChangeIn,
    ProfileUpdateIn,
    PublicUserOut,
    RegisterIn,
    TokenIn,
    TokenOut,
)
from app.core.ratelimit import client_ip, limit
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


@router.post("/auth/register", status_code=201, response_model=MeOut)
async def register(
    request: Request, data: RegisterIn, session: SessionDep, hasher: HasherDep, _auth: AuthDep
) -> MeOut:
    await limit(request, "register_ip", client_ip(request))
    user = await service.register(
        session, hasher, username=data.username, email=data.email, password=data.password
    )
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
    await limit(request, "login_ip", client_ip(request))
    await limit(request, "login_user", data.username.strip().lower())
    user = await service.authenticate(session, hasher, login=data.username, password=data.password)
    token, expires_at = await service.issue_api_token(session, settings, user=user, name=data.name)
    return TokenOut(access_token=token, expires_at=expires_at)


@router.delete("/auth/token", status_code=204)
async def revoke_token(auth: AuthDep, session: SessionDep, _user: CurrentUser) -> Response:
    if auth.signed_in and auth.signed_in.token_id is not None:
        await service.revoke_api_token(session, auth.signed_in.token_id)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser) -> MeOut:
    return me_out(user)


@router.patch("/me", response_model=MeOut)
async def update_me(data: ProfileUpdateIn, user: CurrentUser, session: SessionDep) -> MeOut:
    check_permission(user, Action.edit_own_profile)
    if data.country is not None:
        await set_country(session, user=user, country=data.country)
    return me_out(await service.update_profile(session, user=user, bio=data.bio))


@router.post("/me/password", status_code=204)
async def change_password(
    data: PasswordChangeIn,
    user: CurrentUser,
    auth: AuthDep,
    session: SessionDep,
    hasher: HasherDep,
) -> Response:
    check_permission(user, Action.edit_own_profile)
    assert auth.signed_in is not None
    await service.change_password(
        session,
        hasher,
        user=user,
        current_password=data.current_password,
        new_password=data.new_password,
        signed_in=auth.signed_in,
    )
    return Response(status_code=204)


@router.get("/users/{username}", response_model=PublicUserOut)
async def user_profile(username: str, session: SessionDep, auth: AuthDep) -> PublicUserOut:
    check_permission(auth.viewer, Action.read)
    user = await service.access_user(session, username)
    return public_user(user, await count_posts_by(session, author=user, viewer=auth.viewer))
