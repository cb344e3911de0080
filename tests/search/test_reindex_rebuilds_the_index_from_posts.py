"""`kindred search reindex` rebuilds the index from the posts (for data written around the
app, such as the bench's bulk seed), with the same documents the writes had made."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import Database
from app.search import engine
from app.search.models import SearchDocument
from app.search.query import parse_query
from tests.demo.test_cli_commands import cli_env  # noqa: F401 (fixture)


def documents(url: str, *, wipe: bool = False) -> list[tuple[str, int, str, str, int | None]]:
    async def read() -> list[tuple[str, int, str, str, int | None]]:
        db = Database(url)
        async with db.sessionmaker() as s:
            rows = (
                await s.execute(
                    select(
                        SearchDocument.source,
                        SearchDocument.source_id,
                        SearchDocument.title,
                        SearchDocument.body,
                        SearchDocument.group_id,
                    ).order_by(SearchDocument.source, SearchDocument.source_id)
                )
            ).all()
            if wipe:
                await s.execute(delete(SearchDocument))
                await s.commit()
        await db.dispose()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    return asyncio.run(read())


def hits(url: str, q: str) -> int:
    async def run() -> int:
        db = Database(url)
        async with db.sessionmaker() as s:
            found = await engine.search(s, parsed=parse_query(q), viewer=None)
        await db.dispose()
        return found.total

    return asyncio.run(run())


def test_reindex_writes_back_what_the_writes_had_indexed(cli_env):  # noqa: F811
    runner = CliRunner()
    assert runner.invoke(cli, ["demo"]).exit_code == 0
    written = documents(cli_env, wipe=True)
    assert len(written) > 10 and hits(cli_env, "EBV") == 0
    r = runner.invoke(cli, ["search", "reindex"])
    assert r.exit_code == 0, r.output
    assert f"Indexed {len(written):,} documents (posts and library pages)." in r.output
    assert ("library", 1) in {(source, source_id) for source, source_id, *_ in written}
    assert documents(cli_env) == written
    assert hits(cli_env, "EBV") > 0
