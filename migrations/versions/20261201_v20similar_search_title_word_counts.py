"""search: how many titles say each word, kept with the titles (similar discussions)

Similar discussions (a title being typed) OR-matched its words against the titles and
ranked the newest 500 matches: a common word ("after", "blood", "treatment") filled them
with the newest titles saying it, so an older discussion naming the rare word typed (the
condition) was missed, and 500 rows were ranked every keystroke (1.1 ms of SQLite on the
bench's 210,000 posts, 1.3 ms at 1,050,000). Now each typed word is weighed by how many
titles say it (its IDF) before anything is matched, from this table, read by key:
`search_fts_title_words` (a word as the engine indexes it -> titles saying it, documents
with a title: opening posts and library pages; the word '' -> every title).

And each title's words are kept as postings, `search_fts_title_postings` (word, document
id; its primary key read backwards gives a word's newest titles from the index alone).

- SQLite: the word is the Porter stem `search_fts_tokens` gives (an `fts3tokenize`
  table: no storage, it tokenizes its `input`); triggers on `search_documents` count a
  title's distinct stems and write its postings as it comes, changes or goes. FTS5's own
  vocabulary (`fts5vocab`) was measured first: it counts a term's titles by walking its
  postings on every look-up (0.08 ms for a typed title's words at 210,000 posts, 0.27 ms
  at 1,050,000: it grows with the forum); the counts here are a primary-key read. Its
  stems are the FTS5 index's, but for words over 20 letters (FTS3's Porter keeps those
  whole). The titles' FTS5 index read a word's newest 100 titles in 31 µs at 210,000
  posts, 42 µs at 1,050,000 (it walks the doclist backwards); the postings, whatever the
  size: the ranking statement 0.25 -> 0.18 ms at 210,000, 0.34 -> 0.16 ms at 1,050,000.
- PostgreSQL: the lexemes of `title_tsv` (to_tsvector('english')), counted by a trigger
  in one ordered upsert (concurrent writers lock the words in the same order); ts_stat
  (a scan of every title) fills the counts once here. The GIN index over (title_tsv, id)
  enumerated every id of its range (2,400 titles) for each word and read each match's
  row: 787 buffers for a four-word title on the bench's 210,000 posts, 38 from the
  postings.

The counts and postings change in the write's transaction: a new discussion writes its
title's few words (a reply's document, without a title, none).

Revision ID: v20similar
Revises: q22sqlite
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "v20similar"
down_revision: str | None = "q22sqlite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# a title's distinct stems, and the titles' number (the word ''), counted in (`when`: the
# title is not empty) or out; its postings (stem, document) written or taken out
def _count(row: str, when: str) -> str:
    return f"""
        INSERT INTO search_fts_title_words(word, titles)
            SELECT DISTINCT token, 1 FROM search_fts_tokens WHERE input = {row}.title AND {when}
            UNION ALL SELECT '', 1 WHERE {when}
            ON CONFLICT(word) DO UPDATE SET titles = titles + 1;
        INSERT OR IGNORE INTO search_fts_title_postings(word, doc_id)
            SELECT token, {row}.id FROM search_fts_tokens WHERE input = {row}.title AND {when};"""  # noqa: S608


def _uncount(row: str, when: str) -> str:
    stems = f"(SELECT token FROM search_fts_tokens WHERE input = {row}.title UNION ALL SELECT '')"  # noqa: S608, E501
    return f"""
        UPDATE search_fts_title_words SET titles = titles - 1 WHERE {when} AND word IN {stems};
        DELETE FROM search_fts_title_words WHERE titles <= 0 AND {when} AND word IN {stems};
        DELETE FROM search_fts_title_postings WHERE {when} AND doc_id = {row}.id
            AND word IN (SELECT token FROM search_fts_tokens WHERE input = {row}.title);"""  # noqa: S608


SQLITE_UPGRADE = [
    "CREATE VIRTUAL TABLE search_fts_tokens USING fts3tokenize('porter')",
    """CREATE TABLE search_fts_title_words (
        word TEXT NOT NULL PRIMARY KEY, titles INTEGER NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE search_fts_title_postings (
        word TEXT NOT NULL, doc_id INTEGER NOT NULL, PRIMARY KEY (word, doc_id)) WITHOUT ROWID""",
    f"""CREATE TRIGGER search_documents_title_words_ai AFTER INSERT ON search_documents
        WHEN new.title <> '' BEGIN{_count("new", "true")}
    END""",
    f"""CREATE TRIGGER search_documents_title_words_ad AFTER DELETE ON search_documents
        WHEN old.title <> '' BEGIN{_uncount("old", "true")}
    END""",
    f"""CREATE TRIGGER search_documents_title_words_au AFTER UPDATE OF title ON search_documents
        WHEN old.title IS NOT new.title BEGIN{_uncount("old", "old.title <> ''")}
        {_count("new", "new.title <> ''")}
    END""",
    """INSERT INTO search_fts_title_words(word, titles)
        SELECT t.token, count(DISTINCT d.id) FROM search_documents AS d
        JOIN search_fts_tokens AS t ON t.input = d.title
        WHERE d.title <> '' GROUP BY t.token
        UNION ALL SELECT '', count(*) FROM search_documents WHERE title <> ''""",
    """INSERT OR IGNORE INTO search_fts_title_postings(word, doc_id)
        SELECT t.token, d.id FROM search_documents AS d
        JOIN search_fts_tokens AS t ON t.input = d.title WHERE d.title <> ''""",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER search_documents_title_words_au",
    "DROP TRIGGER search_documents_title_words_ad",
    "DROP TRIGGER search_documents_title_words_ai",
    "DROP TABLE search_fts_title_postings",
    "DROP TABLE search_fts_title_words",
    "DROP TABLE search_fts_tokens",
]

POSTGRES_UPGRADE = [
    """CREATE TABLE search_fts_title_words (
        word TEXT NOT NULL PRIMARY KEY, titles INTEGER NOT NULL)""",
    """CREATE TABLE search_fts_title_postings (
        word TEXT NOT NULL, doc_id INTEGER NOT NULL, PRIMARY KEY (word, doc_id))""",
    """CREATE FUNCTION search_documents_title_words() RETURNS trigger AS $$
    DECLARE
        gone text[] := '{}';
        came text[] := '{}';
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.title <> '' THEN
            gone := tsvector_to_array(OLD.title_tsv);
            DELETE FROM search_fts_title_postings WHERE doc_id = OLD.id AND word = ANY(gone);
            gone := '{""}' || gone;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.title <> '' THEN
            came := tsvector_to_array(NEW.title_tsv);
            INSERT INTO search_fts_title_postings (word, doc_id)
                SELECT unnest(came), NEW.id ON CONFLICT DO NOTHING;
            came := '{""}' || came;
        END IF;
        INSERT INTO search_fts_title_words AS w (word, titles)
            SELECT word, sum(change) FROM (
                SELECT unnest(came) AS word, 1 AS change
                UNION ALL SELECT unnest(gone), -1) AS changes
            GROUP BY word HAVING sum(change) <> 0 ORDER BY word
            ON CONFLICT (word) DO UPDATE SET titles = w.titles + excluded.titles;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    # the function runs for titles only: a reply's document (no title) calls nothing
    """CREATE TRIGGER search_documents_title_words_ai AFTER INSERT ON search_documents
        FOR EACH ROW WHEN (NEW.title <> '') EXECUTE FUNCTION search_documents_title_words()""",
    """CREATE TRIGGER search_documents_title_words_ad AFTER DELETE ON search_documents
        FOR EACH ROW WHEN (OLD.title <> '') EXECUTE FUNCTION search_documents_title_words()""",
    """CREATE TRIGGER search_documents_title_words_au AFTER UPDATE OF title ON search_documents
        FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title)
        EXECUTE FUNCTION search_documents_title_words()""",
    """INSERT INTO search_fts_title_words (word, titles)
        SELECT word, ndoc FROM ts_stat(
            'SELECT title_tsv FROM search_documents WHERE title <> ''''')
        UNION ALL SELECT '', count(*) FROM search_documents WHERE title <> ''""",
    """INSERT INTO search_fts_title_postings (word, doc_id)
        SELECT unnest(tsvector_to_array(title_tsv)), id FROM search_documents
        WHERE title <> ''""",
]

POSTGRES_DOWNGRADE = [
    "DROP TRIGGER search_documents_title_words_au ON search_documents",
    "DROP TRIGGER search_documents_title_words_ad ON search_documents",
    "DROP TRIGGER search_documents_title_words_ai ON search_documents",
    "DROP FUNCTION search_documents_title_words()",
    "DROP TABLE search_fts_title_postings",
    "DROP TABLE search_fts_title_words",
]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UPGRADE if pg else SQLITE_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWNGRADE if pg else SQLITE_DOWNGRADE:
        op.execute(statement)
