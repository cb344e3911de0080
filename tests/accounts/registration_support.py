"""Registering as a person does: the form (or API), then the link the e-mail carries. The
link's token is read here from the pending registration, as the e-mail composer makes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import PendingRegistration
from app.accounts.registration import registration_token


async def link_token(app: Any, username: str) -> str:
    async with app.state.db.sessionmaker() as s:
        pending = await s.scalar(
            select(PendingRegistration).where(PendingRegistration.username_key == username.lower())
        )
    assert pending is not None, username
    return registration_token(app.state.signer, pending.nonce)


async def register_and_confirm(app: Any, client: Any, **data: Any) -> Any:
    """POST /api/v1/auth/register, then confirm with the link: the confirm response (201
    with the member) or the first refusal."""
    r = await client.api("POST", "/api/v1/auth/register", json=data)
    if r.status_code != 202:
        return r
    token = await link_token(app, data["username"])
    return await client.api("POST", "/api/v1/auth/register/confirm", json={"token": token})
