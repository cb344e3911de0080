"""A group page's statements send the database only what changes between requests (the
viewer, the group, the cursor): the published status, the public visibility and the LIMIT
are written into their text (`core.rows.inline`). As parameters, PostgreSQL planned the
listing again on every request (bind 0.17-0.25 ms of its CPU in its log): a generic plan of
`ORDER BY ... LIMIT $n` is costed as if a tenth of the group's discussions were wanted."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from app.core.rows import compile_for
from app.groups.service import GROUP_VIEW, PINNED, listing
from tests.plans import assert_sends_only

SENT = {
    "group": (GROUP_VIEW, {"viewer", "slug"}),
    "pinned": (PINNED, {"signed_in", "group_id"}),
    "listing": (listing(in_group=True, after_cursor=False, limit=26), {"signed_in", "group_id"}),
    "next page": (
        listing(in_group=True, after_cursor=True, limit=26),
        {"signed_in", "group_id", "stamp", "after_id"},
    ),
    "everywhere": (listing(in_group=False, after_cursor=False, limit=11), {"signed_in"}),
}


@pytest.mark.parametrize("name", SENT)
def test_the_page_statements_send_only_what_changes(name: str) -> None:
    query, sent = SENT[name]
    assert_sends_only(query.statement, sent)


def test_the_listing_is_built_once_per_limit() -> None:
    first = listing(in_group=True, after_cursor=False, limit=26)
    assert listing(in_group=True, after_cursor=False, limit=26) is first
    other = listing(in_group=True, after_cursor=False, limit=6)
    assert other is not first
    sql = compile_for(other.statement, postgresql.asyncpg.dialect()).sql
    assert "LIMIT 6" in sql and "'visible'" in sql and "'public'" in sql
