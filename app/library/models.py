"""Condition pages and what hangs off them, and members' saved items.

A page is imported from one Markdown file (app/library/content.py); re-importing the same
slug rewrites its children in place and keeps the page's id, so members' saved items and
links stay. Trials are shared between pages (one row per registry identifier): a page
lists the trials of its front matter (source "page") and those attached by a
ClinicalTrials.gov import (source "ctgov").
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

TIERS = ("elite", "expert", "advanced", "experienced")  # highest first


class LibraryPage(Base):
    __tablename__ = "library_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    also_called: Mapped[str] = mapped_column(Text, default="")  # one name a line
    summary: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_review_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    source_file: Mapped[str] = mapped_column(String(300), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def also_called_list(self) -> list[str]:
        return [name for name in self.also_called.split("\n") if name]


class LibrarySection(Base):
    __tablename__ = "library_sections"
    __table_args__ = (UniqueConstraint("page_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("library_pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(200))
    anchor: Mapped[str] = mapped_column(String(80))
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)


class LibraryPerson(Base):
    """An author or a reviewer of a page, in the order the file lists them."""

    __tablename__ = "library_people"
    __table_args__ = (
        CheckConstraint("kind IN ('author', 'reviewer')", name="kind_known"),
        Index("ix_library_people_page", "page_id", "kind", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("library_pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(200), default="")
    affiliation: Mapped[str] = mapped_column(String(300), default="")


class LibraryReference(Base):
    __tablename__ = "library_references"
    __table_args__ = (UniqueConstraint("page_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("library_pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Specialist(Base):
    __tablename__ = "library_specialists"
    __table_args__ = (
        CheckConstraint(
            "tier IN ('elite', 'expert', 'advanced', 'experienced')", name="tier_known"
        ),
        Index("ix_library_specialists_page", "page_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("library_pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500), default="")
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)


class Trial(Base):
    """A study in a trial registry (ClinicalTrials.gov identifiers), shared by pages.
    Ages are kept in days (a missing bound is no limit) and as the registry wrote them."""

    __tablename__ = "library_trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(40))
    conditions: Mapped[str] = mapped_column(Text, default="")  # one a line
    min_age_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_age_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_age_text: Mapped[str] = mapped_column(String(40), default="")
    max_age_text: Mapped[str] = mapped_column(String(40), default="")
    sex: Mapped[str] = mapped_column(String(10), default="all")
    url: Mapped[str] = mapped_column(String(500), default="")
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrialLocation(Base):
    __tablename__ = "library_trial_locations"
    __table_args__ = (Index("ix_library_trial_locations_trial", "trial_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("library_trials.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    facility: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(40), default="")


class PageTrial(Base):
    __tablename__ = "library_page_trials"
    __table_args__ = (
        CheckConstraint("source IN ('page', 'ctgov')", name="source_known"),
        Index("ix_library_page_trials_trial", "trial_id"),
    )

    page_id: Mapped[int] = mapped_column(
        ForeignKey("library_pages.id", ondelete="CASCADE"), primary_key=True
    )
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("library_trials.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10), default="page")


class Advance(Base):
    __tablename__ = "library_advances"
    __table_args__ = (UniqueConstraint("page_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("library_pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    url: Mapped[str] = mapped_column(String(500), default="")


class PageGroup(Base):
    """A page's linked community groups: their discussions show on the page."""

    __tablename__ = "library_page_groups"
    __table_args__ = (Index("ix_library_page_groups_group", "group_id"),)

    page_id: Mapped[int] = mapped_column(
        ForeignKey("library_pages.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class SavedItem(Base):
    """A library page or a discussion a member saved for later: exactly one of the two."""

    __tablename__ = "saved_items"
    __table_args__ = (
        CheckConstraint("(page_id IS NULL) <> (discussion_id IS NULL)", name="exactly_one_target"),
        UniqueConstraint("user_id", "page_id"),
        UniqueConstraint("user_id", "discussion_id"),
        Index("ix_saved_items_user_created", "user_id", "created_at"),
        Index("ix_saved_items_discussion", "discussion_id"),
        Index("ix_saved_items_page", "page_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_pages.id", ondelete="CASCADE"), nullable=True
    )
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
