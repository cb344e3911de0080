from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Visibility(StrEnum):
    """Who may see a discussion or post: everybody, its author and moderators (pending:
    held for approval), or moderators only (hidden: flagged or hidden by a moderator)."""

    visible = "visible"
    pending = "pending"
    hidden = "hidden"


VISIBILITY_CHECK = "status IN ('visible', 'pending', 'hidden')"


class ReactionKind(StrEnum):
    helpful = "helpful"
    hug = "hug"

    @property
    def label(self) -> str:
        return {"helpful": "Helpful", "hug": "Hug"}[self.value]


class Discussion(Base):
    __tablename__ = "discussions"
    __table_args__ = (
        # the group page: newest activity first, keyset-paginated on (last_activity_at, id)
        Index("ix_discussions_group_activity", "group_id", "last_activity_at", "id"),
        # the home page's Latest (every group) and Unanswered tabs, newest first: without
        # these each read sorted every discussion (measured 170-500 ms at 50,000)
        Index("ix_discussions_activity", "last_activity_at", "id"),
        Index("ix_discussions_created", "created_at", "id"),
        # a group page's pinned discussions: the few pinned, not every discussion of the
        # group read to find none (3.4 ms a group page at 1,700 discussions a group)
        Index(
            "ix_discussions_pinned",
            "group_id",
            "pinned_at",
            sqlite_where=text("pinned_at IS NOT NULL"),
            postgresql_where=text("pinned_at IS NOT NULL"),
        ),
        Index("ix_discussions_author_id", "author_id"),
        CheckConstraint("reply_count >= 0", name="reply_count_not_negative"),
        CheckConstraint(VISIBILITY_CHECK, name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80))
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    # replies answering the discussion itself: the unit of pagination on its page
    top_level_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=Visibility.visible.value)
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Post(Base):
    """The opening post of a discussion or a reply.

    Replies form a tree: `reply_to_id` is the post answered (None for a reply to the
    discussion), `root_id` the top-level reply the branch hangs from, so one page of
    top-level replies and everything under them is one indexed query.
    """

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_discussion_top_level", "discussion_id", "reply_to_id", "id"),
        Index("ix_posts_root_id", "root_id"),
        Index("ix_posts_author_created", "author_id", "created_at"),
        # a new member's published posts, counted on every page they read (whether their
        # next post waits for a moderator): without it SQLite read them through the status
        # index, every published post of the forum (210 ms a page at 210,000 posts)
        Index("ix_posts_author_status", "author_id", "status"),
        # a double-submitted form carries the same key and creates one post
        UniqueConstraint("author_id", "client_key", name="uq_posts_author_client_key"),
        CheckConstraint("depth >= 0", name="depth_not_negative"),
        CheckConstraint(VISIBILITY_CHECK, name="status_known"),
        # posts awaiting approval, oldest first: the queue, and its count in moderators'
        # page header (app/moderation/open_count.py), without reading every post. Not a
        # partial index (WHERE status = 'pending'): SQLite compiles a statement again on
        # every run when a bound value (`status = ?`) is matched against a partial index's
        # condition, which made the sign-in look-up and the discussion head ten times
        # slower (measured: 6 -> 96 us a statement)
        Index("ix_posts_status_created", "status", "created_at"),
        # deleted posts, latest first: the moderators' list of them (app/moderation/deleted.py)
        Index(
            "ix_posts_deleted",
            "id",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    is_opening: Mapped[bool] = mapped_column(Boolean, default=False)
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    hug_count: Mapped[int] = mapped_column(Integer, default=0)
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=Visibility.visible.value)


class PostRevision(Base):
    """The text of a post before an edit; moderators read the history."""

    __tablename__ = "post_revisions"
    __table_args__ = (Index("ix_post_revisions_post_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    editor_name: Mapped[str] = mapped_column(String(30))
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body_md: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reaction(Base):
    __tablename__ = "reactions"
    __table_args__ = (
        CheckConstraint("kind IN ('helpful', 'hug')", name="kind_known"),
        Index("ix_reactions_user_id", "user_id"),
    )

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
