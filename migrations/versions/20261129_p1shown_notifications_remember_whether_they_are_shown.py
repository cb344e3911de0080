"""notifications remember whether they are shown

The header's unread count is read on every page a member opens; it joined posts and
discussions for each unread notification to leave out those of hidden or deleted content.
`shown` records that (kept when a post's visibility changes) and a partial index counts
unread shown notifications by itself. Rows are filled in by the next revision.

Revision ID: p1shown
Revises: c3n2email
Create Date: 2026-11-29 20:03:51
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p1shown"
down_revision: str | None = "c3n2email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shown", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.drop_index(
            "ix_notifications_unread",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
        batch_op.create_index("ix_notifications_discussion_id", ["discussion_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_unread_shown",
            ["user_id"],
            unique=False,
            sqlite_where=sa.text("shown = 1 AND read_at IS NULL"),
            postgresql_where=sa.text("shown AND read_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_unread_shown",
            sqlite_where=sa.text("shown = 1 AND read_at IS NULL"),
            postgresql_where=sa.text("shown AND read_at IS NULL"),
        )
        batch_op.drop_index("ix_notifications_discussion_id")
        batch_op.create_index(
            "ix_notifications_unread",
            ["user_id"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
        batch_op.drop_column("shown")
