"""In-process CPU per request of one path through Kindred's whole ASGI stack:
`python -m bench.asgi_cost [/healthz|discussions|groups] [--requests N] [--signed-in N]
[--profile]`.

No server, no sockets, no load generator: the app built by `create_app` (production
settings, a throw-away SQLite file) is called directly with raw ASGI messages, N times, and
the process's CPU time is divided by N. On a shared machine this moves far less than
requests/s under wrk, so it is the figure to compare middleware changes by. `--profile`
prints cProfile's top functions for a second round. Paths that need data (pages) need a
seeded database: pass `--database-url`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from app.config import Settings
from app.core.security import SESSION_COOKIE
from app.main import create_app
from bench.cpu import process_cpu_seconds
from bench.database import SCALES, choose_paths, sign_in


def scope_for(
    path: str,
    cookie: bytes = b"",
    *,
    method: str = "GET",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> dict[str, Any]:
    """An HTTP request's ASGI scope, as uvicorn would pass it (also `bench.reply_cost`'s)."""
    raw, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8001),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": raw,
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8001")]
        + ([(b"cookie", cookie)] if cookie else [])
        + list(headers),
        "state": {},
    }


async def measure(
    app: Any, paths: list[str], requests: int, cookies: list[bytes] | None = None
) -> tuple[float, int]:
    """CPU microseconds per request, and the status of the last answer; requests go to the
    paths in turn, each with the next cookie in turn (none without cookies)."""
    status = 0
    cookies = cookies or [b""]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.process_time()
    for i in range(requests):
        await app(scope_for(paths[i % len(paths)], cookies[i % len(cookies)]), receive, send)
    return (time.process_time() - started) / requests * 1e6, status


def _own_ports() -> set[int]:
    """The local TCP ports of this process's sockets."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def own_backends(database_url: str) -> list[int]:
    """The PostgreSQL backends serving this process's connections (the app's reader and
    pool), found by their clients' ports: not those of anyone else benching the same
    database meanwhile."""
    import asyncpg
    from sqlalchemy.engine import make_url

    ports = _own_ports()
    url = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
            " AND pid <> pg_backend_pid()",
            list(ports),
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.asgi_cost", description=__doc__)
    parser.add_argument("path", nargs="?", default="/healthz")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    parser.add_argument("--database-url", help="default: an empty SQLite file")
    parser.add_argument(
        "--signed-in", type=int, default=0, metavar="N", help="as N members in turn"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25, help="functions the profile lists")
    parser.add_argument("--profile-out", help="also write the profile's stats to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            database_url=args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'cost.db'}",
            secret_key=SecretStr("bench-" * 8),
            var_dir=Path(tmp),
        )
        app = create_app(settings)
        paths = [args.path]
        if args.path in ("discussions", "groups"):
            chosen = asyncio.run(choose_paths(settings.database_url, SCALES["small"]))
            paths = chosen.discussions if args.path == "discussions" else chosen.groups
        cookies = [
            f"{SESSION_COOKIE}={token}".encode()
            for token in (
                asyncio.run(sign_in(settings.database_url, settings, args.signed_in))
                if args.signed_in
                else []
            )
        ]

        postgres = settings.database_url.startswith("postgresql")

        async def measured() -> tuple[float, int, float]:
            """CPU µs per request here, its status, and (PostgreSQL) the server's CPU µs."""
            backends = await own_backends(settings.database_url) if postgres else []
            before = sum(process_cpu_seconds(pid) for pid in backends)
            cpu, status = await measure(app, paths, args.requests, cookies)
            spent = sum(process_cpu_seconds(pid) for pid in backends) - before
            return cpu, status, spent / args.requests * 1e6

        async def run() -> None:
            await measure(app, paths, 200, cookies)  # warm
            rounds = [await measured() for _ in range(args.rounds)]
            best = min(rounds, key=lambda r: r[0] + r[2])
            print(f"GET {args.path}: {best[0]:.1f} µs CPU per request (status {best[1]})")
            if postgres:
                print(
                    f"  + PostgreSQL {best[2]:.1f} µs (its backends serving this process;"
                    f" rounds: {', '.join(f'{r[0]:.0f} + {r[2]:.0f}' for r in rounds)})"
                )
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                await measure(app, paths, args.requests, cookies)
                profile.disable()
                if args.profile_out:
                    profile.dump_stats(args.profile_out)
                pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
