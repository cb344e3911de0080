from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class GroupVisibility(StrEnum):
    public = "public"  # everybody, visitors and search engines included
    members = "members"  # signed-in members only: invisible to visitors everywhere


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("discussion_count >= 0", name="discussion_count_not_negative"),
        CheckConstraint("visibility IN ('public', 'members')", name="visibility_known"),
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
    # who may see the group, its discussions and posts (app/access/visibility.py)
    visibility: Mapped[str] = mapped_column(
        String(10), default=GroupVisibility.public.value, server_default=text("'public'")
    )
