"""e-mail outbox, preferences, verification and reset tokens

Revision ID: c3n2email
Revises: c3n1notify
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3n2email"
down_revision: str | None = "c3n1notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('mention', 'reply_to_you', 'watched_reply', 'new_discussion', 'moderation')",
            name=op.f("ck_email_preferences_kind_known"),
        ),
        sa.CheckConstraint(
            "mode IN ('immediately', 'daily', 'never')",
            name=op.f("ck_email_preferences_mode_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_email_preferences")),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=43), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index("ix_password_resets_user_id", ["user_id"], unique=False)

    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("batch_key", sa.String(length=40), nullable=True),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "category IN ('notification', 'digest', 'verify_email', 'password_reset')",
            name=op.f("ck_email_outbox_category_known"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_email_outbox_status_known"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_email_outbox_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_email_outbox_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_outbox_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_outbox_status_send_after", ["status", "send_after"], unique=False
        )
        batch_op.create_index(
            "ix_email_outbox_user_discussion", ["user_id", "discussion_id", "sent_at"], unique=False
        )
        batch_op.create_index(
            "uq_email_outbox_gathering",
            ["user_id", "batch_key"],
            unique=True,
            sqlite_where=sa.text("status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"),
            postgresql_where=sa.text(
                "status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"
            ),
        )

    op.create_table(
        "email_outbox_items",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_email_outbox_items_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["email_outbox.id"],
            name=op.f("fk_email_outbox_items_outbox_id_email_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_email_outbox_items")),
    )
    with op.batch_alter_table("email_outbox_items", schema=None) as batch_op:
        batch_op.create_index("ix_email_outbox_items_outbox_id", ["outbox_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")

    with op.batch_alter_table("email_outbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_email_outbox_items_outbox_id")

    op.drop_table("email_outbox_items")
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_email_outbox_gathering",
            sqlite_where=sa.text("status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"),
            postgresql_where=sa.text(
                "status = 'queued' AND attempts = 0 AND batch_key IS NOT NULL"
            ),
        )
        batch_op.drop_index("ix_email_outbox_user_discussion")
        batch_op.drop_index("ix_email_outbox_status_send_after")

    op.drop_table("email_outbox")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index("ix_password_resets_user_id")

    op.drop_table("password_resets")
    op.drop_table("email_preferences")
