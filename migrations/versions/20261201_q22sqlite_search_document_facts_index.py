"""search, SQLite: the documents' and replies' facts in covering indexes, read without bodies

A search window walks the full-text index newest first and reads, for each match, its
document's facts (visibility, group, author, answer status's discussion, date, title)
from `search_documents`, where they are stored after the body: most rows' record spills
past its page, and each look-up follows the body's overflow pages to the facts (1.8 us a
row: 4,000 title matches walked for `#caregivers fatigue` at 1,050,000 posts cost 7 ms).
This index holds every column but the body and source_id, keyed by id: the search reads
it instead of the table (`INDEXED BY`, app/search/engine.py `FACTS_INDEX`: SQLite's
planner looks a rowid up in the table whatever else would serve), 0.2-0.4 us a row. The
title is in it for the exact-title test of every window row (titles are short, and a
reply's is empty). The same again over the documents with a title alone (opening posts,
library pages: a twentieth of them), for the windows that walk the titles' full-text
index: a word's matches in titles lie far apart, each on an index page of its own in the
index of every document (4,000 titles walked for `#caregivers fatigue` at 1,050,000
posts: 7.2 ms from the table, 5.0 ms from the first index, 2.4 ms from this one). About
50 bytes a document, one or two more b-tree entries a write; the triggers that keep the
facts need no change (an index follows its table).

`status:answered` / `status:unanswered` test each match's discussion for a reply from
someone other than its author that everybody can read (app/search/engine.py `answered`):
the discussion's replies were found by `ix_posts_discussion_top_level`, and each one's
author, status and deletion read from `posts`, after its two bodies (`status:unanswered
lymphoma` at 1,050,000 posts: 21 ms, 3,273 matches tested). `ix_posts_answers` holds
those facts of every post by discussion: 9 ms. One more b-tree entry a post written.

A search's title window now looks, as on PostgreSQL, among the newest TITLE_DOCUMENTS
documents, and for the titles that are the query as typed at any age: those are found by
`ix_search_documents_exact_title` (lower(title), as s19pg's on PostgreSQL), over the
titled documents alone.

PostgreSQL: nothing (its rows keep the body in TOAST, out of the row).

Revision ID: q22sqlite
Revises: x24keys
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "q22sqlite"
down_revision: str | None = "x24keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_search_documents_facts"  # app/search/engine.py FACTS_INDEX
TITLE_INDEX = "ix_search_documents_title_facts"  # TITLE_FACTS_INDEX
ANSWERS_INDEX = "ix_posts_answers"
EXACT_TITLE_INDEX = "ix_search_documents_exact_title"  # as s19pg's on PostgreSQL
COLUMNS = (
    "id, source, is_opening, group_id, post_status, discussion_status, deleted, public_group,"
    " author_id, discussion_author_id, discussion_id, created_at, title"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(f"CREATE INDEX {INDEX} ON search_documents ({COLUMNS})")
    op.execute(f"CREATE INDEX {TITLE_INDEX} ON search_documents ({COLUMNS}) WHERE title <> ''")
    op.execute(
        f"CREATE INDEX {ANSWERS_INDEX} ON posts"
        " (discussion_id, is_opening, author_id, status, deleted_at)"
    )
    op.execute(
        f"CREATE INDEX {EXACT_TITLE_INDEX} ON search_documents (lower(title)) WHERE title <> ''"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(f"DROP INDEX {EXACT_TITLE_INDEX}")
    op.execute(f"DROP INDEX {ANSWERS_INDEX}")
    op.execute(f"DROP INDEX {TITLE_INDEX}")
    op.execute(f"DROP INDEX {INDEX}")
