"""account deletion

A deleted member's row stays under a neutral name (`deleted_at` set); their old username is
held, as a hash, for 30 days.

Revision ID: sf3deletion
Revises: sf2groupvis
Create Date: 2026-12-01 00:50:38.449197
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sf3deletion"
down_revision: str | None = "sf2groupvis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "username_holds",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_username_holds")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")

    op.drop_table("username_holds")
