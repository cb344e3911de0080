from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class FlagReason(StrEnum):
    spam = "spam"
    misinformation = "misinformation"
    personal_information = "personal_information"
    abusive = "abusive"
    off_topic = "off_topic"
    other = "other"

    @property
    def label(self) -> str:
        return FLAG_REASON_LABELS[self]


FLAG_REASON_LABELS = {
    FlagReason.spam: "Spam or advertising",
    FlagReason.misinformation: "Medical misinformation",
    FlagReason.personal_information: "Personal information shared",
    FlagReason.abusive: "Abusive or unkind",
    FlagReason.off_topic: "Off-topic",
    FlagReason.other: "Something else (please explain)",
}


class Flag(Base):
    """A member's report of a post. One per member per post; open until a moderator
    resolves it (dismissed: the post was fine; upheld: action was taken)."""

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("post_id", "reporter_id", name="uq_flags_post_reporter"),
        CheckConstraint(
            "reason IN ('spam', 'misinformation', 'personal_information', 'abusive', "
            "'off_topic', 'other')",
            name="reason_known",
        ),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('dismissed', 'upheld')", name="resolution_known"
        ),
        Index("ix_flags_open", "resolved_at", "post_id"),
        Index("ix_flags_reporter_id", "reporter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    resolved_by_name: Mapped[str | None] = mapped_column(String(30), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AuditEntry(Base):
    """Who did what to what, when and why. Written in the same transaction as the action;
    the database refuses UPDATE and DELETE on this table (triggers in the migration).
    The actor's name is stored so the record outlives the account; `actor_id` is a plain
    number for the same reason."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_label: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A well-worded standard answer with placeholders ({member}, {group}, {moderator},
    {appointment:KEY}). Retired ones stay for history and keep their usage count."""

    __tablename__ = "canned_responses"
    __table_args__ = (CheckConstraint("usage_count >= 0", name="usage_count_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # built-in templates carry a stable key so upgrades can find them
    key: Mapped[str | None] = mapped_column(String(60), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(60), default="General")
    body_md: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)


class AppointmentDestination(Base):
    """Where `{appointment:KEY}` may point. Only these URLs are ever rendered as
    appointment links."""

    __tablename__ = "appointment_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SiteSettings(Base):
    """The one row of settings administrators change at run time."""

    __tablename__ = "site_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("flag_hide_threshold >= 1", name="flag_threshold_positive"),
        CheckConstraint("hold_first_posts >= 0", name="hold_not_negative"),
        CheckConstraint("flag_trust_posts >= 0", name="flag_trust_posts_not_negative"),
        CheckConstraint("flag_trust_days >= 0", name="flag_trust_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    flag_hide_threshold: Mapped[int] = mapped_column(Integer, default=3)
    hold_first_posts: Mapped[int] = mapped_column(Integer, default=2)
    # whose flags count toward hiding a post automatically: a member with a verified e-mail
    # and at least `flag_trust_posts` published posts, or an account `flag_trust_days` old
    flag_trust_posts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    flag_trust_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
