"""Changing one's e-mail address (ASVS 7.5.1).

It needs the current password. The new address gets a link; the old one a notice that a
change was asked for. Until the link is followed, the old address stays the account's
address (sign-in, resets, notifications). The link is stateless: a signature over
(member, new address, the address at the time, when), so it stops working once the
address changes by any other way, and after `EMAIL_CHANGE_HOURS`.

An address that another account already uses is answered alike (the same words, the same
e-mails to the member's old address); its owner gets a notice instead of a link, so the
form cannot be used to learn who is a member.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.accounts.service import WRONG_CURRENT_PASSWORD, email_key
from app.core.errors import BadRequest, Conflict, Invalid
from app.core.security import PasswordHasher, Signer
from app.db import utcnow
from app.email.models import OutboxCategory
from app.email.outbox import queue_account_email

EMAIL_CHANGE_HOURS = 24
_TOKEN_RE = re.compile(r"([0-9]{1,10})\.([0-9]{1,12})\.([A-Za-z0-9_-]{1,400})\.([0-9a-f]{40})")
BAD_LINK = (
    "This link to change your e-mail address has expired, has been used, or your address "
    "has changed since. Please ask for a new one in your settings."
)


def requested_message(new_email: str) -> str:
    return (
        f"We have sent a link to {new_email}. Your address changes when you follow it; "
        "until then we keep using your current address."
    )


def change_token(
    signer: Signer, *, user_id: int, new_email: str, current_email_key: str, issued: int
) -> str:
    encoded = base64.urlsafe_b64encode(new_email.encode()).decode().rstrip("=")
    payload = f"{user_id}.{issued}.{encoded}"
    signature = signer.sign("email-change", f"{payload}.{email_key(new_email)}.{current_email_key}")
    return f"{payload}.{signature}"


async def request_email_change(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    user: User,
    current_password: str,
    new_email: str,
    now: datetime | None = None,
) -> None:
    """Check the password, then queue the link (or the owner's notice) and the notice to
    the old address. Raises Invalid for a wrong password or the same address."""
    now = now or utcnow()
    if not await hasher.verify(current_password, user.password_hash):
        raise Invalid(WRONG_CURRENT_PASSWORD, code="wrong_password", field="current_password")
    if email_key(new_email) == user.email_key:
        raise Invalid("That is already your address.", field="new_email")
    owner = await session.scalar(select(User).where(User.email_key == email_key(new_email)))
    if owner is None:
        await queue_account_email(
            session,
            user_id=user.id,
            to_address=new_email.strip(),
            category=OutboxCategory.email_change,
            payload={"new_email": new_email.strip(), "from_key": user.email_key},
            now=now,
        )
    else:
        await queue_account_email(
            session,
            user_id=owner.id,
            to_address=owner.email,
            category=OutboxCategory.register_taken,
            payload={"email_change": True},
            now=now,
        )
    await queue_account_email(
        session,
        user_id=user.id,
        to_address=user.email,
        category=OutboxCategory.email_change_notice,
        payload={"new_email": new_email.strip()},
        now=now,
    )


async def confirm_email_change(
    session: AsyncSession, signer: Signer, *, token: str, now: datetime | None = None
) -> tuple[User, str]:
    """Make the new address the account's (verified: the link reached it). Returns the
    member and the old address."""
    now = now or utcnow()
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise BadRequest(BAD_LINK, code="bad_token")
    user_id, issued, encoded, signature = match.groups()
    try:
        new_email = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest(BAD_LINK, code="bad_token") from None
    user = await session.get(User, int(user_id))
    if user is None:
        raise BadRequest(BAD_LINK, code="bad_token")
    expected = change_token(
        signer,
        user_id=user.id,
        new_email=new_email,
        current_email_key=user.email_key,
        issued=int(issued),
    )
    if not hmac.compare_digest(expected.rsplit(".", 1)[1], signature):
        raise BadRequest(BAD_LINK, code="bad_token")
    age = now.timestamp() - int(issued)
    if age > EMAIL_CHANGE_HOURS * 3600 or age < -300:
        raise BadRequest(BAD_LINK, code="token_expired")
    if await session.scalar(select(User.id).where(User.email_key == email_key(new_email))):
        raise Conflict("That address is now used by another account.", code="email_taken")
    old = user.email
    user.email = new_email
    user.email_key = email_key(new_email)
    user.email_verified_at = now
    await session.flush()
    return user, old
