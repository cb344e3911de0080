"""The bench's bulk seeder (COPY on PostgreSQL, executemany on SQLite) writes a forum whose
counters, threads and search index agree with its rows, and leaves the id sequences past
the data so the app's own inserts still work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, Table, func, inspect, select

from app.db import make_engine
from bench import seed
from bench.seed import SeedPlan, seed_database
from tests.conftest import drop_database, fresh_database_url

PLAN = SeedPlan(discussions=5, replies=6, users=12, seed=7)


async def index_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def names(sync_conn: Any) -> set[str]:
                found = inspect(sync_conn)
                return {
                    f"{t}.{index['name']}"
                    for t in seed.BULK_TABLES
                    for index in found.get_indexes(t)
                }

            return await conn.run_sync(names)
    finally:
        await engine.dispose()


@pytest.fixture
def seeded_url(tmp_path: Path) -> Iterator[str]:
    url = fresh_database_url(tmp_path, "bench_seed")
    yield url
    drop_database(url)


# SQLite cannot reflect an index over an expression (ix_search_documents_exact_title,
# migration q22sqlite): skipped with a warning, before and after the seeding alike
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_seeded_rows_agree_with_their_counters(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every bulk write of this tiny forum takes the COPY path on PostgreSQL
    monkeypatch.setattr(seed, "COPY_MIN_ROWS", 1)
    copied: list[str] = []
    real_copy_records = seed.copy_records

    def counting(t: Table, rows: list[dict[str, Any]], dialect: Dialect) -> seed.CopyRecords:
        copied.append(t.name)
        return real_copy_records(t, rows, dialect)

    monkeypatch.setattr(seed, "copy_records", counting)
    indexes_before = await index_names(seeded_url)
    steps: list[int] = []
    await seed_database(seeded_url, PLAN, lambda n, _what: steps.append(n))
    # PostgreSQL's plain indexes are dropped for the load and built again after it
    assert await index_names(seeded_url) == indexes_before
    assert any("search_documents" in name for name in indexes_before)
    assert sum(steps) == PLAN.discussions
    on_postgresql = seeded_url.startswith("postgresql")
    assert set(copied) == (
        {"groups", "users", "discussions", "posts", "reactions", "search_documents"}
        if on_postgresql
        else set()
    )
    posts, discussions, users, groups = (
        seed.table(n) for n in ("posts", "discussions", "users", "groups")
    )
    documents = seed.table("search_documents")
    engine = make_engine(seeded_url)
    try:
        async with engine.begin() as conn:
            assert await conn.scalar(select(func.count()).select_from(posts)) == PLAN.total_posts
            assert (
                await conn.scalar(select(func.count()).select_from(documents)) == PLAN.total_posts
            )
            # each discussion's counters match its replies
            for row in (await conn.execute(select(discussions))).mappings():
                replies = (
                    await conn.execute(
                        select(posts.c.reply_to_id, posts.c.depth, posts.c.status).where(
                            posts.c.discussion_id == row["id"], posts.c.is_opening.is_(False)
                        )
                    )
                ).all()
                assert row["reply_count"] == len(replies) == PLAN.replies
                assert row["top_level_count"] == sum(1 for r in replies if r.reply_to_id is None)
                assert row["status"] == "visible"  # a Python-side default COPY had to fill in
                assert all(r.status == "visible" for r in replies)
                assert all((r.depth == 0) == (r.reply_to_id is None) for r in replies)
            authored = await conn.scalar(select(func.sum(users.c.post_count)))
            assert authored == PLAN.total_posts
            assert (
                await conn.scalar(select(func.sum(groups.c.discussion_count))) == PLAN.discussions
            )
            # the search index's rows carry their discussion's group
            orphans = await conn.scalar(
                select(func.count())
                .select_from(
                    documents.join(discussions, documents.c.discussion_id == discussions.c.id)
                )
                .where(documents.c.group_id != discussions.c.group_id)
            )
            assert orphans == 0
            # the id sequences moved past the seeded rows: an insert without an id works
            new_id = (
                await conn.execute(
                    posts.insert()
                    .values(discussion_id=1, author_id=2, body_md="x", body_html="<p>x</p>")
                    .returning(posts.c.id)
                )
            ).scalar_one()
            assert new_id == PLAN.total_posts + 1
    finally:
        await engine.dispose()
