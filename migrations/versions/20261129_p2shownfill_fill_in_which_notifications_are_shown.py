"""fill in which notifications are shown

Data only: `notifications.shown` for the rows written before it existed, by the rule the
app keeps (app/notifications/service.py, shown_now): moderation notices always; the others
while their post is visible and not deleted, in a discussion not hidden or deleted.

Revision ID: p2shownfill
Revises: p1shown
Create Date: 2026-11-29 20:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p2shownfill"
down_revision: str | None = "p1shown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE notifications SET shown = (
            kind = 'moderation' OR EXISTS (
                SELECT 1 FROM posts JOIN discussions
                    ON discussions.id = notifications.discussion_id
                WHERE posts.id = notifications.post_id
                  AND posts.status = 'visible' AND posts.deleted_at IS NULL
                  AND discussions.deleted_at IS NULL AND discussions.status != 'hidden'
            )
        )
        """
    )


def downgrade() -> None:
    pass  # the column goes away with the previous revision's downgrade
