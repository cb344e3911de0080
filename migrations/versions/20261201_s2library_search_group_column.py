"""search: each post document's group, for `#group` searches without joins

Revision ID: s2library
Revises: a10cregister
Create Date: 2026-12-01 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s2library"
down_revision: str | None = "a10cregister"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table rebuild): the FTS5 triggers on SQLite stay as they are
    op.add_column("search_documents", sa.Column("group_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE search_documents SET group_id = (SELECT discussions.group_id FROM discussions"
        " WHERE discussions.id = search_documents.discussion_id)"
        " WHERE search_documents.source = 'post'"
    )
    op.create_index("ix_search_documents_group", "search_documents", ["group_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_search_documents_group", table_name="search_documents")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild that would lose the
    # FTS5 triggers
    op.drop_column("search_documents", "group_id")
