"""Groups can be archived (read-only, out of the listings); an index of posts by
status (the queue of posts awaiting approval, and its count in moderators' page header)
and a partial index of deleted posts (the moderators' list of them).

Revision ID: e1edges
Revises: m9mod
Create Date: 2026-12-01 00:21:13.158143
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e1edges"
down_revision: str | None = "m9mod"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELETED = sa.text("deleted_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    # a plain index, not a partial one on status = 'pending': SQLite re-compiles any
    # statement whose bound `status = ?` it matches against a partial index's condition
    op.create_index("ix_posts_status_created", "posts", ["status", "created_at"], unique=False)
    op.create_index(
        "ix_posts_deleted",
        "posts",
        ["id"],
        unique=False,
        sqlite_where=DELETED,
        postgresql_where=DELETED,
    )


def downgrade() -> None:
    op.drop_index("ix_posts_deleted", table_name="posts")
    op.drop_index("ix_posts_status_created", table_name="posts")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
