"""the home page's tabs read discussions newest first through an index

Latest (every group) orders by (last_activity_at, id) and Unanswered by (created_at, id);
the only index on activity began with the group, so both sorted every discussion per page
(bench --scale large: 170-500 ms a home page at 50,000 discussions).

Revision ID: h14home
Revises: sf4gaps
Create Date: 2026-12-01 04:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "h14home"
down_revision: str | None = "sf4gaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_discussions_activity", "discussions", ["last_activity_at", "id"])
    op.create_index("ix_discussions_created", "discussions", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_discussions_created", table_name="discussions")
    op.drop_index("ix_discussions_activity", table_name="discussions")
