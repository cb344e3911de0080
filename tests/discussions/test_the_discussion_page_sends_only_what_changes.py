"""A discussion page's statements send the database only what changes between requests
(the viewer, the discussion, the page): the constants they hold (statuses, the lock's audit
action, the caps of the new-member check, the reaction bits) are written into their text
(`core.rows.inline`). With constants as parameters PostgreSQL may plan a statement again on
every request (the sign-in look-up and the group listing did: 0.2-0.3 ms of its CPU each)."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from app.core.rows import compile_for
from app.discussions.reading import ALL_POSTS, DISCUSSION_HEAD, PAGE_POSTS
from tests.plans import assert_sends_only

SENT = {
    "head": (DISCUSSION_HEAD, {"viewer", "discussion_id"}),
    "posts": (PAGE_POSTS, {"viewer", "discussion_id", "limit", "offset", "sees_all"}),
    "all posts": (ALL_POSTS, {"viewer", "discussion_id", "sees_all"}),
}


@pytest.mark.parametrize("name", SENT)
def test_the_page_statements_send_only_what_changes(name: str) -> None:
    query, sent = SENT[name]
    assert_sends_only(query.statement, sent)


def test_the_constants_are_in_the_text() -> None:
    head = compile_for(DISCUSSION_HEAD.statement, postgresql.asyncpg.dialect()).sql
    assert "'lock'" in head and "'visible'" in head and "LIMIT 100" in head
    posts = compile_for(PAGE_POSTS.statement, postgresql.asyncpg.dialect()).sql
    assert "'pending'" in posts and "'helpful'" in posts
