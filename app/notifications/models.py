"""Follows, mentions and in-app notifications.

A member follows a discussion or a group at one of three levels (`FollowLevel`); having no
row is the same as `normal`. Notifications are rows per member; the unique index on
(post_id, user_id) makes "one notification per member per post" a database fact, so every
fan-out is an `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, written in priority order
(mention, reply to you, watched reply, new discussion): the first kind to claim a member wins.
Moderation notices are outside that rule (a member may be told twice about the same post).
"""

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
    text,
    true,
)
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
    """A reply to a discussion a thousand members watch writes a thousand of these in one
    statement, so each index and foreign key here is paid a thousand times a reply (on
    PostgreSQL a foreign key is a look-up and a row lock per row written). There are as
    few as the reads and the deletions need (migrations h16notify, w17watch): the one
    foreign key left is the post's, whose cascade removes a post's notifications."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="kind_known"),
        # One notification per member per post, whatever the reasons, but moderation
        # notices (a member may be told twice about the same post): their third key is
        # their own id, everyone else's 0. Keyed by post first, so a post's notifications
        # (a thousand watchers) are written together at the end of the index (h15reply).
        # Also every look-up of a post's notifications, moderation notices included
        # (e-mail queueing, refresh_shown, the cascade when a post goes) and of one
        # member's notification of a post (e-mail queueing's join of a post's
        # notifications to the members' gathering messages).
        Index(
            "uq_notifications_post_user",
            "post_id",
            "user_id",
            # written as PostgreSQL prints it back (line breaks included), so that alembic's
            # comparison of the two sees no change
            text("(\nCASE\n    WHEN kind = 'moderation' THEN id\n    ELSE 0\nEND)"),
            unique=True,
        ),
        # the list, newest first, keyset-paginated on id; a member's notifications
        # (export, account deletion)
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
        # every notification of a discussion: refresh_shown when its first post changes
        # (a discussion's entries sit together: about 0.5 ms a reply of 1,000, measured)
        Index("ix_notifications_discussion_id", "discussion_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The member told. No foreign key (migration w17watch): a reply to a discussion 1,000
    # members watch checked and locked (FOR KEY SHARE) 1,000 rows of users, one a row
    # written. Members are never deleted: account deletion anonymizes the row and deletes
    # the member's notifications itself (app/safety/deletion.py), and the fan-out takes
    # its recipients from users in the statement that writes them.
    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    # The post. No foreign key (migration x24keys): its check read and locked the post's
    # row once for each of a fan-out's rows (1,000 watchers: 2.5-3 ms of PostgreSQL's
    # 7 ms for the rows), and its cascade never ran: posts are never deleted, their
    # deletion is a status (an erased account's posts keep their rows too).
    post_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The post's discussion and author, copied so the list need not join posts; no
    # foreign key either (each was a look-up per row written). Discussions are never
    # deleted; members are never deleted, only made anonymous (app/safety/deletion.py),
    # and a missing actor reads "Someone" as NULL did. Moderation notices without a post
    # have neither.
    discussion_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Still worth showing: moderation notices always; the others while their post is
    # visible and not deleted, in a discussion not hidden or deleted. Kept by
    # service.refresh_shown whenever a post's visibility changes (rare), so the list and
    # the unread count (on every page) need not join posts and discussions to know.
    shown: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
