"""notifications without a foreign key to users; e-mail outbox items without foreign keys

A reply to a discussion with 1,000 watchers writes 1,000 notifications and 1,000 outbox
items in its transaction. On PostgreSQL every foreign key of those rows is, per row, a
query (RI trigger) that reads the referenced row and locks it FOR KEY SHARE, which writes
the lock into the row (WAL). Three of them did nothing the application needs:

- notifications.user_id -> users: members are never deleted (account deletion anonymizes
  the row and deletes the member's notifications itself), and the fan-out takes the
  recipients from users in the same statement. 1,000 user rows locked a reply.
- email_outbox_items.notification_id -> notifications: the notification was written by the
  same statement's transaction a moment before. Its cascade: a notification goes with its
  member (account deletion, which deletes the member's messages and their items) or with
  its post (posts are only soft-deleted once published); composing an e-mail joins each
  item to its notification, so an item without one says nothing.
- email_outbox_items.outbox_id -> email_outbox: the message was upserted (and locked) by
  the same transaction. Its cascade is done where messages are deleted: account deletion
  and the retention purge delete the messages' items first
  (app.email.outbox.items_of_messages).

Measured on PostgreSQL (1,000 watchers, CPU of the backend for the reply's two writing
statements, /proc/<pid>/schedstat, same minutes): see the commit message.

notifications.post_id keeps its foreign key (its cascade removes a post's notifications).

Downgrade puts the keys back; rows a key would refuse (an item whose notification or
message is gone, a notification whose member is gone) are deleted first.

Revision ID: w17watch
Revises: h16notify
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "w17watch"
down_revision: str | None = "h16notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_items(keys: bool) -> None:
    """SQLite drops or adds a foreign key only by building the table again. Nothing refers
    to email_outbox_items, so dropping the old one cascades nothing."""
    constraints = (
        ",\n CONSTRAINT fk_email_outbox_items_notification_id_notifications"
        " FOREIGN KEY(notification_id) REFERENCES notifications (id) ON DELETE CASCADE,\n"
        " CONSTRAINT fk_email_outbox_items_outbox_id_email_outbox FOREIGN KEY(outbox_id)"
        " REFERENCES email_outbox (id) ON DELETE CASCADE"
        if keys
        else ""
    )
    op.execute(
        f"""CREATE TABLE email_outbox_items_w17 (
 notification_id INTEGER NOT NULL,
 outbox_id INTEGER NOT NULL,
 CONSTRAINT pk_email_outbox_items PRIMARY KEY (notification_id){constraints}
)"""
    )
    where = (
        " WHERE notification_id IN (SELECT id FROM notifications)"
        " AND outbox_id IN (SELECT id FROM email_outbox)"
        if keys
        else ""
    )
    op.execute(
        "INSERT INTO email_outbox_items_w17 (notification_id, outbox_id)"
        f" SELECT notification_id, outbox_id FROM email_outbox_items{where}"
    )
    op.execute("DROP TABLE email_outbox_items")
    op.execute("ALTER TABLE email_outbox_items_w17 RENAME TO email_outbox_items")
    op.create_index("ix_email_outbox_items_outbox_id", "email_outbox_items", ["outbox_id"])


def _sqlite_notifications(member_key: bool) -> None:
    """The same for notifications. Called while email_outbox_items has no foreign key to
    it (before its keys come back), so dropping the old table cascades nothing."""
    key = (
        " CONSTRAINT fk_notifications_user_id_users FOREIGN KEY(user_id)\n"
        " REFERENCES users (id) ON DELETE CASCADE,\n"
        if member_key
        else ""
    )
    op.execute(
        f"""CREATE TABLE notifications_w17 (
 id INTEGER NOT NULL,
 user_id INTEGER NOT NULL,
 kind VARCHAR(20) NOT NULL,
 post_id INTEGER,
 discussion_id INTEGER,
 actor_id INTEGER,
 message TEXT NOT NULL,
 created_at DATETIME NOT NULL,
 read_at DATETIME,
 shown BOOLEAN DEFAULT 1 NOT NULL,
 CONSTRAINT pk_notifications PRIMARY KEY (id),
{key} CONSTRAINT fk_notifications_post_id_posts FOREIGN KEY(post_id)
 REFERENCES posts (id) ON DELETE CASCADE,
 CONSTRAINT ck_notifications_kind_known CHECK (kind IN ('mention', 'reply_to_you',
 'watched_reply', 'new_discussion', 'moderation'))
)"""
    )
    columns = (
        "id, user_id, kind, post_id, discussion_id, actor_id, message, created_at, read_at, shown"
    )
    where = " WHERE user_id IN (SELECT id FROM users)" if member_key else ""
    op.execute(
        f"INSERT INTO notifications_w17 ({columns}) SELECT {columns} FROM notifications{where}"
    )
    op.execute("DROP TABLE notifications")
    op.execute("ALTER TABLE notifications_w17 RENAME TO notifications")
    op.execute("CREATE INDEX ix_notifications_user_id ON notifications (user_id, id)")
    op.execute("CREATE INDEX ix_notifications_discussion_id ON notifications (discussion_id)")
    op.execute(
        "CREATE INDEX ix_notifications_unread_shown ON notifications (user_id)"
        " WHERE shown = 1 AND read_at IS NULL"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_notifications_post_user ON notifications"
        " (post_id, user_id, (CASE WHEN kind = 'moderation' THEN id ELSE 0 END))"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_items(keys=False)  # first: then nothing refers to notifications
        _sqlite_notifications(member_key=False)
        return
    op.drop_constraint(
        "fk_email_outbox_items_notification_id_notifications",
        "email_outbox_items",
        type_="foreignkey",
    )
    op.drop_constraint(
        "fk_email_outbox_items_outbox_id_email_outbox", "email_outbox_items", type_="foreignkey"
    )
    op.drop_constraint("fk_notifications_user_id_users", "notifications", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_notifications(member_key=True)
        _sqlite_items(keys=True)
        return
    op.execute("DELETE FROM notifications WHERE user_id NOT IN (SELECT id FROM users)")
    op.execute(
        "DELETE FROM email_outbox_items WHERE notification_id NOT IN"
        " (SELECT id FROM notifications) OR outbox_id NOT IN (SELECT id FROM email_outbox)"
    )
    op.create_foreign_key(
        "fk_notifications_user_id_users",
        "notifications",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_email_outbox_items_notification_id_notifications",
        "email_outbox_items",
        "notifications",
        ["notification_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_email_outbox_items_outbox_id_email_outbox",
        "email_outbox_items",
        "email_outbox",
        ["outbox_id"],
        ["id"],
        ondelete="CASCADE",
    )
