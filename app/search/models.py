from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class SearchDocument(Base):
    """One searchable document: its text as readers see it (rendered, not Markdown).

    The text engines index this table: on SQLite the FTS5 table `search_fts` (external
    content, kept in step by triggers), on PostgreSQL the stored weighted `tsv` column
    (`title` weight A, `body` weight B) with a GIN index. Both are created by the migration,
    outside the ORM model, since neither exists on the other database.

    Who may see a post's document is decided when searching, by the access layer's rule
    (`app.access.visibility.readable_posts`) over the facts each row keeps of its post, its
    discussion and its group (statuses, deletion, authors, the group's visibility): a copy
    kept by the database itself, in the writer's transaction, by triggers on `posts`,
    `discussions`, `groups` and this table (migration s3speed), so that no write can forget
    it and a search reads one row per candidate instead of three. `source` names where a
    document comes from (`post`, or `library` for a published library page: no facts).
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_search_documents_source"),
        Index("ix_search_documents_created", "created_at", "id"),
        Index("ix_search_documents_discussion", "discussion_id"),
        Index("ix_search_documents_group", "group_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    # for posts: their discussion (its opening post carries the discussion's title)
    discussion_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # for posts: their discussion's group, copied here for `#group` searches (a filter on
    # the index's own row, not three joins); moving a discussion rewrites it in the same
    # transaction (app/moderation/service.py move_discussion -> index.move_documents)
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the facts of the post (None for library pages, and for a post no longer there)
    post_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    discussion_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    deleted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # post or discussion
    public_group: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discussion_author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_opening: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchTermDay(Base):
    """The private search log: how often a query's words were searched on a day, and how
    often they found nothing. Only signed-in members' searches, and no identifier of who
    searched: a count per (day, terms) and nothing else."""

    __tablename__ = "search_term_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    terms: Mapped[str] = mapped_column(String(200), primary_key=True)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    zero_results: Mapped[int] = mapped_column(Integer, default=0)
