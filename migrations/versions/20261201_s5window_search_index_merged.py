"""search: SQLite's full-text indexes merged into one segment each

FTS5 keeps an index as segments that writes add and merge now and then (four of a size are
merged into one of the next); a query seeks its words in every segment. The page's
snippets are made by seeking each of its rows in the word's entries (`rowid = ?` with the
MATCH), once per segment: on the bench's 210,000 posts the index had 9 segments and a
page's 20 snippets cost 1.9 ms of seeks for a common word (0.11 ms merged), the details
statement 3.5-4.8 ms (0.7-0.8 ms merged). `optimize` merges every segment into one;
PostgreSQL has no such step (a GIN index is one tree). Nothing changes on a downgrade.

Revision ID: s5window
Revises: h15reply
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s5window"
down_revision: str | None = "h15reply"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPTIMIZE = [
    "INSERT INTO search_fts(search_fts) VALUES ('optimize')",
    "INSERT INTO search_fts_titles(search_fts_titles) VALUES ('optimize')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for statement in OPTIMIZE:
        op.execute(statement)


def downgrade() -> None:
    pass  # the merged index is the same index
