"""one open safety item per post and kind

Every edit of a post that reads as a possible crisis, or that its author published with
confirmed personal information, opened another item in the moderators' queue (and, for a
crisis, alerted every moderator again). A post now has at most one open item of each kind:
a partial unique index on (post_id, kind) over open items, which the write path's INSERT ...
ON CONFLICT DO NOTHING relies on, so two edits at once cannot open two. Resolved items are
outside it: a post may have many, and a new event after a review opens a new item.

Open duplicates already stored are merged into the oldest of each (the one that has waited
longest, whose time in the queue is the true one): the later ones are deleted. They are
copies of the same event, none of them reviewed, so no moderator's record is lost.

Revision ID: sf4once
Revises: s5window
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sf4once"
down_revision: str | None = "s5window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REVIEW = "resolved_at IS NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM safety_reviews WHERE resolved_at IS NULL AND EXISTS ("
            " SELECT 1 FROM safety_reviews AS older"
            " WHERE older.post_id = safety_reviews.post_id"
            " AND older.kind = safety_reviews.kind"
            " AND older.resolved_at IS NULL"
            " AND older.id < safety_reviews.id)"
        )
    )
    op.create_index(
        "uq_safety_reviews_open_post_kind",
        "safety_reviews",
        ["post_id", "kind"],
        unique=True,
        sqlite_where=sa.text(OPEN_REVIEW),
        postgresql_where=sa.text(OPEN_REVIEW),
    )


def downgrade() -> None:
    op.drop_index("uq_safety_reviews_open_post_kind", table_name="safety_reviews")
