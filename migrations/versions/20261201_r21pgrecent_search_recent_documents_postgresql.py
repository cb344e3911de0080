"""search, PostgreSQL: the newest documents' words in a table and GIN index of their own

A search by relevance ranks the newest WINDOW matches, looked for among the newest
RECENT_DOCUMENTS (20,000) documents first, then among older ones (app/search/engine.py).
On PostgreSQL those were ranges of the primary key intersected with the GIN index of every
document: the GIN index lists every match of a word before a range applies, and the
planner, which cannot tell how many of a word's matches are recent, either walked the
primary key newest first through all 20,000 (16 ms for `disease` at 1,050,000 posts, 77
matches among them; 1.9 ms at 210,000), or intersected a range of 337,000 ids with the
word's matches (25 ms for `EBV`): costs growing with the forum (+62 % of PostgreSQL's CPU
per search from 210,000 to 1,050,000 posts). `search_recent` holds the newest RECENT_KEPT
(200,000) documents' id and weighted tsvector (a copy of `search_documents.tsv`), with a
GIN index of its own: the newest 20,000's matches are chosen there, then the rest of its
documents' (a word in one post of 400 finds its newest WINDOW among them), so the work
depends on its size, not the forum's; only rarer words look among older documents. Each
match is joined to its `search_documents` row by id, whose facts the access layer's rule
reads (visibility, group, author, dates): nothing here to keep in step with hiding,
moving or deletion but the words and the row's existence.

The triggers keep it in the writer's transaction, as SQLite's `search_fts_recent` is kept
(migrations s5window, s18sqlite): each new document goes in, and every TRIM_EVERY-th takes
out those RECENT_KEPT ids older than itself (so it holds the newest 200,000 to 200,063:
all of the newest 200,000, which the search relies on); an edit of the text (an edit, a
discussion's new title, an erased account) rewrites its words, and a deleted document
leaves. Its GIN index is written at once (fastupdate off): a pending list is read in full
by every search until a vacuum or its 4 MB limit merges it. Autovacuum is asked to clean
it after 2,000 deletions or insertions (about 2,000 posts) rather than a fifth of it.
About 135 MB on the bench's databases.

Filled here from the newest documents (an index of the table, not data: like an index it
is built in the revision that makes it). SQLite: nothing (its own is `search_fts_recent`).

Revision ID: r21pgrecent
Revises: v20similar
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "r21pgrecent"
down_revision: str | None = "v20similar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECENT_KEPT = 200_000  # app/search/engine.py RECENT_KEPT
TRIM_EVERY = 64  # as SQLite's (s5window)

UPGRADE = [
    """CREATE TABLE search_recent (
        id integer NOT NULL,
        tsv tsvector NOT NULL,
        CONSTRAINT pk_search_recent PRIMARY KEY (id)
    ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
            autovacuum_vacuum_insert_scale_factor = 0,
            autovacuum_vacuum_insert_threshold = 2000)""",
    f"""INSERT INTO search_recent (id, tsv)
        SELECT id, tsv FROM search_documents
        WHERE id > (SELECT max(id) FROM search_documents) - {RECENT_KEPT}""",
    """CREATE INDEX ix_search_recent_tsv ON search_recent USING gin (tsv)
        WITH (fastupdate = off)""",
    f"""CREATE FUNCTION search_recent_follow() RETURNS trigger AS $$ BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO search_recent (id, tsv) VALUES (NEW.id, NEW.tsv);
            IF NEW.id % {TRIM_EVERY} = 0 THEN
                DELETE FROM search_recent WHERE id <= NEW.id - {RECENT_KEPT};
            END IF;
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE search_recent SET tsv = NEW.tsv WHERE id = NEW.id;
        ELSE
            DELETE FROM search_recent WHERE id = OLD.id;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_recent_ai AFTER INSERT ON search_documents
        FOR EACH ROW EXECUTE FUNCTION search_recent_follow()""",
    """CREATE TRIGGER search_recent_au AFTER UPDATE OF title, body ON search_documents
        FOR EACH ROW EXECUTE FUNCTION search_recent_follow()""",
    """CREATE TRIGGER search_recent_ad AFTER DELETE ON search_documents
        FOR EACH ROW EXECUTE FUNCTION search_recent_follow()""",
    "ANALYZE search_recent",
]

DOWNGRADE = [
    "DROP TRIGGER search_recent_ad ON search_documents",
    "DROP TRIGGER search_recent_au ON search_documents",
    "DROP TRIGGER search_recent_ai ON search_documents",
    "DROP FUNCTION search_recent_follow()",
    "DROP TABLE search_recent",
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
