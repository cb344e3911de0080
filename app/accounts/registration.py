"""Registering without telling anybody who is a member.

A registration form that passes its checks makes a `PendingRegistration` and queues one
e-mail, whether or not its address already has an account, and the caller answers alike
("we have sent a link to ..."): the same status, the same words, the same work (one
password hash, two inserts). For a new address the e-mail carries the link that creates
the account (and signs in); for an address that has an account, its owner gets "someone
tried to register with your address" instead, with no link. Either way the pending row
holds its username until it expires, so trying the same name twice answers alike too.

The username is public (profiles): a name in use, by an account or a live pending
registration, is refused at once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PendingRegistration, User
from app.accounts.passwords import password_problem
from app.accounts.service import email_key, username_key
from app.core.errors import BadRequest, Conflict, Invalid
from app.core.security import PasswordHasher, Signer, new_token, token_digest
from app.db import utcnow
from app.email.models import OutboxCategory
from app.email.outbox import queue_account_email
from app.safety.former import username_held

PENDING_FOR = timedelta(hours=24)
_TOKEN_RE = re.compile(r"[0-9a-f]{40}")
BAD_LINK = (
    "This link to finish registering has expired or has already been used. Please register again."
)


def sent_message(email: str) -> str:
    """The one answer to an accepted registration form."""
    return (
        f"We have sent an e-mail to {email}. Follow the link in it within 24 hours to "
        "finish creating your account. If nothing arrives, check your spam folder."
    )


def registration_token(signer: Signer, nonce: str) -> str:
    """The link's secret: derived from the stored nonce with the app's key (the database
    keeps only its SHA-256)."""
    return signer.sign("register", nonce)


async def _username_in_use(session: AsyncSession, key: str, now: datetime) -> bool:
    """Taken by a member, by a registration waiting for its link, or held for a while after
    its member deleted their account."""
    if await session.scalar(select(User.id).where(User.username_key == key)):
        return True
    if await username_held(session, key):
        return True
    return bool(
        await session.scalar(
            select(PendingRegistration.id).where(
                PendingRegistration.username_key == key, PendingRegistration.expires_at > now
            )
        )
    )


async def request_registration(
    session: AsyncSession,
    hasher: PasswordHasher,
    signer: Signer,
    *,
    username: str,
    email: str,
    password: str,
    next_path: str = "/",
    now: datetime | None = None,
) -> PendingRegistration:
    """Accept a registration form (see the module docstring). Raises Conflict only for a
    username in use, Invalid for a weak password: neither depends on the address."""
    now = now or utcnow()
    key = username_key(username)
    # registrations that expired are forgotten (and their names free again)
    await session.execute(delete(PendingRegistration).where(PendingRegistration.expires_at <= now))
    if await _username_in_use(session, key, now):
        raise Conflict("That username is taken.", code="username_taken", field="username")
    weak = password_problem(password, username=username, email=email)
    if weak:
        raise Invalid(weak, field="password")
    owner = await session.scalar(select(User).where(User.email_key == email_key(email)))
    nonce = new_token(32)
    pending = PendingRegistration(
        username=username,
        username_key=key,
        email=email.strip(),
        password_hash=await hasher.hash(password),
        address_taken=owner is not None,
        next_path=next_path[:500],
        nonce=nonce,
        token_hash=token_digest(registration_token(signer, nonce)),
        created_at=now,
        expires_at=now + PENDING_FOR,
    )
    session.add(pending)
    try:
        await session.flush()
    except IntegrityError:
        # a concurrent registration took the name first: the transaction must roll back
        raise Conflict("That username is taken.", code="taken", field="username") from None
    if owner is None:
        await queue_account_email(
            session,
            user_id=None,
            to_address=pending.email,
            category=OutboxCategory.register_confirm,
            payload={"pending_id": pending.id},
            now=now,
        )
    else:
        await queue_account_email(
            session,
            user_id=owner.id,
            to_address=owner.email,
            category=OutboxCategory.register_taken,
            payload={"pending_id": pending.id},
            now=now,
        )
    return pending


async def live_pending(
    session: AsyncSession, token: str, now: datetime | None = None
) -> PendingRegistration | None:
    """The pending registration a link names, while it can still be used."""
    if not _TOKEN_RE.fullmatch(token):
        return None
    return await session.scalar(
        select(PendingRegistration).where(
            PendingRegistration.token_hash == token_digest(token),
            PendingRegistration.address_taken.is_(False),
            PendingRegistration.expires_at > (now or utcnow()),
        )
    )


async def confirm_registration(
    session: AsyncSession, *, token: str, now: datetime | None = None
) -> User:
    """Create the account a link names (its address verified: the link reached it). The
    link works once: it is spent by an atomic UPDATE."""
    now = now or utcnow()
    pending = await live_pending(session, token, now)
    if pending is None:
        raise BadRequest(BAD_LINK, code="registration_link_invalid")
    spent = await session.execute(
        update(PendingRegistration)
        .where(PendingRegistration.id == pending.id, PendingRegistration.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(spent, "rowcount", 0):
        raise BadRequest(BAD_LINK, code="registration_link_invalid")
    if await session.scalar(select(User.id).where(User.email_key == email_key(pending.email))):
        # two registrations of one address, and the other was finished first
        raise Conflict(
            "An account with this e-mail address was created in the meantime. "
            "Sign in, or reset its password.",
            code="email_taken",
        )
    user = User(
        username=pending.username,
        username_key=pending.username_key,
        email=pending.email,
        email_key=email_key(pending.email),
        password_hash=pending.password_hash,
        email_verified_at=now,
    )
    await session.execute(delete(PendingRegistration).where(PendingRegistration.id == pending.id))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("That username or e-mail address is taken.", code="taken") from None
    return user
