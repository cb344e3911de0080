"""search: SQLite's newest documents in a full-text index of their own, and the indexes
merged into one segment each

Ranking the newest WINDOW matches with FTS5's bm25 counts every document that says each
word (its IDF) before the first row: a word in 135,000 of 210,000 posts cost 2.9 ms, and
the cost grows with the posts. `search_fts_recent` holds the newest 20,000 documents alone
(as many as PostgreSQL searches first, `RECENT_DOCUMENTS` in app/search/engine.py): the
search looks for the newest matches there first, and bm25 counts the word's matches among
those (0.8 ms, whatever the size of the forum); every document is searched only when the
newest hold too few. Unlike the others it keeps its own copy of the text (about 10 MB): a
row leaving it is deleted by its id alone. The triggers keep it: each new document goes in,
and every 64th takes out those 20,000 ids older than itself (so it holds the newest 20,000
to 20,063: all of the newest 20,000, which is what the search relies on); edits and
deletions follow.

The library's pages get an index of their own too (`search_fts_library`, a few hundred
rows): ranking the pages that say a word in `search_fts` made bm25 count every post that
says it first.

FTS5 keeps an index as segments that writes add and merge now and then (four of a size are
merged into one of the next), and a query seeks its words in every segment: the page's
snippets seek each of its rows (`rowid = ?` with the MATCH), and on the bench's 210,000
posts (9 segments) 20 snippets of a common word cost 1.9 ms of seeks, 0.11 ms merged.
`optimize` merges each index into one segment.

PostgreSQL has neither: its GIN index is one tree, and its newest documents are a range of
the primary key.

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

RECENT_DOCUMENTS = 20_000  # app/search/engine.py RECENT_DOCUMENTS
# the documents that left are deleted every 64th document, together: deleted one by one they
# cost each new document 0.35 ms of CPU (FTS5 writes a deletion per transaction), together
# 0.03 ms (insert alone: 0.07 ms; measured on the bench's 210,000 posts, 640 documents a run)
TRIM_EVERY = 64

UPGRADE = [
    """CREATE VIRTUAL TABLE search_fts_recent USING fts5(
        title, body, tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER search_documents_recent_ai AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts_recent(rowid, title, body) VALUES (new.id, new.title, new.body);
        DELETE FROM search_fts_recent
            WHERE new.id % {TRIM_EVERY} = 0 AND rowid <= new.id - {RECENT_DOCUMENTS};
    END""",
    """CREATE TRIGGER search_documents_recent_ad AFTER DELETE ON search_documents BEGIN
        DELETE FROM search_fts_recent WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER search_documents_recent_au AFTER UPDATE OF title, body
        ON search_documents BEGIN
        UPDATE search_fts_recent SET title = new.title, body = new.body WHERE rowid = new.id;
    END""",
    f"""INSERT INTO search_fts_recent(rowid, title, body)
        SELECT id, title, body FROM search_documents
        WHERE id > (SELECT max(id) FROM search_documents) - {RECENT_DOCUMENTS}""",
    """CREATE VIRTUAL TABLE search_fts_library USING fts5(
        title, body, tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_documents_library_ai AFTER INSERT ON search_documents
        WHEN new.source = 'library' BEGIN
        INSERT INTO search_fts_library(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER search_documents_library_ad AFTER DELETE ON search_documents
        WHEN old.source = 'library' BEGIN
        DELETE FROM search_fts_library WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER search_documents_library_au AFTER UPDATE OF title, body
        ON search_documents WHEN new.source = 'library' BEGIN
        UPDATE search_fts_library SET title = new.title, body = new.body WHERE rowid = new.id;
    END""",
    """INSERT INTO search_fts_library(rowid, title, body)
        SELECT id, title, body FROM search_documents WHERE source = 'library'""",
    "INSERT INTO search_fts(search_fts) VALUES ('optimize')",
    "INSERT INTO search_fts_titles(search_fts_titles) VALUES ('optimize')",
    "INSERT INTO search_fts_recent(search_fts_recent) VALUES ('optimize')",
]

DOWNGRADE = [
    "DROP TRIGGER search_documents_library_au",
    "DROP TRIGGER search_documents_library_ad",
    "DROP TRIGGER search_documents_library_ai",
    "DROP TABLE search_fts_library",
    "DROP TRIGGER search_documents_recent_au",
    "DROP TRIGGER search_documents_recent_ad",
    "DROP TRIGGER search_documents_recent_ai",
    "DROP TABLE search_fts_recent",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
