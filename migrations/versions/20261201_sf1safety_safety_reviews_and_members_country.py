"""safety reviews and members' country

Posts the safety checks put before the moderators (a possible crisis, personal information
the author confirmed), and the member's country (phone region, crisis resources).

Revision ID: sf1safety
Revises: l1library
Create Date: 2026-12-01 00:23:32.410528
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sf1safety"
down_revision: str | None = "l1library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by_name", sa.String(length=30), nullable=True),
        sa.CheckConstraint(
            "kind IN ('crisis', 'personal_information')", name=op.f("ck_safety_reviews_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_safety_reviews_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_safety_reviews_resolved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_reviews")),
    )
    with op.batch_alter_table("safety_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_safety_reviews_open", ["resolved_at", "priority", "created_at"], unique=False
        )
        batch_op.create_index("ix_safety_reviews_post_id", ["post_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("country")

    with op.batch_alter_table("safety_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_reviews_post_id")
        batch_op.drop_index("ix_safety_reviews_open")

    op.drop_table("safety_reviews")
