"""Accounts: registration, sign-in, sessions, API tokens, profiles and roles.

Services take the session first, flush and never commit: the request owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.email_service import queue_verification
from app.accounts.models import ApiToken, Role, User, UserSession, is_suspended
from app.accounts.passwords import password_problem
from app.accounts.sessions import email_key, end_other_sessions
from app.config import Settings
from app.core.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from app.core.rows import Query, fetch_one
from app.core.security import PasswordHasher, new_token, token_digest
from app.core.validation import is_storable
from app.db import utcnow
from app.moderation.open_count import open_queue_column
from app.notifications.service import unread_count_column
from app.safety.former import username_held

BAD_CREDENTIALS = "Wrong username or password."
WRONG_CURRENT_PASSWORD = "The current password is not right."  # noqa: S105 (a message)


def username_key(username: str) -> str:
    return username.lower()


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    if not is_storable(username) or len(username) > 30:
        return None
    return await session.scalar(select(User).where(User.username_key == username_key(username)))


async def access_user(session: AsyncSession, username: str) -> User:
    user = await get_user_by_username(session, username)
    if user is None:
        raise NotFound(f"There is no member called {username!r}.")
    return user


async def register(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    username: str,
    email: str,
    password: str,
    role: Role = Role.member,
) -> User:
    taken = await session.execute(
        select(User.username_key, User.email_key).where(
            (User.username_key == username_key(username)) | (User.email_key == email_key(email))
        )
    )
    for row in taken:
        if row.username_key == username_key(username):
            raise Conflict("That username is taken.", code="username_taken", field="username")
        raise Conflict(
            "An account with that e-mail address already exists.",
            code="email_taken",
            field="email",
        )
    if await username_held(session, username_key(username)):  # a member who left, lately
        raise Conflict("That username is taken.", code="username_taken", field="username")
    weak = password_problem(password, username=username, email=email)
    if weak:
        raise Invalid(weak, field="password")
    user = User(
        username=username,
        username_key=username_key(username),
        email=email.strip(),
        email_key=email_key(email),
        password_hash=await hasher.hash(password),
        role=role.value,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # a concurrent registration won the race for the name or address
        raise Conflict("That username or e-mail address is taken.", code="taken") from None
    # the "confirm your address" e-mail, in this transaction (every way of registering)
    await queue_verification(session, user=user)
    return user


async def find_login_user(session: AsyncSession, login: str) -> User | None:
    """The account a sign-in names, by username or e-mail address (None: no such account)."""
    key = login.strip().lower()
    if not is_storable(key) or len(key) > 254:
        return None
    return await session.scalar(
        select(User).where((User.username_key == key) | (User.email_key == key))
    )


async def authenticate(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    login: str,
    password: str,
    user: User | None = None,
) -> User:
    """The same answer, after the same work, for an unknown name and a wrong password.
    `user`: the account `find_login_user` already found for `login`, if the caller looked."""
    if user is None:
        user = await find_login_user(session, login)
    ok = await hasher.verify(password, user.password_hash if user else None)
    if not ok or user is None:
        raise NotAuthenticated(BAD_CREDENTIALS, code="bad_credentials")
    if is_suspended(user):
        until = f" until {user.suspended_until:%d %B %Y, %H:%M UTC}" if user.suspended_until else ""
        raise Forbidden(
            f"Your account is suspended{until}. Reason: {user.suspension_reason}",
            code="suspended",
        )
    return user


# -- browser sessions ------------------------------------------------------------------


async def start_session(
    session: AsyncSession, settings: Settings, *, user: User, user_agent: str = ""
) -> str:
    """A new session with a fresh random id (rotated at every sign-in); returns the token."""
    token = new_token(16)  # 128 bits
    session.add(
        UserSession(
            id=token_digest(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=settings.session_absolute_days),
            user_agent=user_agent[:255],
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.id == token_digest(token)))


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in member as every request sees them: plain values read in the sign-in
    look-up, enough for the permission table and the page header. Safe to read after the
    request's transaction ended (error pages render after the rollback). Routes that change
    the member load the `User` itself (`deps.CurrentUser`)."""

    id: int
    username: str
    role: str
    auto_follow: bool = True
    # unread notifications for the header, counted up to 100 (shown "99+")
    unread: int = 0
    # moderators and administrators: posts waiting in the moderation queue (up to 200)
    queue_open: int = 0

    @property
    def role_badge(self) -> str | None:
        return Role(self.role).badge

    @property
    def moderates(self) -> bool:
        """Whether the header shows the moderation entry."""
        return self.role in (Role.moderator.value, Role.admin.value)

    @property
    def administers(self) -> bool:
        return self.role == Role.admin.value


@dataclass(slots=True)
class SignedIn:
    viewer: Viewer
    session_id: str | None = None
    token_id: int | None = None


@dataclass(slots=True)
class _Credential:
    """A row of the sign-in look-up: the member, and the session's or token's lifetime."""

    id: int
    username: str
    role: str
    auto_follow: bool
    suspended_at: datetime | None
    suspended_until: datetime | None
    unread: int | None
    queue_open: int | None
    credential_id: Any  # the session's digest, or the token's id
    last_seen_at: datetime  # sessions; a token's creation
    expires_at: datetime
    last_used_at: datetime | None = None  # tokens

    @property
    def viewer(self) -> Viewer:
        return Viewer(
            self.id,
            self.username,
            self.role,
            self.auto_follow,
            int(self.unread or 0),
            int(self.queue_open or 0),
        )

    def suspended(self, now: datetime) -> bool:
        if self.suspended_at is None:
            return False
        return self.suspended_until is None or self.suspended_until > now


_CREDENTIAL_COLUMNS = (
    User.id,
    User.username,
    User.role,
    User.auto_follow,
    User.suspended_at,
    User.suspended_until,
    unread_count_column(User.id).label("unread"),
    open_queue_column(User.role).label("queue_open"),
)

# Behind every signed-in request: one statement, built and compiled once.
SESSION_LOOKUP = Query(
    select(*_CREDENTIAL_COLUMNS, UserSession.id, UserSession.last_seen_at, UserSession.expires_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.id == bindparam("digest", type_=String)),
    _Credential,
)
TOKEN_LOOKUP = Query(
    select(
        *_CREDENTIAL_COLUMNS,
        ApiToken.id,
        ApiToken.created_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest", type_=String)),
    _Credential,
)


async def user_for_session(
    session: AsyncSession, settings: Settings, token: str
) -> SignedIn | None:
    """The member behind a session cookie, if the session is alive. Expired sessions (idle
    or absolute) are deleted; `last_seen_at` is written at most every few minutes."""
    digest = token_digest(token)
    found = await fetch_one(session, SESSION_LOOKUP, digest=digest)
    if found is None:
        return None
    now = utcnow()
    if found.suspended(now):
        return None
    if now >= found.expires_at or now - found.last_seen_at > timedelta(
        days=settings.session_idle_days
    ):
        await session.execute(delete(UserSession).where(UserSession.id == digest))
        return None
    if now - found.last_seen_at > timedelta(seconds=settings.session_touch_seconds):
        await session.execute(
            update(UserSession).where(UserSession.id == digest).values(last_seen_at=now)
        )
    return SignedIn(viewer=found.viewer, session_id=digest)


async def list_sessions(session: AsyncSession, *, user: User) -> list[UserSession]:
    rows = await session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc())
    )
    return list(rows.all())


async def revoke_session(session: AsyncSession, *, user: User, session_id: str) -> None:
    """End one of the member's own sessions (a stranger's id silently matches nothing)."""
    await session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.id == session_id)
    )


# -- API tokens ---------------------------------------------------------------------------


async def issue_api_token(
    session: AsyncSession, settings: Settings, *, user: User, name: str = "", client: str = ""
) -> tuple[str, datetime]:
    token = "kdr_" + new_token(32)
    expires_at = utcnow() + timedelta(days=settings.api_token_days)
    session.add(
        ApiToken(
            token_hash=token_digest(token),
            user_id=user.id,
            name=name,
            client=client[:255],
            expires_at=expires_at,
        )
    )
    await session.flush()
    return token, expires_at


async def user_for_api_token(
    session: AsyncSession, token: str, settings: Settings | None = None
) -> SignedIn | None:
    """The member behind a bearer token, if it is alive. `last_used_at` is written at most
    every few minutes (as a session's `last_seen_at`)."""
    found = await fetch_one(session, TOKEN_LOOKUP, digest=token_digest(token))
    now = utcnow()
    if found is None or now >= found.expires_at or found.suspended(now):
        return None
    touch = timedelta(seconds=settings.session_touch_seconds if settings else 600)
    if found.last_used_at is None or now - found.last_used_at > touch:
        await session.execute(
            update(ApiToken).where(ApiToken.id == found.credential_id).values(last_used_at=now)
        )
    return SignedIn(viewer=found.viewer, token_id=found.credential_id)


async def revoke_api_token(session: AsyncSession, token_id: int) -> None:
    await session.execute(delete(ApiToken).where(ApiToken.id == token_id))


async def list_api_tokens(session: AsyncSession, *, user: User) -> list[ApiToken]:
    """The member's live tokens, newest first (the settings page lists them)."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.expires_at > utcnow())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(rows.all())


async def revoke_own_api_token(session: AsyncSession, *, user: User, token_id: int) -> bool:
    """End one of the member's own tokens (a stranger's id matches nothing). Whether one
    ended."""
    result = await session.execute(
        delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.id == token_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def revoke_all_api_tokens(session: AsyncSession, *, user: User) -> int:
    result = await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


# -- profile ------------------------------------------------------------------------------


async def update_profile(session: AsyncSession, *, user: User, bio: str) -> User:
    user.bio = bio
    await session.flush()
    return user


async def change_password(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    user: User,
    current_password: str,
    new_password: str,
    signed_in: SignedIn,
) -> None:
    """Requires the current password; every other session and token of the member ends."""
    if not await hasher.verify(current_password, user.password_hash):
        raise Invalid(WRONG_CURRENT_PASSWORD, code="wrong_password", field="current_password")
    weak = password_problem(new_password, username=user.username, email=user.email)
    if weak:
        raise Invalid(weak, field="new_password")
    user.password_hash = await hasher.hash(new_password)
    user.password_changed_at = utcnow()
    # every other session ends, and every API token (the one making this call too)
    await end_other_sessions(
        session, user=user, keep_session_id=signed_in.session_id, keep_token_id=None
    )
    await session.flush()


async def rename_accounts(session: AsyncSession, *, plan: list[tuple[int, str]]) -> None:
    """Give accounts new names: (id, new name) pairs (`kindred users check-names --fix`)."""
    for account_id, new in plan:
        await session.execute(
            update(User)
            .where(User.id == account_id)
            .values(username=new, username_key=username_key(new))
        )


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
