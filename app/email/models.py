"""E-mail tables: members' preferences, the durable outbox, which notifications each
outbox message carries, and password-reset tokens.

The outbox is written in the same transaction as the notifications (or the registration, or
the reset request) and read by the worker (app/notifications/worker.py), which owns every
status change after that.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow
from app.notifications.models import KIND_CHECK, NotificationKind


class EmailMode(StrEnum):
    immediately = "immediately"
    daily = "daily"
    never = "never"

    @property
    def label(self) -> str:
        return {
            "immediately": "Right away",
            "daily": "In a daily digest",
            "never": "Never",
        }[self.value]


KIND_LABELS = {
    NotificationKind.mention: "Someone mentions you (@name)",
    NotificationKind.reply_to_you: "Someone replies to your post",
    NotificationKind.watched_reply: "New replies in discussions you watch",
    NotificationKind.new_discussion: "New discussions in groups you watch",
    NotificationKind.moderation: "Moderators act on your posts",
}

# What a member gets until they choose. Replies in watched discussions go "right away" but
# are gathered: at most one e-mail per discussion every `email_batch_minutes`.
DEFAULT_MODES: dict[NotificationKind, EmailMode] = {
    NotificationKind.mention: EmailMode.immediately,
    NotificationKind.reply_to_you: EmailMode.immediately,
    NotificationKind.watched_reply: EmailMode.immediately,
    NotificationKind.new_discussion: EmailMode.daily,
    NotificationKind.moderation: EmailMode.immediately,
}

# Kinds that open a gathering window when they start an e-mail (the e-mail waits a batch
# window for more replies); the others are personal and go at the next allowed moment.
GATHERED_KINDS = frozenset({NotificationKind.watched_reply, NotificationKind.new_discussion})


# A safety alert to a moderator (a possible crisis, app/safety/review.py): its own message,
# keyed "alert:<notification id>", sent at once whatever the moderator's e-mail settings.
# Those settings are about how often a member hears of the forum (right away, a daily
# digest, or never, per kind); an alert that someone may be in danger is not one of them,
# and there is no separate "no safety alerts" choice for it to respect.
ALERT_KEY_PREFIX = "alert:"


class OutboxCategory(StrEnum):
    notification = "notification"  # one discussion's notifications for one member
    digest = "digest"  # the daily digest
    verify_email = "verify_email"
    password_reset = "password_reset"  # noqa: S105 (a category name, not a password)
    # registration (app/accounts/registration.py): the link that creates the account, to a
    # new address; to an address that has an account, a notice instead (no link)
    register_confirm = "register_confirm"
    register_taken = "register_taken"
    # changing the address (app/accounts/email_change.py): the link, to the new address;
    # a notice to the old one
    email_change = "email_change"
    email_change_notice = "email_change_notice"


class OutboxStatus(StrEnum):
    queued = "queued"  # waiting for send_after (also between retries)
    sending = "sending"  # claimed by a worker until locked_until
    sent = "sent"
    failed = "failed"  # gave up after email_max_attempts, or a permanent SMTP refusal
    skipped = "skipped"  # nothing left to say (posts hidden, member unsubscribed)


class EmailPreference(Base):
    """A member's choice for one kind; kinds without a row use DEFAULT_MODES."""

    __tablename__ = "email_preferences"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="kind_known"),
        CheckConstraint("mode IN ('immediately', 'daily', 'never')", name="mode_known"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


QUEUED_UNTOUCHED = "status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"


class OutboxMessage(Base):
    """One e-mail to send. Content is composed when it is sent (from `payload` for account
    e-mails, from the attached notifications for the others), so a batch can keep
    gathering notifications while it waits; once a worker has claimed it, it is sealed.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(
            "category IN ('notification', 'digest', 'verify_email', 'password_reset', "
            "'register_confirm', 'register_taken', 'email_change', 'email_change_notice')",
            name="category_known",
        ),
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'skipped')", name="status_known"
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # the worker's claim: due messages, oldest first
        Index("ix_email_outbox_status_send_after", "status", "send_after"),
        # "was this member sent an e-mail about this discussion in the last 15 minutes?"
        Index("ix_email_outbox_user_discussion", "user_id", "discussion_id", "sent_at"),
        # at most one gathering (unsent, never tried) message per member and batch key;
        # later notifications join it
        Index(
            "uq_email_outbox_gathering",
            "user_id",
            "batch_key",
            unique=True,
            sqlite_where=text(QUEUED_UNTOUCHED),
            postgresql_where=text(QUEUED_UNTOUCHED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for a registration's link, sent before the account exists. No foreign key
    # (migration x24keys), nor to discussions: a reply to a discussion 1,000 members
    # watch writes 1,000 messages once the earlier ones were sent, and the two keys read
    # and locked (FOR KEY SHARE) 1,000 users and the discussion 1,000 times: 64-88 ms of
    # PostgreSQL for those rows, 18 ms without. Members and discussions are never deleted;
    # account deletion deletes the member's messages and their items itself
    # (app/safety/deletion.py).
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str] = mapped_column(String(20))
    # "d:<discussion id>", "digest", "n:<notification id>", "alert:<notification id>";
    # None for account e-mails
    batch_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    discussion_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_address: Mapped[str] = mapped_column(String(254))
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.queued.value)
    # not before: the end of the gathering window, the digest hour or the next retry
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # a claim is a lease: a worker that dies leaves the message to be taken over after this
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxItem(Base):
    """A notification carried by an outbox message. The primary key is the notification:
    each notification is in at most one e-mail, whatever retries or concurrent requests do.

    No foreign keys (migration w17watch): a reply to a discussion 1,000 members watch
    writes 1,000 of these, and on PostgreSQL each key was a look-up and a row lock per row
    (the notification just written, the message just upserted), about a fifth of the
    database's CPU for that reply. Both ids come from rows the same transaction wrote or
    locked (app/email/outbox.py, app/safety/review.py). What the cascades did is done where
    rows go: a member's items go with their messages (the item of a member's notification
    is always in that member's message): account deletion and the retention purge delete
    the items of the messages they delete (`items_of_messages`). Composing an e-mail joins
    each item to its notification, so an item whose notification is gone (its post was
    deleted outright, which the app never does once a post is published) says nothing.
    """

    __tablename__ = "email_outbox_items"
    __table_args__ = (Index("ix_email_outbox_items_outbox_id", "outbox_id"),)

    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outbox_id: Mapped[int] = mapped_column(Integer)
