from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ReviewKind(StrEnum):
    crisis = "crisis"
    personal_information = "personal_information"

    @property
    def label(self) -> str:
        return REVIEW_LABELS[self]


REVIEW_LABELS = {
    ReviewKind.crisis: "Possible crisis",
    ReviewKind.personal_information: "Personal information confirmed by the author",
}

# The queue's order: a possible crisis at the very top, confirmed personal information low.
PRIORITY = {ReviewKind.crisis: 0, ReviewKind.personal_information: 9}

# an item is open until a moderator marks it reviewed; one open item per post and kind
OPEN_REVIEW = "resolved_at IS NULL"


class SafetyReview(Base):
    """A post the safety checks put before the moderators: a possible crisis (at the top of
    the queue), or personal information its author chose to publish (low priority). Open
    until a moderator marks it reviewed. A post has at most one open item of each kind
    (the database says so: edits of a post already waiting add nothing to the queue)."""

    __tablename__ = "safety_reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('crisis', 'personal_information')", name="kind_known"),
        Index("ix_safety_reviews_open", "resolved_at", "priority", "created_at"),
        Index("ix_safety_reviews_post_id", "post_id"),
        Index(
            "uq_safety_reviews_open_post_kind",
            "post_id",
            "kind",
            unique=True,
            sqlite_where=text(OPEN_REVIEW),
            postgresql_where=text(OPEN_REVIEW),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    priority: Mapped[int] = mapped_column(Integer)
    # what was found, for the moderators: the crisis words, or the kinds of information
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    resolved_by_name: Mapped[str | None] = mapped_column(String(30), nullable=True)


class UsernameHold(Base):
    """A deleted member's username, held for 30 days before anyone may take it: only its
    SHA-256 is kept, so the table does not list the names of people who left."""

    __tablename__ = "username_holds"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
