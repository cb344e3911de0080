"""search, PostgreSQL: titles found by word and age in one index, exact titles by a b-tree

Similar discussions (the newest WINDOW discussions whose title says any word of a title
being typed) took every title match from the GIN index on `title_tsv`, read each one's row
(one heap page each: an opening post lies among its replies), sorted them by id and kept
the newest: work that grew with the forum (1,443 rows for `Fatigue after chemo` over
10,000 discussions; 394 % more CPU at 1,050,000 posts than at 210,000). They now look
among the newest documents only (`TITLE_DOCUMENTS` in app/search/engine.py), and the range
of ids is tested inside the index: a GIN index over (title_tsv, id), the id by btree_gin's
operator class (a trusted extension in PostgreSQL's contrib), so that only the matches in
the range are read. It replaces the title-only GIN index, which it serves as well (a
search's title window, in:title).

A search's title window (the newest WINDOW documents whose title says the words) looks in
the same range, and finds the titles that are the query as typed (they come first) at any
age by a b-tree on lower(title).

SQLite: nothing (its titles have their own FTS5 index; see s3speed).

Revision ID: s19pg
Revises: w17watch
Create Date: 2026-12-01 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s19pg"
down_revision: str | None = "w17watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    """CREATE INDEX ix_search_documents_title_age ON search_documents
        USING gin (title_tsv, id) WHERE title <> ''""",
    "DROP INDEX ix_search_documents_title_tsv",
    """CREATE INDEX ix_search_documents_exact_title ON search_documents (lower(title))
        WHERE title <> ''""",
]

DOWNGRADE = [
    "DROP INDEX ix_search_documents_exact_title",
    """CREATE INDEX ix_search_documents_title_tsv ON search_documents USING gin (title_tsv)
        WHERE title <> ''""",
    "DROP INDEX ix_search_documents_title_age",
    # the extension stays: another database object may use it by now
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
