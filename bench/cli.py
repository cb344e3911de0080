"""`python -m bench`: seed, serve, sign in, load-test with wrk, report."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from app.accounts.deps import SESSION_COOKIE
from app.config import Settings
from app.core.security import Signer
from bench.cpu import CpuUse, Snapshot, database_pids
from bench.database import (
    ROOT,
    SCALES,
    Paths,
    Target,
    choose_paths,
    database_exists,
    migrate,
    recreate_database,
    resolve_target,
    scale_suffix,
    seeded_marker,
    sign_in,
)
from bench.report import Report, ScenarioResult
from bench.seed import SeedPlan, seed_database
from bench.server import MemorySampler, Server, http_get, http_get_raw, http_post_json
from bench.wrk import (
    ACCEPT_ENCODING,
    Identity,
    ensure_wrk,
    get_script,
    post_reply_script,
    run_wrk,
    wrk_version,
)

VAR_DIR = ROOT / "var" / "bench"
SCENARIOS = (
    "bare",
    "healthz",
    "visitor-discussion",
    "visitor-group",
    "visitor-home",
    "discussion",
    "group",
    "search",
    "search-engine",
    "similar",
    "reply",
)
# The app allows a member a few posts a minute. The load test spreads its replies over many
# signed-in members and lifts the limit well above what they reach, so it measures the write
# path (limiter included) rather than a stream of 429s.
POST_LIMIT = "1000/minute"

# piped into a log (make bench | tee), rich would wrap the tables at 80 columns
console = Console() if sys.stdout.isatty() else Console(width=130)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Seed a large forum, serve it with uvicorn and load-test it with wrk.",
    )
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: SQLite)")
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="small",
        help="small: 10,000 discussions, 500 members; large: 50,000 discussions "
        "(1,000,000 replies), 20,000 members; each in its own database",
    )
    parser.add_argument("--discussions", type=int, metavar="N", help="(default: the scale's)")
    parser.add_argument("--replies", type=int, metavar="N", help="per discussion (20)")
    parser.add_argument("--users", type=int, metavar="N", help="(default: the scale's)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the data")
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    parser.add_argument("--duration", type=float, default=15, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each scenario")
    parser.add_argument(
        "--warm-until",
        type=float,
        default=0.95,
        help="for pages the cache answers: warm up again while a warm-up round's X-Cache "
        "hit rate is under this",
    )
    parser.add_argument(
        "--warmup-max",
        type=float,
        default=120,
        help="the longest warm-up of one scenario, seconds (rounds of --warmup)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--members", type=int, default=100, help="signed-in members the requests come from"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run just this scenario (repeatable); the default runs them all",
    )
    parser.add_argument(
        "--max-errors",
        type=int,
        default=5,
        help="fail when a scenario has more non-2xx or failed requests than this",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed (or --reuse) the data and stop"
    )
    parser.add_argument(
        "--compare",
        metavar="JSON",
        help="results of another run to show side by side (default: the other scale's "
        "last full run, when there is one)",
    )
    args = parser.parse_args(argv)
    preset = SCALES[args.scale]
    args.discussions = preset.discussions if args.discussions is None else args.discussions
    args.replies = preset.replies if args.replies is None else args.replies
    args.users = preset.users if args.users is None else args.users
    for name in (
        "discussions",
        "replies",
        "users",
        "connections",
        "threads",
        "workers",
        "members",
    ):
        if getattr(args, name) < (0 if name == "replies" else 1):
            parser.error(f"--{name} is too small")
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    return args


# -- data --------------------------------------------------------------------------------


def prepare_data(target: Target, plan: SeedPlan, reuse: bool) -> float | None:
    """A migrated database holding the plan's data; returns the seconds spent seeding, None
    when a previous run's data was kept."""
    if reuse and database_exists(target):
        migrate(target.url)
        if asyncio.run(seeded_marker(target.url)) == plan.marker:
            console.print(f"Re-using the data in {target.shown}")
            return None
        console.print("[yellow]--reuse: the database holds other data; seeding anew[/yellow]")
    console.print(f"Creating {target.shown} and applying migrations …")
    recreate_database(target)
    migrate(target.url)
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]Seeding[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("discussions"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("", total=plan.discussions)

        def advance(n: int, what: str) -> None:
            progress.update(task, advance=n, description=what)

        asyncio.run(seed_database(target.url, plan, advance))
    seconds = time.monotonic() - started
    console.print(
        f"Seeded {plan.discussions:,} discussions, {plan.total_posts:,} posts in {seconds:.0f} s"
    )
    return seconds


def seeding_record_path(target: Target, scale: str) -> Path:
    return VAR_DIR / f"seeded-{target.kind}{scale_suffix(scale)}.json"


def record_seeding(target: Target, plan: SeedPlan, scale: str, seconds: float | None) -> None:
    """Keeps how long the seeding took beside the data, so a --reuse run still reports it."""
    if seconds is None:
        return
    seeding_record_path(target, scale).write_text(
        json.dumps(
            {
                "marker": plan.marker,
                "seconds": round(seconds, 1),
                "posts": plan.total_posts,
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        + "\n"
    )


def recorded_seeding(target: Target, plan: SeedPlan, scale: str) -> float | None:
    try:
        found = json.loads(seeding_record_path(target, scale).read_text())
    except (OSError, ValueError):
        return None
    return float(found["seconds"]) if found.get("marker") == plan.marker else None


# -- load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: str
    pattern: str  # the address pattern shown in the table
    example: str
    script: str
    distinct_paths: int
    server: str = "kindred"  # or "bare": the ceiling, served by bench/bare.py


def scenarios(paths: Paths, members: list[Identity]) -> list[Scenario]:
    discussion_ids = len(paths.discussions)
    return [
        Scenario(
            "bare",
            "bare Starlette, same bytes (ceiling)",
            "GET",
            "/discussions/{id}/{slug}",
            paths.discussions[0],
            get_script(paths.discussions, []),
            discussion_ids,
            server="bare",
        ),
        Scenario(
            "healthz",
            "health check, through the middleware",
            "GET",
            "/healthz",
            "/healthz",
            get_script(["/healthz"], []),
            1,
        ),
        Scenario(
            "visitor-discussion",
            "discussion page, visitor",
            "GET",
            "/discussions/{id}/{slug}",
            paths.discussions[0],
            get_script(paths.discussions, []),
            discussion_ids,
        ),
        Scenario(
            "visitor-group",
            "group page, visitor",
            "GET",
            "/groups/{slug}",
            paths.groups[0],
            get_script(paths.groups, []),
            len(paths.groups),
        ),
        Scenario("visitor-home", "home page, visitor", "GET", "/", "/", get_script(["/"], []), 1),
        Scenario(
            "discussion",
            "discussion page, signed in",
            "GET",
            "/discussions/{id}/{slug}",
            paths.discussions[0],
            get_script(paths.discussions, members),
            discussion_ids,
        ),
        Scenario(
            "group",
            "group page, signed in",
            "GET",
            "/groups/{slug}",
            paths.groups[0],
            get_script(paths.groups, members),
            len(paths.groups),
        ),
        Scenario(
            "search",
            "search (JSON API), visitors (the page cache answers a search asked before)",
            "GET",
            "/api/v1/search?q=...",
            paths.searches[0],
            # as visitors: a signed-in member's search also counts its words in the log
            get_script(paths.searches, []),
            len(paths.searches),
        ),
        Scenario(
            "search-engine",
            "search (JSON API), visitors, past the cache",
            "GET",
            "/api/v1/search?q=...&past=cache",
            paths.searches[0] + "&past=cache",
            # a parameter no search reads sends the request past the page cache to the
            # engine: what each search costs when nobody asked it since the last write
            get_script([p + "&past=cache" for p in paths.searches], []),
            len(paths.searches),
        ),
        Scenario(
            "similar",
            "similar discussions, signed in",
            "GET",
            "/api/v1/discussions/similar?title=...",
            paths.similar[0],
            get_script(paths.similar, members),
            len(paths.similar),
        ),
        Scenario(
            "reply",
            "post a reply (JSON API)",
            "POST",
            "/api/v1/discussions/{id}/posts",
            paths.replies[0][0],
            # the bench user has no published posts, so new-member moderation would hold
            # its replies; the seeded members have hundreds and are published at once
            post_reply_script(paths.replies, members[1:] or members),
            len({p for p, _ in paths.replies}),
        ),
    ]


def check_signed_in(server: Server, paths: Paths, member: Identity, poster: Identity) -> None:
    """One request of each kind by hand first: a benchmark of error pages is worthless."""
    # the first request of a cold worker on a large database can take a while
    status, body = http_get(
        server.base_url + paths.discussions[0], {"Cookie": member.cookie}, timeout=120
    )
    if status != 200 or member.csrf not in body or "Sign out" not in body:
        raise SystemExit(
            f"bench: GET {paths.discussions[0]} did not show a signed-in page "
            f"(status {status}):\n{body[:2000]}\n--- server log ---\n{server.log_tail()}"
        )
    path, _reply_to = paths.replies[0]
    status, body = http_post_json(
        server.base_url + path,
        json.dumps({"body": "Load test: checking that replies work."}).encode(),
        {"Cookie": poster.cookie, "X-CSRF-Token": poster.csrf},
        timeout=120,
    )
    if status != 201:
        raise SystemExit(
            f"bench: POST {path} answered {status}, not 201:\n{body[:2000]}\n"
            f"--- server log ---\n{server.log_tail()}"
        )


def db_pids(target: Target) -> list[int]:
    """The PostgreSQL backends serving the bench's database (none on SQLite)."""
    return database_pids(target.database) if target.kind == "postgresql" else []


def run_load(
    args: argparse.Namespace, target: Target, paths: Paths, report: Report, secret: str
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        database_url=target.url,
        secret_key=SecretStr(secret),
        var_dir=VAR_DIR,
    )
    signer = Signer(secret)
    members = [
        Identity(f"{SESSION_COOKIE}={token}", signer.sign("csrf", token))
        for token in asyncio.run(sign_in(target.url, settings, args.members))
    ]
    chosen = [s for s in scenarios(paths, members) if not args.only or s.name in args.only]
    console.print(
        f"Starting uvicorn with {args.workers} workers (KINDRED_ENV=production) on loopback; "
        f"{len(members)} members signed in, posting limit {POST_LIMIT} per member …"
    )
    server_env = {"KINDRED_RATE_LIMIT_POST_USER": POST_LIMIT}
    with Server(target.url, secret, VAR_DIR, workers=args.workers, env=server_env) as server:
        report.meta["server"] = {"url": server.base_url, "log": str(server.log_path)}
        check_signed_in(server, paths, members[0], members[-1])
        bare_body, bare_headers = visitor_page(server, paths.discussions[0])
        report.meta["bare_body_bytes"] = len(bare_body)
        report.meta["bare_headers"] = bare_headers
        started_pids = set(server.worker_pids())
        with MemorySampler(server) as memory:
            for scenario in chosen:
                if scenario.server != "bare":
                    report.scenarios.append(measure(args, target, server, scenario))
                    continue
                # the ceiling: the same uvicorn, workers and flags, the page's bytes
                body_file = VAR_DIR / "bare-body.html"
                body_file.write_bytes(bare_body)
                headers_file = VAR_DIR / "bare-headers.json"
                headers_file.write_text(json.dumps(bare_headers))
                with Server(
                    target.url,
                    secret,
                    VAR_DIR,
                    workers=args.workers,
                    env={
                        "BENCH_BARE_BODY": str(body_file),
                        "BENCH_BARE_HEADERS": str(headers_file),
                    },
                    app_spec="bench.bare:app",
                    factory=False,
                    log_name="bare.log",
                ) as bare:
                    report.scenarios.append(measure(args, target, bare, scenario))
        ended_pids = set(server.worker_pids())
        if ended_pids != started_pids:
            console.print("[red]A worker was replaced during the run (crash or restart)[/red]")
        report.meta["workers_replaced"] = ended_pids != started_pids
        report.workers = {
            pid: {
                "idle_mb": round(memory.idle_kb.get(pid, 0) / 1024, 1),
                "max_mb": round(kb / 1024, 1),
            }
            for pid, kb in memory.max_kb.items()
        }


# headers the bare ceiling does not copy: uvicorn adds its own date and server, Starlette
# counts the length, and X-Cache would make the ceiling's row count as cache hits
BARE_DROPS = frozenset({"date", "server", "content-length", "x-cache", "connection"})


def visitor_page(server: Server, path: str) -> tuple[bytes, list[tuple[str, str]]]:
    """A discussion page as a visitor's browser gets it (the load's Accept-Encoding): the
    bytes and headers the bare ceiling serves, gzip-compressed as Kindred sent them."""
    status, headers, raw = http_get_raw(
        server.base_url + path, {"Accept-Encoding": ACCEPT_ENCODING}, timeout=120
    )
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
    text = (gzip.decompress(raw) if encoding == "gzip" else raw).decode("utf-8", "replace")
    if status != 200 or "Sign out" in text:
        raise SystemExit(
            f"bench: GET {path} without a cookie did not show a visitor's page "
            f"(status {status}):\n{text[:2000]}\n--- server log ---\n{server.log_tail()}"
        )
    return raw, [(k, v) for k, v in headers if k.lower() not in BARE_DROPS]


def measure(
    args: argparse.Namespace, target: Target, server: Server, scenario: Scenario
) -> ScenarioResult:
    """Warm-up, then one wrk run with the CPU of the server's workers (and PostgreSQL's
    backends) read from /proc before and after."""
    script = VAR_DIR / f"wrk-{scenario.name}.lua"
    script.write_text(scenario.script)
    url = server.base_url + "/"
    console.print(
        f"[bold]{scenario.title}[/bold]: {scenario.method} {scenario.pattern} "
        f"({scenario.distinct_paths:,} distinct) for {args.duration:g} s …"
    )
    warmed = 0.0
    rate: float | None = None
    if args.warmup > 0:
        # a page cache is measured warm: while the last round's X-Cache hit rate is under
        # --warm-until, another round, up to --warmup-max seconds; not while a round has no
        # hits at all (members' pages carry X-Cache: miss and are never kept) or stopped
        # gaining (the cache is as full as it gets)
        previous = -1.0
        while True:
            round_ = run_wrk(
                url,
                script,
                duration=args.warmup,
                connections=args.connections,
                threads=args.threads,
            )
            warmed += args.warmup
            rate = round_.cache_hit_rate
            if rate is None or rate >= args.warm_until or warmed >= args.warmup_max:
                break
            if rate == 0 or rate < previous + 0.01:
                break
            previous = rate
        if rate is not None:
            console.print(f"  warmed {warmed:g} s; X-Cache hits in the last round {rate:.0%}")
    pids = server.worker_pids()
    before = Snapshot.take(pids, db_pids(target))
    result = run_wrk(
        url, script, duration=args.duration, connections=args.connections, threads=args.threads
    )
    cpu = CpuUse.between(before, Snapshot.take(pids, db_pids(target)))
    per_request = 1000 / max(1, result.requests)
    hit_rate = result.cache_hit_rate
    console.print(
        f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}; CPU per request: "
        f"server {cpu.server * per_request:.2f} ms"
        + (f", PostgreSQL {cpu.database * per_request:.2f} ms" if cpu.database else "")
        + f"; other processes {cpu.other_cores:.2f} cores"
        + (f"; X-Cache hits {hit_rate:.0%}" if hit_rate is not None else "")
    )
    return ScenarioResult(
        scenario.name,
        scenario.title,
        scenario.method,
        scenario.pattern,
        scenario.example,
        scenario.distinct_paths,
        result,
        cpu,
        warmup_s=warmed,
        warmup_hit_rate=rate if args.warmup > 0 else None,
    )


# -- main ----------------------------------------------------------------------------------


def git_state() -> dict[str, str | bool]:
    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain"))
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = "", True
    # outside a checkout (an exported tree) there is no commit to name
    return {"commit": commit or "unknown", "dirty": dirty if commit else True}


def results_path(target: Target, scale: str, only: str = "") -> Path:
    return VAR_DIR / f"results-{target.kind}{scale_suffix(scale)}{'-' + only if only else ''}.json"


def compare_with(args: argparse.Namespace, target: Target) -> dict[str, Any] | None:
    """The results to show beside this run's: --compare's file, else the other scale's
    last run of the same scenarios (--only), else its last full run, when there is one."""
    if args.compare:
        candidates = [Path(args.compare)]
    else:
        only = "-".join(sorted(args.only)) if args.only else ""
        others = [name for name in SCALES if name != args.scale]
        candidates = [results_path(target, o, only) for o in others if only]
        candidates += [results_path(target, o) for o in others]
    for path in candidates:
        try:
            found: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        found["_path"] = str(path)
        return found
    if args.compare:
        raise SystemExit(f"bench: cannot read --compare {args.compare}")
    return None


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # unwinds through every `with`, so the server and wrk are stopped
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    ensure_wrk(console)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    target = resolve_target(args.database_url, VAR_DIR, args.scale)
    plan = SeedPlan(
        discussions=args.discussions, replies=args.replies, users=args.users, seed=args.seed
    )
    secret = secrets.token_urlsafe(36)  # 48 characters
    try:
        seed_seconds = prepare_data(target, plan, args.reuse)
        record_seeding(target, plan, args.scale, seed_seconds)
        if args.seed_only:
            return 0
        paths = asyncio.run(choose_paths(target.url, plan))
        report = Report(
            meta={
                "database": target.kind,
                "database_url": target.shown,
                "scale": args.scale,
                "summary": (
                    f"{plan.discussions:,} discussions × {plan.replies} replies, "
                    f"{args.duration:g} s each, {args.connections} connections, "
                    f"{args.workers} workers"
                ),
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "git": git_state(),
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "wrk": wrk_version(),
                },
                "params": {
                    "discussions": plan.discussions,
                    "replies": plan.replies,
                    "users": plan.users,
                    "seed": plan.seed,
                    "duration_s": args.duration,
                    "warmup_s": args.warmup,
                    "warm_until": args.warm_until,
                    "warmup_max_s": args.warmup_max,
                    "connections": args.connections,
                    "wrk_threads": args.threads,
                    "uvicorn_workers": args.workers,
                    "members": args.members,
                    "post_rate_limit": POST_LIMIT,
                },
                "data": {
                    **paths.sizes,
                    "seed_seconds": seed_seconds,
                    "reused": seed_seconds is None,
                    # when reused: how long this data took to seed, as recorded then
                    "seeded_in_seconds": recorded_seeding(target, plan, args.scale),
                },
            }
        )
        run_load(args, target, paths, report, secret)
    except KeyboardInterrupt:
        console.print("[red]Interrupted: the server and wrk are stopped.[/red]")
        return 130
    other = compare_with(args, target)
    report.judge(other)
    report.print(console)
    # a run of some scenarios (--only) does not overwrite the full run's results
    suffix = "-".join(sorted(args.only)) if args.only else ""
    out = results_path(target, args.scale, suffix)
    report.write(out)
    console.print(f"Results written to {out.relative_to(ROOT)}")
    if (os.cpu_count() or 0) <= 2:
        console.print(
            "[dim]Note: wrk and both workers share this machine's "
            f"{os.cpu_count()} cores; figures are noisy (run twice and compare).[/dim]"
        )
    failed = [s for s in report.scenarios if s.result.errors > args.max_errors]
    for s in failed:
        console.print(
            f"[bold red]FAILED: {s.name} had {s.result.errors:,} errors in "
            f"{s.result.requests:,} requests (statuses {s.result.statuses}, "
            f"socket errors {s.result.socket_errors}); see {VAR_DIR / 'server.log'}[/bold red]"
        )
    if failed:
        return 1
    if args.strict and not all(c.ok for c in report.checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
