"""search: the document index (FTS5 on SQLite, weighted tsvector + GIN on PostgreSQL) and
the private daily search log

The index is filled here from the posts already written (their rendered text, not their
Markdown); `kindred search reindex` rebuilds it at any time.

Revision ID: s1search
Revises: e1edges (re-chained after rebasing on main; first written on p2shownfill)
Create Date: 2026-12-01 00:30:00
"""

import re
from collections.abc import Sequence
from html.parser import HTMLParser

import sqlalchemy as sa
from alembic import op

revision: str = "s1search"
down_revision: str | None = "e1edges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        title, body, content='search_documents', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
    END""",
    """CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
]

POSTGRES_TSV = [
    """ALTER TABLE search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, body), 'B')) STORED""",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
    # titles alone (in:title, similar discussions): a small index of the opening posts
    """ALTER TABLE search_documents ADD COLUMN title_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('english'::regconfig, title)) STORED""",
    "CREATE INDEX ix_search_documents_title_tsv ON search_documents USING gin (title_tsv)"
    " WHERE title <> ''",
]


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("source", "source_id", name="uq_search_documents_source"),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_search_documents_discussion", ["discussion_id"], unique=False)
    op.create_table(
        "search_term_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("terms", sa.String(length=200), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "terms", name=op.f("pk_search_term_days")),
    )
    bind = op.get_bind()
    for statement in POSTGRES_TSV if bind.dialect.name == "postgresql" else SQLITE_FTS:
        op.execute(statement)
    fill(bind)


# the text of sanitized HTML as app/search/text.py makes it (revisions carry no app code)
_UNINDEXED = re.compile("[\ue000\ue001\x00-\x08\x0b\x0c\x0e-\x1f]")
_BLOCKS = frozenset("p br div li ul ol blockquote pre h1 h2 h3 h4 h5 h6 tr td th table hr".split())


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", _UNINDEXED.sub(" ", text)).strip()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return clean("".join(parser.parts))


def fill(bind: sa.engine.Connection) -> None:
    documents = sa.table(
        "search_documents",
        sa.column("source"),
        sa.column("source_id"),
        sa.column("discussion_id"),
        sa.column("title"),
        sa.column("body"),
        sa.column("created_at"),
    )
    rows = bind.execute(
        sa.text(
            "SELECT posts.id, posts.discussion_id, posts.is_opening, posts.body_html,"
            " posts.created_at, discussions.title FROM posts"
            " JOIN discussions ON discussions.id = posts.discussion_id ORDER BY posts.id"
        )
    ).all()
    batch = [
        {
            "source": "post",
            "source_id": row[0],
            "discussion_id": row[1],
            "title": clean(row[5]) if row[2] else "",
            "body": html_to_text(row[3]),
            "created_at": row[4],
        }
        for row in rows
    ]
    for start in range(0, len(batch), 1000):
        bind.execute(documents.insert(), batch[start : start + 1000])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in ("search_documents_au", "search_documents_ad", "search_documents_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_term_days")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_discussion")
        batch_op.drop_index("ix_search_documents_created")
    op.drop_table("search_documents")
