"""notifications and outbox messages without their last foreign keys

A reply to a discussion 1,000 members watch writes 1,000 notifications and, once the
messages gathering earlier replies have been sent, 1,000 new outbox messages, in its
transaction. On PostgreSQL each foreign key of those rows is, per row, a query (an RI
trigger) that reads the referenced row and locks it FOR KEY SHARE: a write into the row
locked. Migration w17watch took out the keys to members from notifications and both keys
of outbox items; three were left, and none does anything the application needs:
- notifications.post_id -> posts: posts are never deleted (deletion is a status: hidden,
  deleted, an erased account's posts keep their rows), so its cascade never runs.
- email_outbox.user_id -> users: members are never deleted either (account deletion
  anonymizes the row and deletes the member's messages and their items itself:
  app/safety/deletion.py), and the fan-out takes the recipients from users in the
  statement that writes the messages.
- email_outbox.discussion_id -> discussions: discussions are never deleted (a status too).
Measured on PostgreSQL 15 (kwatch copy of bench.watchers' database, EXPLAIN ANALYZE, same
minutes): 1,000 notifications 6.8-7.4 ms -> 4.4 ms; 1,000 new outbox messages 64-88 ms ->
18 ms (1,000 users locked FOR KEY SHARE, one a row).

SQLite drops a foreign key only by building the table again; nothing refers to either
table (w17watch), so dropping the old ones cascades nothing.

Downgrade puts the keys back, deleting first the rows they would refuse.

Revision ID: x24keys
Revises: s18sqlite
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "x24keys"
down_revision: str | None = "s18sqlite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFICATION_COLUMNS = (
    "id, user_id, kind, post_id, discussion_id, actor_id, message, created_at, read_at, shown"
)
OUTBOX_COLUMNS = (
    "id, user_id, category, batch_key, discussion_id, to_address, payload, status,"
    " send_after, attempts, last_error, locked_until, claimed_by, created_at, sent_at"
)


def _sqlite_notifications(keys: bool) -> None:
    key = (
        " CONSTRAINT fk_notifications_post_id_posts FOREIGN KEY(post_id)\n"
        " REFERENCES posts (id) ON DELETE CASCADE,\n"
        if keys
        else ""
    )
    op.execute(
        f"""CREATE TABLE notifications_x24 (
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
{key} CONSTRAINT ck_notifications_kind_known CHECK (kind IN ('mention', 'reply_to_you',
 'watched_reply', 'new_discussion', 'moderation'))
)"""
    )
    where = " WHERE post_id IS NULL OR post_id IN (SELECT id FROM posts)" if keys else ""
    op.execute(
        f"INSERT INTO notifications_x24 ({NOTIFICATION_COLUMNS})"  # noqa: S608 (constants)
        f" SELECT {NOTIFICATION_COLUMNS} FROM notifications{where}"
    )
    op.execute("DROP TABLE notifications")
    op.execute("ALTER TABLE notifications_x24 RENAME TO notifications")
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


def _sqlite_outbox(keys: bool) -> None:
    constraints = (
        " CONSTRAINT fk_email_outbox_discussion_id_discussions FOREIGN KEY(discussion_id)"
        " REFERENCES discussions (id) ON DELETE CASCADE,\n"
        " CONSTRAINT fk_email_outbox_user_id_users FOREIGN KEY(user_id)"
        " REFERENCES users (id) ON DELETE CASCADE,\n"
        if keys
        else ""
    )
    op.execute(
        f"""CREATE TABLE email_outbox_x24 (
 id INTEGER NOT NULL,
 user_id INTEGER,
 category VARCHAR(20) NOT NULL,
 batch_key VARCHAR(40),
 discussion_id INTEGER,
 to_address VARCHAR(254) NOT NULL,
 payload TEXT NOT NULL,
 status VARCHAR(10) NOT NULL,
 send_after DATETIME NOT NULL,
 attempts INTEGER NOT NULL,
 last_error TEXT NOT NULL,
 locked_until DATETIME,
 claimed_by VARCHAR(64),
 created_at DATETIME NOT NULL,
 sent_at DATETIME,
 CONSTRAINT pk_email_outbox PRIMARY KEY (id),
{constraints} CONSTRAINT ck_email_outbox_status_known CHECK (status IN ('queued', 'sending', 'sent',
 'failed', 'skipped')),
 CONSTRAINT ck_email_outbox_attempts_not_negative CHECK (attempts >= 0),
 CONSTRAINT ck_email_outbox_category_known CHECK (category IN ('notification', 'digest',
 'verify_email', 'password_reset', 'register_confirm', 'register_taken', 'email_change',
 'email_change_notice'))
)"""
    )
    where = (
        " WHERE (user_id IS NULL OR user_id IN (SELECT id FROM users))"
        " AND (discussion_id IS NULL OR discussion_id IN (SELECT id FROM discussions))"
        if keys
        else ""
    )
    op.execute(
        f"INSERT INTO email_outbox_x24 ({OUTBOX_COLUMNS})"  # noqa: S608 (constants)
        f" SELECT {OUTBOX_COLUMNS} FROM email_outbox{where}"
    )
    op.execute("DROP TABLE email_outbox")
    op.execute("ALTER TABLE email_outbox_x24 RENAME TO email_outbox")
    op.execute(
        "CREATE INDEX ix_email_outbox_user_discussion"
        " ON email_outbox (user_id, discussion_id, sent_at)"
    )
    op.execute(
        "CREATE INDEX ix_email_outbox_status_send_after ON email_outbox (status, send_after)"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_email_outbox_gathering ON email_outbox (user_id, batch_key)"
        " WHERE status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_notifications(keys=False)
        _sqlite_outbox(keys=False)
        return
    op.drop_constraint("fk_notifications_post_id_posts", "notifications", type_="foreignkey")
    op.drop_constraint("fk_email_outbox_user_id_users", "email_outbox", type_="foreignkey")
    op.drop_constraint(
        "fk_email_outbox_discussion_id_discussions", "email_outbox", type_="foreignkey"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_notifications(keys=True)
        _sqlite_outbox(keys=True)
        return
    op.execute(
        "DELETE FROM notifications WHERE post_id IS NOT NULL"
        " AND post_id NOT IN (SELECT id FROM posts)"
    )
    op.execute(
        "DELETE FROM email_outbox_items WHERE outbox_id IN (SELECT id FROM email_outbox"
        " WHERE (user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users))"
        " OR (discussion_id IS NOT NULL AND discussion_id NOT IN (SELECT id FROM discussions)))"
    )
    op.execute(
        "DELETE FROM email_outbox"
        " WHERE (user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users))"
        " OR (discussion_id IS NOT NULL AND discussion_id NOT IN (SELECT id FROM discussions))"
    )
    op.create_foreign_key(
        "fk_notifications_post_id_posts",
        "notifications",
        "posts",
        ["post_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_email_outbox_user_id_users",
        "email_outbox",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_email_outbox_discussion_id_discussions",
        "email_outbox",
        "discussions",
        ["discussion_id"],
        ["id"],
        ondelete="CASCADE",
    )
