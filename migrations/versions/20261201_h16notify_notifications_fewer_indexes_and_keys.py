"""notifications: one index by post instead of two, no foreign keys on the copies of the
post's discussion and author

A reply to a discussion with 1,000 watchers writes 1,000 notifications in one statement, and
each index and foreign key of the table is paid once per row: an index entry, and on
PostgreSQL a look-up with a row lock in the referenced table per foreign key.

- uq_notifications_post_user (post_id, user_id, partial: not moderation) and
  ix_notifications_post_user (post_id, user_id, every row) become one unique index on
  (post_id, user_id, CASE WHEN kind = 'moderation' THEN id ELSE 0 END): one notification
  per member per post as before (moderation notices apart: their third key is their own
  id), and every look-up by post (moderation notices included) and by post and member.
- ix_notifications_discussion_id stays, for refresh_shown (a discussion's notifications
  when its first post is hidden or restored): through the posts instead, PostgreSQL chose a
  sequential scan of the table (EXPLAIN, 92,000 notifications); its entries for a reply sit
  together, about 0.5 ms of 1,000 (measured).
- discussion_id and actor_id lose their foreign keys: they copy the post's discussion and
  author, and post_id's own foreign key (ON DELETE CASCADE) carries them: a post goes with
  its discussion, and its notifications with it; members are never deleted, only made
  anonymous. Moderation notices without a post have neither.

Measured on PostgreSQL, 1,000 watchers (backends' CPU a reply, see the commit).

Revision ID: h16notify
Revises: sf4once
Create Date: 2026-12-01 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h16notify"
down_revision: str | None = "sf4once"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_OF_NOTICES = "(CASE WHEN kind = 'moderation' THEN id ELSE 0 END)"


def _sqlite_rebuild(copied_keys: bool) -> None:
    """SQLite drops or adds a foreign key only by building the table again. Dropping the
    old table deletes its rows first, and with foreign keys enforced (the app's connections
    turn them on; PRAGMA foreign_keys cannot change inside a transaction) that deletes every
    email_outbox_items row by cascade: they are kept aside and put back."""
    keys = (
        ",\n CONSTRAINT fk_notifications_discussion_id_discussions FOREIGN KEY(discussion_id)"
        " REFERENCES discussions (id) ON DELETE CASCADE,\n"
        " CONSTRAINT fk_notifications_actor_id_users FOREIGN KEY(actor_id)"
        " REFERENCES users (id) ON DELETE SET NULL"
        if copied_keys
        else ""
    )
    op.execute(
        f"""CREATE TABLE notifications_h16 (
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
 CONSTRAINT fk_notifications_user_id_users FOREIGN KEY(user_id)
 REFERENCES users (id) ON DELETE CASCADE,
 CONSTRAINT fk_notifications_post_id_posts FOREIGN KEY(post_id)
 REFERENCES posts (id) ON DELETE CASCADE{keys},
 CONSTRAINT ck_notifications_kind_known CHECK (kind IN ('mention', 'reply_to_you',
 'watched_reply', 'new_discussion', 'moderation'))
)"""
    )
    columns = (
        "id, user_id, kind, post_id, discussion_id, actor_id, message, created_at, read_at, shown"
    )
    op.execute(f"INSERT INTO notifications_h16 ({columns}) SELECT {columns} FROM notifications")
    op.execute("CREATE TEMP TABLE email_outbox_items_h16 AS SELECT * FROM email_outbox_items")
    op.execute("DROP TABLE notifications")
    op.execute("ALTER TABLE notifications_h16 RENAME TO notifications")
    op.execute(
        "INSERT OR IGNORE INTO email_outbox_items (notification_id, outbox_id)"
        " SELECT notification_id, outbox_id FROM email_outbox_items_h16"
    )
    op.execute("DROP TABLE email_outbox_items_h16")


def _kept_indexes() -> None:
    op.create_index("ix_notifications_user_id", "notifications", ["user_id", "id"])
    op.create_index("ix_notifications_discussion_id", "notifications", ["discussion_id"])
    op.create_index(
        "ix_notifications_unread_shown",
        "notifications",
        ["user_id"],
        sqlite_where=sa.text("shown = 1 AND read_at IS NULL"),
        postgresql_where=sa.text("shown AND read_at IS NULL"),
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("uq_notifications_post_user", table_name="notifications")
    op.drop_index("ix_notifications_post_user", table_name="notifications")
    if sqlite:
        _sqlite_rebuild(copied_keys=False)  # its indexes go with the old table
        _kept_indexes()
    else:
        op.drop_constraint(
            "fk_notifications_discussion_id_discussions", "notifications", type_="foreignkey"
        )
        op.drop_constraint("fk_notifications_actor_id_users", "notifications", type_="foreignkey")
    op.create_index(
        "uq_notifications_post_user",
        "notifications",
        ["post_id", "user_id", sa.text(KEY_OF_NOTICES)],
        unique=True,
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("uq_notifications_post_user", table_name="notifications")
    if sqlite:
        _sqlite_rebuild(copied_keys=True)
        _kept_indexes()
    else:
        op.create_foreign_key(
            "fk_notifications_discussion_id_discussions",
            "notifications",
            "discussions",
            ["discussion_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.create_foreign_key(
            "fk_notifications_actor_id_users",
            "notifications",
            "users",
            ["actor_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_notifications_post_user", "notifications", ["post_id", "user_id"])
    op.create_index(
        "uq_notifications_post_user",
        "notifications",
        ["post_id", "user_id"],
        unique=True,
        sqlite_where=sa.text("kind != 'moderation'"),
        postgresql_where=sa.text("kind != 'moderation'"),
    )
