"""In-process CPU of one reply through Kindred's whole ASGI stack:
`python -m bench.reply_cost [--database-url URL] [--replies N] [--profile] [--statements]`.

Like `bench.asgi_cost`, without server, sockets or load generator: the app built by
`create_app` (production settings) is called with raw ASGI messages that POST a reply to
`/api/v1/discussions/{id}/posts` as a signed-in member would (session cookie and CSRF
header, as `python -m bench` sends them), to the discussions the bench writes to, and the
process's CPU time is divided by the number of replies. It needs a seeded bench database
(default: the SQLite copy in var/bench/bench.db; on PostgreSQL, `--database-url` of the
bench's own database). Every reply is written and committed: run it on a copy.
`--statements` prints the SQL one reply issues; `--profile` prints cProfile's top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.accounts.deps import SESSION_COOKIE
from app.config import Settings
from app.core.security import Signer
from app.main import create_app
from bench import watchers
from bench.asgi_cost import scope_for
from bench.database import ROOT, choose_paths, sign_in
from bench.seed import SeedPlan

SECRET = "bench-" * 8
LINES = (
    "Thank you for sharing this, it helps to know we are not alone.",
    "We had the same experience last year; the second opinion was worth it.",
    "Please remember we are patients here, not medical professionals.",
    "Sending a hug your way. Let us know how the appointment goes.",
)


def reply_scope(path: str, cookie: str, csrf: str, length: int) -> dict[str, Any]:
    return scope_for(
        path,
        cookie.encode(),
        method="POST",
        headers=(
            (b"x-csrf-token", csrf.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
        ),
    )


class Poster:
    def __init__(
        self, app: Any, targets: list[tuple[str, int | None]], identities: list[tuple[str, str]]
    ) -> None:
        self.app = app
        self.targets = targets
        self.identities = identities
        self.sent = 0
        self.database: str | None = None  # PostgreSQL: whose backends' CPU is measured
        self.backend_ms = 0.0

    async def one(self) -> tuple[int, bytes]:
        self.sent += 1
        path, reply_to = self.targets[self.sent % len(self.targets)]
        cookie, csrf = self.identities[self.sent % len(self.identities)]
        payload: dict[str, Any] = {
            "body": f"{LINES[self.sent % len(LINES)]} (reply cost {time.time_ns()}-{self.sent})"
        }
        if reply_to is not None and self.sent % 2:
            payload["reply_to"] = reply_to
        body = json.dumps(payload).encode()
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(reply_scope(path, cookie, csrf, len(body)), receive, send)
        return status, b"".join(chunks)

    async def measure(self, replies: int) -> float:
        """CPU milliseconds per reply (and `backend_ms`: PostgreSQL's backends')."""
        started, own = time.process_time(), time.thread_time()
        backends = backends_cpu(self.database)
        for _ in range(replies):
            status, body = await self.one()
            if status != 201:
                raise SystemExit(f"reply answered {status}: {body[:500]!r}")
        self.loop_ms = (time.thread_time() - own) / replies * 1e3
        self.backend_ms = (backends_cpu(self.database) - backends) / replies * 1e3
        return (time.process_time() - started) / replies * 1e3


def backends_cpu(database: str | None) -> float:
    """Seconds of CPU used so far by the PostgreSQL backends connected to `database`, when
    the server runs on this machine (their process titles name the database; /proc), else
    0. The kernel counts in 10 ms ticks: a sum over hundreds of replies means something."""
    if not database:
        return 0.0
    used = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def package_of(file: str) -> str:
    """Where a profiled function lives: a site-package's name, app/<domain>, or the rest."""
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0]
    if "/app/" in file:
        parts = file.split("/app/")[1].split("/")
        return "app/" + "/".join(parts[:2] if len(parts) > 1 else parts)
    if file.startswith("~") or file.startswith("<"):
        return "builtins"
    return "stdlib " + file.rsplit("/", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reply_cost", description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--replies", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--profile-out", type=Path, help="with --profile: save the stats here")
    parser.add_argument(
        "--watchers",
        type=int,
        help="reply to a discussion this many members watch (seeds its own small database, "
        "as `python -m bench.watchers` does), instead of the bench's discussions",
    )
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite+aiosqlite:///{(ROOT / 'var/bench/bench.db').as_posix()}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            database_url=url,
            secret_key=SecretStr(SECRET),
            var_dir=Path(tmp),
            rate_limit_post_user="1000000/minute",
            email_worker_in_process=False,
        )
        signer = Signer(SECRET)
        if args.watchers is not None:
            target = watchers.resolve(args.database_url)
            if target.path is not None:
                target = watchers.Target(
                    "sqlite",
                    target.url.replace("watchers.db", "cost.db"),
                    path=target.path.with_name("cost.db"),
                )
            settings = settings.model_copy(update={"database_url": target.url})
            asyncio.run(watchers.recreate(target))
            watchers.migrate(target.url)
            seeded = asyncio.run(watchers.seed(target, settings, args.watchers, email=True))
            tokens = ["", seeded.session_token]
            replies: list[tuple[str, int | None]] = [
                (f"/api/v1/discussions/{seeded.watched_id}/posts", None)
            ]
        else:
            tokens = asyncio.run(sign_in(url, settings, args.members))
            replies = asyncio.run(choose_paths(url, SeedPlan(10_000, 20, 500), limit=500)).replies
        identities = [(f"{SESSION_COOKIE}={t}", signer.sign("csrf", t)) for t in tokens[1:]]
        app = create_app(settings)

        async def run() -> None:
            poster = Poster(app, replies, identities)
            if settings.database_url.startswith("postgresql"):
                poster.database = make_url(settings.database_url).database
            await poster.measure(min(30, args.replies))  # warm
            if args.watchers is not None:
                walls = []
                for _ in range(args.replies):
                    started = time.perf_counter()
                    await poster.one()
                    walls.append((time.perf_counter() - started) * 1e3)
                walls.sort()
                print(f"wall per reply: p50 {walls[len(walls) // 2]:.1f} ms, max {walls[-1]:.1f}")
            if args.statements:
                seen: list[str] = []
                heard: list[float] = []

                def hear(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
                    seen.append(statement)
                    heard.append(time.perf_counter())

                engine = app.state.db.engine.sync_engine
                event.listen(engine, "before_cursor_execute", hear)
                await poster.measure(1)
                heard.append(time.perf_counter())
                event.remove(engine, "before_cursor_execute", hear)
                for i, sql in enumerate(seen, 1):
                    # until the next statement: this one's time, and the Python between
                    print(f"-- {i} ({(heard[i] - heard[i - 1]) * 1e3:.2f} ms)\n{sql}\n")
                print(f"{len(seen)} statements in one reply")
            rounds = []
            for _ in range(args.rounds):
                rounds.append((await poster.measure(args.replies), poster.backend_ms))
            best = min(ms for ms, _ in rounds)
            print(
                f"POST reply: {best:.2f} ms CPU per reply ({args.replies} replies, best round;"
                f" the event loop's thread {poster.loop_ms:.2f} ms of the last round)"
            )
            if poster.database:
                print(
                    "PostgreSQL backends: "
                    f"{min(ms for _, ms in rounds):.2f} ms CPU per reply (best round)"
                )
            if args.profile:
                # the event loop's thread's CPU, not wall time: waits for the database's thread
                # (epoll) would otherwise read as the largest cost
                profile = cProfile.Profile(time.thread_time)
                profile.enable()
                await poster.measure(args.replies)
                profile.disable()
                stats = pstats.Stats(profile)
                if args.profile_out:
                    stats.dump_stats(args.profile_out)
                by_package: dict[str, float] = {}
                for (file, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
                    key = package_of(file)
                    by_package[key] = by_package.get(key, 0.0) + row[2]
                total = sum(by_package.values())
                for key, spent in sorted(by_package.items(), key=lambda kv: -kv[1])[:25]:
                    print(f"{spent / total:6.1%}  {spent * 1e3 / args.replies:7.2f} ms  {key}")
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(60)

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
