"""Where a SQLite search's time goes, statement by statement:
`python -m bench.search_statements [--sqlite var/bench/bench.db] [--plans] [query ...]`.

Runs each query (by default the search scenario's mix, `bench.database.search_paths`)
through the app's search module once, records every statement it sent SQLite (the SQL
and its values, as the process's reader ran them), then runs each of those statements
again on its own, `--repeat` times, and prints the least CPU it took (the process's CPU:
SQLite runs on this thread), the rows it returned, and the search's whole CPU beside the
sum of its statements' (the rest is Python). `--plans` adds each statement's
`EXPLAIN QUERY PLAN`. The least of many runs, because others' load on this machine only
ever adds to a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.core import rows as core_rows
from app.db import Database
from app.search import engine
from app.search.query import parse_query
from bench.database import search_paths
from bench.seed import GROUPS

ROOT = Path(__file__).resolve().parents[1]


def _least(run: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def _label(sql: str) -> str:
    """A few words saying which statement this is."""
    for name in ("search_fts_recent", "search_fts_titles", "search_fts_library", "search_fts"):
        if f"bm25({name}" in sql:
            return f"window in {name}"
        if f"snippet({name}" in sql:
            return f"page, snippets in {name}"
    if "count(" in sql:
        return "count"
    if "posts.id AS post_id" in sql:
        return "page"
    return "list"


async def measure(path: Path, queries: list[str], repeat: int, *, plans: bool) -> None:
    seen: list[tuple[str, list[Any]]] = []
    fetch = core_rows.SQLiteReader.fetch

    async def recording(self: Any, compiled: Any, args: list[Any]) -> list[Any]:
        seen.append((compiled.sql, list(args)))
        return await fetch(self, compiled, args)

    core_rows.SQLiteReader.fetch = recording  # type: ignore[method-assign]
    db = Database(f"sqlite+aiosqlite:///{path}")
    assert db.reader is not None
    try:
        async with db.sessionmaker() as session:
            conn: sqlite3.Connection = db.reader.connection()  # type: ignore[attr-defined]
            for q in queries:  # warm the caches
                await engine.search(session, parsed=parse_query(q), viewer=None)
            for q in queries:
                whole = float("inf")
                for _ in range(repeat):
                    seen.clear()
                    start = time.process_time()
                    await engine.search(session, parsed=parse_query(q), viewer=None)
                    whole = min(whole, time.process_time() - start)
                statements = list(seen)
                timed = []
                for sql, args in statements:
                    spent, rows = _least(
                        lambda s=sql, a=args: conn.execute(s, a).fetchall(), repeat
                    )
                    timed.append((sql, args, spent, len(rows)))
                in_sqlite = sum(t[2] for t in timed)
                print(
                    f"{q:<42} search {1000 * whole:6.2f} ms, statements {1000 * in_sqlite:6.2f},"
                    f" rest {1000 * (whole - in_sqlite):5.2f}"
                )
                for sql, args, spent, count in timed:
                    print(f"    {1000 * spent:6.2f} ms {count:>5} rows  {_label(sql)}")
                    if plans:
                        for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args):
                            print(f"{'':>30}{row[3]}")
    finally:
        core_rows.SQLiteReader.fetch = fetch  # type: ignore[method-assign]
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="*")
    parser.add_argument("--sqlite", default=str(ROOT / "var" / "bench" / "bench.db"))
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--plans", action="store_true", help="EXPLAIN QUERY PLAN of each")
    args = parser.parse_args()
    queries = args.queries or [
        parse_qs(urlsplit(p).query)["q"][0] for p in search_paths([g[0] for g in GROUPS])
    ]
    asyncio.run(measure(Path(args.sqlite), queries, args.repeat, plans=args.plans))


if __name__ == "__main__":
    main()
