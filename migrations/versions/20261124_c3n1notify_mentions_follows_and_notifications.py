"""mentions, follows and notifications

Revision ID: c3n1notify
Revises: a4d2builtins
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3n1notify"
down_revision: str | None = "a4d2builtins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVEL_CHECK = "level IN ('watching', 'normal', 'muted')"
KIND_CHECK = "kind IN ('mention', 'reply_to_you', 'watched_reply', 'new_discussion', 'moderation')"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_follow", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    op.create_table(
        "discussion_follows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(LEVEL_CHECK, name=op.f("ck_discussion_follows_level_known")),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_discussion_follows_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_discussion_follows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "discussion_id", name=op.f("pk_discussion_follows")),
    )
    with op.batch_alter_table("discussion_follows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_discussion_follows_discussion_level", ["discussion_id", "level"], unique=False
        )

    op.create_table(
        "group_follows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(LEVEL_CHECK, name=op.f("ck_group_follows_level_known")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_follows_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_follows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_group_follows")),
    )
    with op.batch_alter_table("group_follows", schema=None) as batch_op:
        batch_op.create_index("ix_group_follows_group_level", ["group_id", "level"], unique=False)

    op.create_table(
        "post_mentions",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_mentions_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_post_mentions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_post_mentions")),
    )
    with op.batch_alter_table("post_mentions", schema=None) as batch_op:
        batch_op.create_index("ix_post_mentions_user_id", ["user_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(KIND_CHECK, name=op.f("ck_notifications_kind_known")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_notifications_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_notifications_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_notifications_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "uq_notifications_user_post",
            ["user_id", "post_id"],
            unique=True,
            sqlite_where=sa.text("kind != 'moderation'"),
            postgresql_where=sa.text("kind != 'moderation'"),
        )
        batch_op.create_index("ix_notifications_user_id", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_notifications_unread",
            ["user_id"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
        batch_op.create_index("ix_notifications_post_id", ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_post_id")
        batch_op.drop_index("ix_notifications_unread")
        batch_op.drop_index("ix_notifications_user_id")
        batch_op.drop_index("uq_notifications_user_post")
    op.drop_table("notifications")

    with op.batch_alter_table("post_mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_post_mentions_user_id")
    op.drop_table("post_mentions")

    with op.batch_alter_table("group_follows", schema=None) as batch_op:
        batch_op.drop_index("ix_group_follows_group_level")
    op.drop_table("group_follows")

    with op.batch_alter_table("discussion_follows", schema=None) as batch_op:
        batch_op.drop_index("ix_discussion_follows_discussion_level")
    op.drop_table("discussion_follows")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("auto_follow")
