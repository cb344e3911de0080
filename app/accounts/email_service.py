"""Account e-mail: verifying a member's address and resetting a forgotten password.

Both go through the e-mail outbox, queued in the request's transaction. Neither stores a
usable link: the verification link is a signature over (member, address, time), and the
reset link's secret is derived from a stored random nonce with the app's key, of which the
database keeps only the SHA-256 (core.security.token_digest).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PasswordReset, User
from app.accounts.passwords import password_problem
from app.accounts.sessions import email_key, end_other_sessions
from app.accounts.tokens import check_verification_token, read_verification_token, reset_token
from app.config import Settings
from app.core.errors import BadRequest, Invalid
from app.core.security import PasswordHasher, Signer, new_token, token_digest
from app.db import utcnow
from app.email.models import OutboxCategory, OutboxMessage
from app.email.outbox import queue_account_email

RESEND_AFTER = timedelta(minutes=2)
RESETS_PER_HOUR = 3
_RESET_TOKEN_RE = re.compile(r"^[0-9a-f]{40}$")
BAD_VERIFICATION = (
    "This verification link is not valid or has expired. Sign in and ask for a new one "
    "in your e-mail settings."
)
BAD_RESET = (
    "This password-reset link has expired or has already been used. Please ask for a new one."
)


# -- verification --------------------------------------------------------------------------


async def queue_verification(
    session: AsyncSession, *, user: User, now: datetime | None = None
) -> OutboxMessage | None:
    """Queue the "confirm your address" e-mail (nothing if the address is verified)."""
    if user.email_verified_at is not None:
        return None
    return await queue_account_email(
        session,
        user_id=user.id,
        to_address=user.email,
        category=OutboxCategory.verify_email,
        payload={},
        now=now,
    )


async def resend_verification(
    session: AsyncSession, *, user: User, now: datetime | None = None
) -> bool:
    """Queue another verification e-mail, unless one was queued in the last two minutes
    (a double click sends one). Returns whether one was queued."""
    now = now or utcnow()
    if user.email_verified_at is not None:
        return False
    recent = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.category == OutboxCategory.verify_email.value,
            OutboxMessage.created_at > now - RESEND_AFTER,
        )
    )
    if recent:
        return False
    await queue_verification(session, user=user, now=now)
    return True


async def verify_email(
    session: AsyncSession,
    signer: Signer,
    settings: Settings,
    *,
    token: str,
    now: datetime | None = None,
) -> User:
    """Mark the member's address verified; BadRequest for a bad, stale or altered link."""
    now = now or utcnow()
    parsed = read_verification_token(signer, token)
    if parsed is None:
        raise BadRequest(BAD_VERIFICATION, code="bad_token")
    user_id, issued, signature = parsed
    user = await session.get(User, user_id)
    if user is None or not check_verification_token(
        signer, user_id=user_id, issued=issued, email_key=user.email_key, signature=signature
    ):
        raise BadRequest(BAD_VERIFICATION, code="bad_token")
    age = now.timestamp() - issued
    if age > settings.email_verification_days * 86400 or age < -300:
        raise BadRequest(BAD_VERIFICATION, code="token_expired")
    if user.email_verified_at is None:
        user.email_verified_at = now
        await session.flush()
    return user


# -- password reset -----------------------------------------------------------------------


async def request_password_reset(
    session: AsyncSession,
    signer: Signer,
    settings: Settings,
    *,
    email: str,
    now: datetime | None = None,
) -> None:
    """E-mail a reset link if an account uses `email`. The caller answers the same either
    way, so nobody learns which addresses have accounts. At most three links an hour go to
    one address, so the form cannot be used to flood somebody's inbox."""
    now = now or utcnow()
    user = await session.scalar(select(User).where(User.email_key == email_key(email)))
    if user is None:
        return
    recent = await session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return
    nonce = new_token(32)
    reset = PasswordReset(
        user_id=user.id,
        nonce=nonce,
        token_hash=token_digest(reset_token(signer, nonce)),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.password_reset_minutes),
    )
    session.add(reset)
    await session.flush()
    await queue_account_email(
        session,
        user_id=user.id,
        to_address=user.email,
        category=OutboxCategory.password_reset,
        payload={"reset_id": reset.id},
        now=now,
    )


async def _live_reset(session: AsyncSession, token: str, now: datetime) -> PasswordReset | None:
    if not _RESET_TOKEN_RE.match(token):
        return None
    return await session.scalar(
        select(PasswordReset).where(
            PasswordReset.token_hash == token_digest(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
    )


async def check_reset_token(session: AsyncSession, *, token: str) -> bool:
    """Whether a reset link can still be used (the page shows the form or says why not)."""
    return await _live_reset(session, token, utcnow()) is not None


async def reset_password(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    token: str,
    new_password: str,
    now: datetime | None = None,
) -> User:
    """Set a new password with a reset link. The link works once: it is spent by an atomic
    UPDATE, so two submissions at once cannot both use it. Every session and API token of
    the member ends, and their other reset links stop working."""
    now = now or utcnow()
    reset = await _live_reset(session, token, now)
    if reset is None:
        raise BadRequest(BAD_RESET, code="reset_token_invalid")
    user = await session.get(User, reset.user_id)
    if user is None:
        raise BadRequest(BAD_RESET, code="reset_token_invalid")
    # refuse a bad password before spending the link, so the member can try again
    weak = password_problem(new_password, username=user.username, email=user.email)
    if weak:
        raise Invalid(weak, field="new_password")
    spent = await session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(spent, "rowcount", 0):
        raise BadRequest(BAD_RESET, code="reset_token_invalid")
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = await hasher.hash(new_password)
    user.password_changed_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached them: the address works
    await end_other_sessions(session, user=user, keep_session_id=None, keep_token_id=None)
    await session.flush()
    return user
