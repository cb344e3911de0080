"""A new member's pages count their own published posts through an index.

Every page a member reads asks whether their next post will wait for a moderator
(`reading.held_for_approval`): below the hold threshold that counts their published posts.
Read through the status index instead, it walked every published post of the forum (bench:
210 ms a discussion page for a member with no posts at 210,000 posts). The bench times it;
this holds the structure: SQLite's plan of the discussion head reaches posts by author.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.discussions.reading import DISCUSSION_HEAD


async def test_the_discussion_head_reads_a_members_posts_by_author(
    engine: Any, session: Any
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan shown on an empty table is SQLite's")
    connection = await session.connection()
    compiled = DISCUSSION_HEAD.statement.compile(dialect=connection.dialect)
    values = dict(compiled.params, discussion_id=1, viewer=1)
    parameters = tuple(values[name] for name in compiled.positiontup or ())
    plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters)
    posts = [row[-1] for row in plan if " posts " in f"{row[-1]} "]
    assert posts, "the head no longer reads posts: drop this test with the count"
    assert all("author_id=?" in step for step in posts), posts
