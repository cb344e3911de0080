"""Follows, mentions and in-app notifications.

A member follows a discussion or a group at one of three levels (`FollowLevel`); having no
row is the same as `normal`. Notifications are rows per member; the partial unique index on
(user_id, post_id) makes "one notification per member per post" a database fact, so every
fan-out is an `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, written in priority order
(mention, reply to you, watched reply, new discussion): the first kind to claim a member wins.
Moderation notices are outside that rule (a member may be told twice about the same post).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class FollowLevel(StrEnum):
    """watching: every reply; normal: mentions and direct replies only (the default, also
    when there is no row); muted: nothing at all from that discussion or group, mentions
    and direct replies included."""

    watching = "watching"
    normal = "normal"
    muted = "muted"

    @property
    def label(self) -> str:
        return FOLLOW_LABELS[self]


FOLLOW_LABELS = {
    FollowLevel.watching: "Watching",
    FollowLevel.normal: "Normal",
    FollowLevel.muted: "Muted",
}
LEVEL_CHECK = "level IN ('watching', 'normal', 'muted')"


class NotificationKind(StrEnum):
    mention = "mention"
    reply_to_you = "reply_to_you"
    watched_reply = "watched_reply"
    new_discussion = "new_discussion"
    moderation = "moderation"


KIND_CHECK = "kind IN ('mention', 'reply_to_you', 'watched_reply', 'new_discussion', 'moderation')"


class DiscussionFollow(Base):
    __tablename__ = "discussion_follows"
    __table_args__ = (
        CheckConstraint(LEVEL_CHECK, name="level_known"),
        # fan-out: the watchers of one discussion
        Index("ix_discussion_follows_discussion_level", "discussion_id", "level"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupFollow(Base):
    __tablename__ = "group_follows"
    __table_args__ = (
        CheckConstraint(LEVEL_CHECK, name="level_known"),
        Index("ix_group_follows_group_level", "group_id", "level"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostMention(Base):
    """Members a visible post mentions (recorded when it is published and on each edit), so
    an edit can tell which names are new."""

    __tablename__ = "post_mentions"
    __table_args__ = (Index("ix_post_mentions_user_id", "user_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="kind_known"),
        # one notification per member per post, whatever the reasons (moderation aside);
        # keyed by post first, so a post's notifications (a thousand watchers) are written
        # together at the end of the index, not one on each of its pages (migration h15reply)
        Index(
            "uq_notifications_post_user",
            "post_id",
            "user_id",
            unique=True,
            sqlite_where=text("kind != 'moderation'"),
            postgresql_where=text("kind != 'moderation'"),
        ),
        # the list, newest first, keyset-paginated on id
        Index("ix_notifications_user_id", "user_id", "id"),
        # the header's unread count, read on every page a member opens: counted in the
        # index alone (the conditions are written as each database's query spells them, so
        # its planner sees that the index applies)
        Index(
            "ix_notifications_unread_shown",
            "user_id",
            sqlite_where=text("shown = 1 AND read_at IS NULL"),
            postgresql_where=text("shown AND read_at IS NULL"),
        ),
        # every notification of a post, moderation notices too (the unique index above
        # leaves them out): e-mail queueing, refresh_shown, deleting a member's posts; and
        # one member's notification of a post, where e-mail queueing joins a post's
        # notifications to its members' gathering messages (PostgreSQL read the whole
        # post's entries once per message through the post_id index alone: 1,000 x 1,000)
        Index("ix_notifications_post_user", "post_id", "user_id"),
        # every notification of a discussion: refresh_shown when its first post changes
        Index("ix_notifications_discussion_id", "discussion_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), nullable=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Still worth showing: moderation notices always; the others while their post is
    # visible and not deleted, in a discussion not hidden or deleted. Kept by
    # service.refresh_shown whenever a post's visibility changes (rare), so the list and
    # the unread count (on every page) need not join posts and discussions to know.
    shown: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
