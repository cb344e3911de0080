"""`python -m bench.watchers`: what one reply costs when 1,000 members watch the discussion.

Seeds a small database (a discussion watched by `--watchers` members with verified e-mail
addresses, so every watcher also gets an outbox row, and a second discussion nobody
watches), starts the real server (uvicorn, `KINDRED_ENV=production`, the in-process e-mail
worker off so it does not compete for the database while we measure), and posts `--replies`
replies one after the other to each discussion through `POST /api/v1/discussions/{id}/posts`,
as a signed-in member would.

For every reply it records the request's latency and how long (from sending the request)
until every notification and every outbox item for that post can be read from another
database connection. Notifications and outbox rows are written in the request's own
transaction, so they exist when the answer arrives; the second figure proves it and adds
the time of one reading query.

    .venv/bin/python -m bench.watchers                      # SQLite, var/bench/watchers.db
    .venv/bin/python -m bench.watchers --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Figures go to the terminal and to var/bench/watchers-<sqlite|postgresql>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from app.accounts.models import Role, User
from app.accounts.service import start_session
from app.config import Settings
from app.core.security import PasswordHasher, Signer
from app.db import Database, make_engine
from app.discussions.posting import start_discussion
from app.email.models import OutboxItem, OutboxMessage, OutboxStatus
from app.groups.service import create_group
from app.notifications.models import DiscussionFollow, FollowLevel, Notification
from bench.cpu import database_pids, process_cpu_seconds
from bench.database import ROOT, migrate
from bench.server import Server

VAR_DIR = ROOT / "var" / "bench"
# dropped and created again by every run: two people benching on one server each name
# their own (BENCH_WATCHERS_DATABASE), or the second run drops the first one's database
PG_DATABASE = os.environ.get("BENCH_WATCHERS_DATABASE", "kindred_bench_watchers")
console = Console() if sys.stdout.isatty() else Console(width=130)


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str
    url: str
    admin_url: str | None = None
    path: Path | None = None


def resolve(database_url: str | None) -> Target:
    if not database_url:
        path = (VAR_DIR / "watchers.db").resolve()
        return Target("sqlite", f"sqlite+aiosqlite:///{path.as_posix()}", path=path)
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("bench.watchers: give a PostgreSQL URL, or nothing for SQLite")
    admin = url.set(drivername="postgresql+asyncpg")
    own = admin.set(database=PG_DATABASE)
    return Target(
        "postgresql",
        own.render_as_string(hide_password=False),
        admin_url=admin.render_as_string(hide_password=False),
    )


def remove_sqlite_files(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def recreate(target: Target) -> None:
    if target.kind == "sqlite":
        assert target.path is not None
        await asyncio.to_thread(remove_sqlite_files, target.path)
        return
    assert target.admin_url is not None
    engine = make_engine(target.admin_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        await engine.dispose()


@dataclass
class Seeded:
    watched_id: int
    quiet_id: int
    session_token: str


async def add_watchers(
    session: Any,
    discussion_id: int,
    count: int,
    *,
    prefix: str,
    password_hash: str,
    domain: str = "example.org",
    verified: bool = True,
) -> list[int]:
    """`count` members watching the discussion, written in bulk (registering them one by one
    would hash as many passwords); e-mail addresses verified unless `verified` is false.
    The bench's setup, and the tests' that a reply costs no more statements with them."""
    now = datetime.now(UTC)
    rows = [
        dict(
            username=f"{prefix}{n:05d}",
            username_key=f"{prefix}{n:05d}".casefold(),
            email=f"{prefix}{n:05d}@{domain}",
            email_key=f"{prefix}{n:05d}@{domain}".casefold(),
            password_hash=password_hash,
            role=Role.member.value,
            bio="",
            post_count=0,
            created_at=now,
            password_changed_at=now,
            suspension_reason="",
            email_verified_at=now if verified else None,
        )
        for n in range(count)
    ]
    ids = list((await session.scalars(insert(User).returning(User.id), rows)).all())
    await session.execute(
        insert(DiscussionFollow),
        [
            dict(
                user_id=i,
                discussion_id=discussion_id,
                level=FollowLevel.watching.value,
                created_at=now,
            )
            for i in ids
        ],
    )
    return ids


async def seed(
    target: Target, settings: Settings, watchers: int, *, email: bool, plan_cache_mode: str = ""
) -> Seeded:
    db = Database(target.url)
    now = datetime.now(UTC)
    try:
        async with db.sessionmaker() as session:
            await session.execute(text("UPDATE site_settings SET hold_first_posts = 0"))
            group = await create_group(session, slug="bench-watchers", name="Watched group")
            writer = User(
                username="writer",
                username_key="writer",
                email="writer@bench.kindred.test",
                email_key="writer@bench.kindred.test",
                password_hash=PasswordHasher().context.hash(secrets.token_urlsafe(16)),
                role=Role.mentor.value,
                email_verified_at=now,
            )
            session.add(writer)
            await session.flush()
            watched = await start_discussion(
                session, author=writer, group=group, title="Watched by many", body="Question?"
            )
            quiet = await start_discussion(
                session, author=writer, group=group, title="Watched by nobody", body="Question?"
            )
            await add_watchers(
                session,
                watched.discussion.id,
                watchers,
                prefix="watcher",
                domain="bench.kindred.test",
                password_hash=writer.password_hash,
                # unverified members get no e-mail: --no-email measures notifications alone
                verified=email,
            )
            token = await start_session(session, settings, user=writer, user_agent="bench")
            await session.commit()
        if target.kind == "postgresql" and plan_cache_mode:
            async with db.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(
                    text(f'ALTER DATABASE "{PG_DATABASE}" SET plan_cache_mode = {plan_cache_mode}')
                )
        return Seeded(watched.discussion.id, quiet.discussion.id, token)
    finally:
        await db.dispose()


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Sample:
    latency_ms: float
    complete_ms: float
    notifications: int
    outbox_items: int
    complete_at_answer: bool


@dataclass
class Result:
    name: str
    watchers: int
    samples: list[Sample]
    # PostgreSQL: CPU seconds of the server's backends (not the reading connection's) over
    # the scenario, from /proc; None on SQLite (the database runs in the server's process)
    database_cpu_s: float | None = None
    # CPU seconds of the server's processes (uvicorn and its workers) over the scenario: on
    # SQLite the database's work is in there too
    server_cpu_s: float = 0.0

    def pct(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        lat = [s.latency_ms for s in self.samples]
        done = [s.complete_ms for s in self.samples]
        return {
            "scenario": self.name,
            "watchers": self.watchers,
            "replies": len(self.samples),
            "latency_ms": {
                "p50": self.pct(lat, 50),
                "p99": self.pct(lat, 99),
                "max": max(lat),
                "mean": statistics.fmean(lat),
            },
            "all_rows_exist_ms": {"p50": self.pct(done, 50), "p99": self.pct(done, 99)},
            "notifications_per_reply": statistics.fmean(s.notifications for s in self.samples),
            "outbox_items_per_reply": statistics.fmean(s.outbox_items for s in self.samples),
            "complete_when_answered": sum(s.complete_at_answer for s in self.samples),
            "database_cpu_ms_per_reply": (
                None
                if self.database_cpu_s is None
                else self.database_cpu_s * 1000 / len(self.samples)
            ),
            "server_cpu_ms_per_reply": self.server_cpu_s * 1000 / len(self.samples),
        }


async def count_rows(db: Database, post_id: int, readers: set[int]) -> tuple[int, int]:
    """The post's notifications and outbox items, read from another connection; on
    PostgreSQL `readers` gathers that connection's backend, whose CPU is not the reply's."""
    async with db.sessionmaker() as session:
        if not db.is_sqlite:
            readers.add(int(await session.scalar(text("SELECT pg_backend_pid()")) or 0))
        notifications = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.post_id == post_id)
        )
        items = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(Notification, Notification.id == OutboxItem.notification_id)
            .where(Notification.post_id == post_id)
        )
        return int(notifications or 0), int(items or 0)


async def send_queued(db: Database, readers: set[int]) -> None:
    """Mark every queued message sent an hour ago (past the 15 minutes in which a member
    already told of a discussion is not told again), as if the worker had sent them."""
    async with db.sessionmaker() as session:
        if not db.is_sqlite:
            readers.add(int(await session.scalar(text("SELECT pg_backend_pid()")) or 0))
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.queued.value)
            .values(status=OutboxStatus.sent.value, sent_at=an_hour_ago)
        )
        await session.commit()


async def measure(
    client: httpx.AsyncClient,
    db: Database,
    *,
    name: str,
    discussion_id: int,
    watchers: int,
    replies: int,
    headers: dict[str, str],
    server: Server,
    mail_sent: bool = False,
) -> Result:
    """`mail_sent`: before each reply (outside its time, and on a reading connection whose
    CPU is not counted) the messages queued so far are marked sent an hour ago, as the
    e-mail worker would have sent them: the reply then writes a new message for every
    watcher instead of adding to the ones still gathering (the figure a forum with a
    running worker sees; without it every reply after the first only joins messages)."""
    samples = []
    readers: set[int] = set()
    before = backends_cpu(db, readers)
    server_before = server_cpu(server)
    for n in range(replies):
        if mail_sent:
            await send_queued(db, readers)
        started = time.perf_counter()
        r = await client.post(
            f"/api/v1/discussions/{discussion_id}/posts",
            json={"body": f"Reply {n} to {name}: how are the counts today?"},
            headers=headers,
        )
        answered = time.perf_counter()
        if r.status_code != 201:
            raise SystemExit(f"bench.watchers: reply refused: {r.status_code} {r.text[:300]}")
        post_id = r.json()["id"]
        first = None
        while True:
            got = await count_rows(db, post_id, readers)
            first = first or got
            if got[0] >= watchers or time.perf_counter() - started > 30:
                break
            await asyncio.sleep(0.005)
        done = time.perf_counter()
        samples.append(
            Sample(
                latency_ms=(answered - started) * 1000,
                complete_ms=(done - started) * 1000,
                notifications=got[0],
                outbox_items=got[1],
                complete_at_answer=first[0] >= watchers,
            )
        )
    after = backends_cpu(db, readers)
    cpu = None
    if not db.is_sqlite:
        cpu = sum(after.values()) - sum(before.get(pid, 0.0) for pid in after)
    return Result(name, watchers, samples, cpu, server_cpu(server) - server_before)


def server_cpu(server: Server) -> float:
    """CPU seconds of the server's processes so far (the workers live as long as it)."""
    assert server.process is not None
    pids = {server.process.pid, *server.worker_pids()}
    return sum(process_cpu_seconds(pid) for pid in pids)


def backends_cpu(db: Database, readers: set[int]) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend of the bench's database but the reading
    connections' (/proc: the server runs on this machine); empty on SQLite."""
    if db.is_sqlite:
        return {}
    return {
        pid: process_cpu_seconds(pid) for pid in database_pids(PG_DATABASE) if pid not in readers
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return ""


async def run(args: argparse.Namespace) -> int:
    target = resolve(args.database_url)
    secret = secrets.token_urlsafe(36)
    settings = Settings(
        env="production",
        database_url=target.url,
        secret_key=SecretStr(secret),
        var_dir=VAR_DIR,
    )
    console.print(f"[bold]bench.watchers[/bold]: {target.kind}, {args.watchers:,} watchers")
    await recreate(target)
    await asyncio.to_thread(migrate, target.url)
    started = time.monotonic()
    seeded = await seed(
        target, settings, args.watchers, email=args.email, plan_cache_mode=args.plan_cache_mode
    )
    console.print(f"Seeded in {time.monotonic() - started:.1f} s")

    env = {
        "KINDRED_RATE_LIMIT_POST_USER": "100000/minute",
        "KINDRED_EMAIL_WORKER_IN_PROCESS": "false",
    }
    headers = {"x-csrf-token": Signer(secret).sign("csrf", seeded.session_token)}
    db = Database(target.url)
    results: list[Result] = []
    try:
        with Server(target.url, secret, VAR_DIR, workers=args.workers, env=env) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                client.cookies.set("kindred_session", seeded.session_token)
                # warm up: imports, connection pools, statement caches
                await measure(
                    client, db, name="warm-up", discussion_id=seeded.quiet_id, watchers=0,
                    replies=5, headers=headers, server=server,
                )  # fmt: skip
                watching = f"reply, {args.watchers:,} watching"
                for name, discussion_id, watchers, mail_sent in (
                    ("reply, nobody watching", seeded.quiet_id, 0, False),
                    (watching, seeded.watched_id, args.watchers, False),
                    (f"{watching}, earlier mail sent", seeded.watched_id, args.watchers, True),
                ):
                    results.append(
                        await measure(
                            client,
                            db,
                            name=name,
                            discussion_id=discussion_id,
                            watchers=watchers,
                            replies=args.replies,
                            headers=headers,
                            server=server,
                            mail_sent=mail_sent,
                        )
                    )
    finally:
        await db.dispose()

    table = Table(title=f"One reply at a time ({args.replies} each), {target.kind}")
    for column in (
        "scenario",
        "p50 ms",
        "p99 ms",
        "max ms",
        "notifications",
        "outbox items",
        "all rows exist p50 / p99 ms",
        "complete at answer",
        "database CPU ms / reply",
        "server CPU ms / reply",
    ):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    summaries = [r.summary() for r in results]
    for s in summaries:
        table.add_row(
            s["scenario"],
            f"{s['latency_ms']['p50']:.1f}",
            f"{s['latency_ms']['p99']:.1f}",
            f"{s['latency_ms']['max']:.1f}",
            f"{s['notifications_per_reply']:.0f}",
            f"{s['outbox_items_per_reply']:.0f}",
            f"{s['all_rows_exist_ms']['p50']:.1f} / {s['all_rows_exist_ms']['p99']:.1f}",
            f"{s['complete_when_answered']}/{s['replies']}",
            "-"
            if s["database_cpu_ms_per_reply"] is None
            else f"{s['database_cpu_ms_per_reply']:.1f}",
            f"{s['server_cpu_ms_per_reply']:.1f}",
        )
    console.print(table)
    out = VAR_DIR / f"watchers-{target.kind}.json"
    out.write_text(
        json.dumps(
            {
                "database": target.kind,
                "watchers": args.watchers,
                "replies": args.replies,
                "workers": args.workers,
                "results": summaries,
                "samples": {r.name: [asdict(s) for s in r.samples] for r in results},
                "commit": git_commit(),
                "machine": {"python": platform.python_version(), "cpus": _cpus()},
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )
    console.print(f"Figures written to {out.relative_to(ROOT)}")
    incomplete = [s for s in summaries if s["complete_when_answered"] != s["replies"]]
    return 1 if incomplete else 0


def _cpus() -> int:
    return os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.watchers", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL server (default: SQLite)")
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=100, help="replies per scenario")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--no-email",
        dest="email",
        action="store_false",
        help="watchers without a verified address: notifications only, no outbox rows",
    )
    parser.add_argument(
        "--plan-cache-mode",
        default="",
        choices=["", "auto", "force_custom_plan", "force_generic_plan"],
        help="PostgreSQL plan_cache_mode for the bench database (default: the server's)",
    )
    args = parser.parse_args(argv)
    if args.watchers < 1 or args.replies < 2:
        parser.error("--watchers and --replies must be positive (replies at least 2)")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
