from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    member = "member"
    mentor = "mentor"
    moderator = "moderator"
    admin = "admin"

    @property
    def badge(self) -> str | None:
        return ROLE_BADGES.get(self)


ROLE_BADGES = {
    Role.mentor: "Volunteer Mentor",
    Role.moderator: "Moderator",
    Role.admin: "Admin",
}


class Actor(Protocol):
    """Whoever acts or reads: a `User`, or the plain `Viewer` of the sign-in look-up. The
    permission table needs no more than this."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


class Writer(Actor, Protocol):
    """Whoever writes a post: a `User`, or the plain row a reply reads of its author
    (`access.fetch.Replier`): what the permission table, the hold of new members' first
    posts, the safety checks and auto-follow need."""

    @property
    def username(self) -> str: ...

    @property
    def auto_follow(self) -> bool: ...

    @property
    def post_count(self) -> int: ...

    @property
    def country(self) -> str | None: ...

    @property
    def suspended_at(self) -> datetime | None: ...

    @property
    def suspended_until(self) -> datetime | None: ...


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'mentor', 'moderator', 'admin')", name="role_known"),
        CheckConstraint("post_count >= 0", name="post_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # casefolded username: uniqueness and look-ups ignore case
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.member.value)
    bio: Mapped[str] = mapped_column(Text, default="")
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspension_reason: Mapped[str] = mapped_column(Text, default="")
    # follow a discussion as "watching" when starting or replying to it (settings page)
    auto_follow: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # set when the member followed the link in the verification e-mail (or reset their
    # password by e-mail); until then they get no notification e-mail
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # ISO 3166 alpha-2, set in settings: the region for phone numbers in the personal
    # information check, and whose crisis resources the member is shown (app/safety)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # set when the member deleted their account (app/safety/deletion.py): the row stays,
    # under a neutral name, so that threads keep their shape
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def role_badge(self) -> str | None:
        return Role(self.role).badge


def is_suspended(user: User | Writer, now: datetime | None = None) -> bool:
    """Suspended now: indefinitely, or until a time still in the future."""
    if user.suspended_at is None:
        return False
    return user.suspended_until is None or user.suspended_until > (now or utcnow())


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored,
    so a copy of the database cannot be replayed as sessions."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the User-Agent that asked for it, shown in settings beside its name
    client: Mapped[str] = mapped_column(String(255), default="", server_default="")


class PendingRegistration(Base):
    """A registration waiting for its link to be followed (app/accounts/registration.py).

    Every accepted registration form makes one, whether or not its address already has an
    account, so the answer and the work are the same either way; it holds its username
    until it expires. For a new address the e-mail carries the link (HMAC of `nonce`, of
    which only the SHA-256 is stored, as password resets); for a taken one
    (`address_taken`) the owner gets a notice instead and the row only holds the name.
    """

    __tablename__ = "pending_registrations"
    __table_args__ = (Index("ix_pending_registrations_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    address_taken: Mapped[bool] = mapped_column(Boolean, default=False)
    # where the newcomer was going when they registered (a local path, core.urls.safe_next)
    next_path: Mapped[str] = mapped_column(String(500), default="/")
    nonce: Mapped[str] = mapped_column(String(43))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A password-reset request. The link's token is HMAC(secret, nonce), computed when
    the e-mail is composed; only its SHA-256 is stored, so neither the outbox nor a copy of
    the database holds a usable link."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(43))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
