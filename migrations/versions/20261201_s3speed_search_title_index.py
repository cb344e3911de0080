"""search: each post document keeps the facts the access rule reads (kept by triggers),
and a title-only full-text index on SQLite (search_fts_titles)

A search read three rows per candidate (its document, post and discussion) to ask the
access layer's rule; the rule now reads the same facts from the document's own row:
statuses, deletion, authors and whether the group is public. The database keeps them, in
the writer's transaction, with triggers on `posts`, `discussions`, `groups` (and on
`search_documents` itself for new rows), so no write path can forget them.

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

import sqlalchemy as sa
from alembic import op

revision: str = "s3speed"
down_revision: str | None = "s2library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    sa.Column("post_status", sa.String(length=16), nullable=True),
    sa.Column("discussion_status", sa.String(length=16), nullable=True),
    sa.Column("deleted", sa.Boolean(), nullable=True),
    sa.Column("public_group", sa.Boolean(), nullable=True),
    sa.Column("author_id", sa.Integer(), nullable=True),
    sa.Column("discussion_author_id", sa.Integer(), nullable=True),
    sa.Column("is_opening", sa.Boolean(), nullable=True),
]
FACTS = "post_status, discussion_status, deleted, public_group, author_id,"
FACTS += " discussion_author_id, is_opening, group_id"
# the facts of the post `{post_id}` names, as the access rule reads them
FACTS_OF = """SELECT posts.status, discussions.status,
        posts.deleted_at IS NOT NULL OR discussions.deleted_at IS NOT NULL,
        groups.visibility = 'public', posts.author_id, discussions.author_id,
        posts.is_opening, discussions.group_id
    FROM posts JOIN discussions ON discussions.id = posts.discussion_id
    JOIN groups ON groups.id = discussions.group_id WHERE posts.id = {post_id}"""
REFRESH = "UPDATE search_documents SET ({}) = ({})".format(
    FACTS, FACTS_OF.format(post_id="search_documents.source_id")
)
# what changes a post's facts: the trigger's table, its columns, which documents follow
FOLLOWS = [
    (
        "posts",
        "status, deleted_at, author_id, discussion_id, is_opening",
        "source = 'post' AND source_id = new.id",
    ),
    ("discussions", "status, deleted_at, author_id, group_id", "discussion_id = new.id"),
    ("groups", "visibility", "group_id = new.id"),
]

SQLITE_FACTS = [
    f"""CREATE TRIGGER search_documents_facts_ai AFTER INSERT ON search_documents
        WHEN new.source = 'post' BEGIN
        {REFRESH} WHERE id = new.id;
    END""",
    *(
        f"""CREATE TRIGGER {table}_search_facts_au AFTER UPDATE OF {columns} ON {table}
        BEGIN {REFRESH} WHERE {which}; END"""
        for table, columns, which in FOLLOWS
    ),
]
SQLITE_FACTS_DROP = [
    "DROP TRIGGER search_documents_facts_ai",
    *(f"DROP TRIGGER {table}_search_facts_au" for table, _c, _w in FOLLOWS),
]

POSTGRES_FACTS = [
    f"""CREATE FUNCTION search_documents_facts() RETURNS trigger AS $$ BEGIN
        IF NEW.source = 'post' THEN
            {
        FACTS_OF.format(post_id="NEW.source_id").replace(
            " FROM posts",
            " INTO " + ", ".join("NEW." + c.strip() for c in FACTS.split(",")) + " FROM posts",
            1,
        )
    };
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER search_documents_facts BEFORE INSERT ON search_documents
        FOR EACH ROW EXECUTE FUNCTION search_documents_facts()""",
    *(
        statement
        for table, columns, which in FOLLOWS
        for statement in (
            f"""CREATE FUNCTION {table}_search_facts() RETURNS trigger AS $$ BEGIN
                {REFRESH} WHERE {which.replace("new.", "NEW.")};
                RETURN NULL;
            END $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {table}_search_facts AFTER UPDATE OF {columns} ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_search_facts()""",
        )
    ),
]
POSTGRES_FACTS_DROP = [
    "DROP TRIGGER search_documents_facts ON search_documents",
    "DROP FUNCTION search_documents_facts()",
    *(
        statement
        for table, _c, _w in FOLLOWS
        for statement in (
            f"DROP TRIGGER {table}_search_facts ON {table}",
            f"DROP FUNCTION {table}_search_facts()",
        )
    ),
]

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
    # plain ADD COLUMNs (no table rebuild): the FTS5 triggers on SQLite stay as they are
    for column in COLUMNS:
        op.add_column("search_documents", column)
    postgres = op.get_bind().dialect.name == "postgresql"
    # PostgreSQL has its title index already (the partial GIN index on title_tsv); on
    # SQLite the new update trigger of search_fts comes first: the facts are no text
    if not postgres:
        for statement in UPGRADE:
            op.execute(statement)
    op.execute(f"{REFRESH} WHERE source = 'post'")
    for statement in POSTGRES_FACTS if postgres else SQLITE_FACTS:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        for statement in DOWNGRADE:
            op.execute(statement)
    for statement in POSTGRES_FACTS_DROP if postgres else SQLITE_FACTS_DROP:
        op.execute(statement)
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild that would lose the
    # FTS5 triggers
    for column in reversed(COLUMNS):
        op.drop_column("search_documents", column.name)
