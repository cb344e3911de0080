"""search: SQLite's newest documents' index kept merged as documents come and go

`search_fts_recent` (migration s5window) holds the newest 20,000 documents: every new one
goes in, and every 64th takes out those that left. FTS5 does not take a deleted
document's entries out of the segment holding them: it writes a deletion marker into a
new segment, and the two meet, and both go, only when a merge writes the index's oldest
segment. Its automatic merges seldom do (they merge four segments of a level into one of
the next), so the index kept every document it ever held: on the bench's 210,000 posts
37 MB for 20,000 live documents (7.6 MB merged), and growing with the forum. Each search
paid for it: bm25 counts a word's documents before the first row (its IDF) by walking
every entry of the word, deleted ones included (6.2 ms for "appointment", 0.4 ms merged),
and a page's snippets seek each of its rows in every segment.

Now every 4096th document, after taking out those that left, merges the index into one
segment (FTS5's `optimize`: the deleted entries and their markers go), so it holds at
most some 4,000 documents besides its live 20,000, whatever the forum's size. Measured on
a copy of the bench's database, 4,500 documents written one a transaction: 0.75 ms of
CPU a write on average (0.65 ms without), the 4096th taking 250 ms (it rewrites the
index's 8 MB, in that writer's transaction: other writers wait that long, once every
4096 posts). FTS5's incremental merge (`merge` with a negative count) was no cheaper:
once a write had added a segment it merged everything at each call (170 ms every 64th
document). The index is merged once here as well.

PostgreSQL: nothing (its newest documents are a range of the primary key).

Revision ID: s18sqlite
Revises: s19pg
Create Date: 2026-12-01 13:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s18sqlite"
down_revision: str | None = "s19pg"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECENT_DOCUMENTS = 20_000  # app/search/engine.py RECENT_DOCUMENTS, as in s5window
TRIM_EVERY = 64  # s5window
# the index is merged into one segment every MERGE_EVERY documents (a multiple of
# TRIM_EVERY: right after a trim)
MERGE_EVERY = 4096

TRIGGER = "search_documents_recent_ai"
INSERT_AND_TRIM = f"""
        INSERT INTO search_fts_recent(rowid, title, body) VALUES (new.id, new.title, new.body);
        DELETE FROM search_fts_recent
            WHERE new.id % {TRIM_EVERY} = 0 AND rowid <= new.id - {RECENT_DOCUMENTS};"""
MERGE = f"""
        INSERT INTO search_fts_recent(search_fts_recent)
            SELECT 'optimize' WHERE new.id % {MERGE_EVERY} = 0;"""


def _trigger(body: str) -> str:
    return f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON search_documents BEGIN{body}\n    END"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(f"DROP TRIGGER {TRIGGER}")
    op.execute(_trigger(INSERT_AND_TRIM + MERGE))
    op.execute("INSERT INTO search_fts_recent(search_fts_recent) VALUES ('optimize')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(f"DROP TRIGGER {TRIGGER}")
    op.execute(_trigger(INSERT_AND_TRIM))
