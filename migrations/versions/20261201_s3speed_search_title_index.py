"""search: a title-only full-text index on SQLite (search_fts_titles), for title matches,
`in:title` and similar discussions without walking every body that says a common word

FTS5's bm25 counts, once per statement, every row that contains each searched phrase (its
IDF): on `search_fts` a title search paid for every post that says the word in its body
(8 ms for "appointment" over 210,000 posts). The titles alone are some 10,000 rows. The
index follows `search_documents` by triggers, rows with a title only; `search_fts` is now
rewritten only when a document's text changes (a move rewrote it for nothing).

Revision ID: s3speed
Revises: s2library
Create Date: 2026-12-01 03:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s3speed"
down_revision: str | None = "s2library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "DROP TRIGGER search_documents_au",
    """CREATE TRIGGER search_documents_au AFTER UPDATE OF title, body ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE VIRTUAL TABLE search_fts_titles USING fts5(
        title, content='search_documents', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_documents_title_ai AFTER INSERT ON search_documents
        WHEN new.title <> '' BEGIN
        INSERT INTO search_fts_titles(rowid, title) VALUES (new.id, new.title);
    END""",
    """CREATE TRIGGER search_documents_title_ad AFTER DELETE ON search_documents
        WHEN old.title <> '' BEGIN
        INSERT INTO search_fts_titles(search_fts_titles, rowid, title)
            VALUES ('delete', old.id, old.title);
    END""",
    """CREATE TRIGGER search_documents_title_au AFTER UPDATE OF title ON search_documents
    BEGIN
        INSERT INTO search_fts_titles(search_fts_titles, rowid, title)
            SELECT 'delete', old.id, old.title WHERE old.title <> '';
        INSERT INTO search_fts_titles(rowid, title) SELECT new.id, new.title WHERE new.title <> '';
    END""",
    """INSERT INTO search_fts_titles(rowid, title)
        SELECT id, title FROM search_documents WHERE title <> ''""",
]

DOWNGRADE = [
    "DROP TRIGGER search_documents_title_au",
    "DROP TRIGGER search_documents_title_ad",
    "DROP TRIGGER search_documents_title_ai",
    "DROP TABLE search_fts_titles",
    "DROP TRIGGER search_documents_au",
    """CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
]


def upgrade() -> None:
    # PostgreSQL has its title index already (the partial GIN index on title_tsv)
    if op.get_bind().dialect.name != "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
