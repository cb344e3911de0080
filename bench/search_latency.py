"""Search latency in-process: `python -m bench.search_latency [--database-url URL]`.

Seeds the bench's forum (10,000 discussions of 20 replies: 210,000 posts, with the search
index) into its own database (SQLite var/bench/search.db, or `kindred_bench_search` on the
PostgreSQL server named), then runs the search scenario's queries and the similar-discussions
titles through the app's search module on one connection, each `--rounds` times, and prints
p50 / p95 / max per kind of query and the process's CPU time per call (the mean, both
threads: a figure the other helpers' load disturbs less than the wall clock); on a
PostgreSQL server on this machine also its backend's CPU per call (`/proc`, the mean: the
kernel counts it in 10 ms ticks, so only a sum over many calls means anything). No HTTP, no
concurrency: the engine's own cost, to read next to the `search` and `similar` scenarios of
`python -m bench` (which add the server and 32 connections).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import Database, make_engine
from app.search import engine
from app.search.query import parse_query
from bench.database import search_paths, similar_paths
from bench.seed import GROUPS, SeedPlan, seed_database

ROOT = Path(__file__).resolve().parents[1]
PG_DATABASE = "kindred_bench_search"


def _upgrade(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")


async def _recreate_pg(url: str) -> str:
    admin = make_engine(url)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    await admin.dispose()
    return make_url(url).set(database=PG_DATABASE).render_as_string(hide_password=False)


def kind_of(q: str) -> str:
    if q.startswith('"'):
        return "phrase"
    if any(op in q for op in ("#", ":", "@")):
        return "operators"
    if q in ("appointment", "fatigue", "results", "diagnosed", "specialist", "hug"):
        return "common word"
    return "rare word"


def backend_cpu(pid: int | None) -> float:
    """Seconds of CPU a PostgreSQL backend has used (user and system), or 0 when its
    process cannot be read here (another machine)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(url: str, rounds: int, *, per_query: bool = False) -> None:
    db = Database(url)
    queries = [parse_qs(urlsplit(p).query)["q"][0] for p in search_paths([g[0] for g in GROUPS])]
    titles = [parse_qs(urlsplit(p).query)["title"][0] for p in similar_paths(random.Random(7))][:60]
    timings: dict[str, list[float]] = {}
    # process CPU per call (both threads: the loop's and the driver's), the least of the
    # rounds for each query: what others' load adds to it is taken out as far as it can be
    cpu: dict[tuple[str, str], float] = {}
    backend: dict[str, float] = {}  # PostgreSQL: its backend's CPU, summed per kind
    backend_of: dict[str, float] = {}  # and per query (summed over the rounds)
    async with db.sessionmaker() as session:
        pid = None
        if url.startswith("postgresql"):
            # the bench's one session keeps its connection (and backend) throughout
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        for q in queries + titles[:3]:  # warm the caches
            await engine.search(session, parsed=parse_query(q), viewer=None)
        for _ in range(rounds):
            for q in queries:
                start, cpu_start = time.perf_counter(), time.process_time()
                backend_start = backend_cpu(pid)
                await engine.search(session, parsed=parse_query(q), viewer=None)
                timings.setdefault(kind_of(q), []).append(time.perf_counter() - start)
                used = time.process_time() - cpu_start
                cpu[kind_of(q), q] = min(cpu.get((kind_of(q), q), used), used)
                spent = backend_cpu(pid) - backend_start
                backend[kind_of(q)] = backend.get(kind_of(q), 0.0) + spent
                backend_of[q] = backend_of.get(q, 0.0) + spent
            for t in titles:
                start, cpu_start = time.perf_counter(), time.process_time()
                backend_start = backend_cpu(pid)
                await engine.similar_discussions(session, title=t, viewer=None)
                timings.setdefault("similar", []).append(time.perf_counter() - start)
                used = time.process_time() - cpu_start
                cpu["similar", t] = min(cpu.get(("similar", t), used), used)
                spent = backend_cpu(pid) - backend_start
                backend["similar"] = backend.get("similar", 0.0) + spent
    await db.dispose()
    every = [x for k, xs in timings.items() if k != "similar" for x in xs]
    backend["all searches"] = sum(v for k, v in backend.items() if k != "similar")
    header = f"{'query kind':<14} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU ms':>8}"
    print(header + (f" {'PG CPU ms':>10}" if pid is not None else ""))
    for name, xs in [*sorted(timings.items()), ("all searches", every)]:
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
        used = [
            v
            for (k, _q), v in cpu.items()
            if k == name or (name == "all searches" and k != "similar")
        ]
        line = (
            f"{name:<14} {len(xs):>5} {1000 * statistics.median(xs):>8.1f} "
            f"{1000 * p95:>8.1f} {1000 * xs[-1]:>8.1f} {1000 * statistics.fmean(used):>8.2f}"
        )
        if pid is not None:
            line += f" {1000 * backend.get(name, 0.0) / len(xs):>10.2f}"
        print(line)
    if per_query:
        # the backend's CPU per query: a mean over the rounds, in the kernel's 10 ms ticks
        header = f"\n{'query':<44} {'kind':<12} {'CPU ms':>8}"
        print(header + (f" {'PG CPU ms':>10}" if pid is not None else ""))
        for (name, q), v in sorted(cpu.items(), key=lambda kv: -backend_of.get(kv[0][1], kv[1])):
            if name != "similar":
                line = f"{q[:44]:<44} {name:<12} {1000 * v:>8.2f}"
                if pid is not None:
                    line += f" {1000 * backend_of.get(q, 0.0) / rounds:>10.2f}"
                print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--discussions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's data")
    parser.add_argument(
        "--pg-database",
        default=PG_DATABASE,
        help="with --reuse: an already seeded PostgreSQL database (such as kindred_bench)",
    )
    parser.add_argument("--per-query", action="store_true", help="CPU ms of every query")
    parser.add_argument(
        "--sqlite",
        default=str(ROOT / "var" / "bench" / "search.db"),
        help="the SQLite database file (with --reuse: such as var/bench/bench.db)",
    )
    args = parser.parse_args()
    if args.database_url:
        if not args.reuse and args.pg_database != PG_DATABASE:
            parser.error("--pg-database names a database to read: only with --reuse")
        url = make_url(args.database_url).set(database=args.pg_database).render_as_string(False)
        if not args.reuse:
            url = asyncio.run(_recreate_pg(args.database_url))
    else:
        path = Path(args.sqlite)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
        if not args.reuse:
            path.unlink(missing_ok=True)
    if not args.reuse:
        _upgrade(url)
        started = time.perf_counter()
        asyncio.run(seed_database(url, SeedPlan(discussions=args.discussions)))
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    asyncio.run(measure(url, args.rounds, per_query=args.per_query))


if __name__ == "__main__":
    main()
