from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("discussion_count >= 0", name="discussion_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    discussion_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # archived: read-only (no new discussions or replies) and gone from the listings; its
    # discussions stay readable at their addresses
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
