"""Where the bench data lives, building its schema, signing the bench user in, and choosing
which pages the load generator asks for."""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.accounts.models import User
from app.accounts.service import start_session
from app.config import Settings
from app.db import Database, make_engine
from app.discussions.models import Discussion, Post
from app.groups.models import Group
from bench.seed import BENCH_USERNAME, CONDITIONS, TITLES, SeedPlan

ROOT = Path(__file__).resolve().parents[1]
# another name lets an engineer bench a copy (createdb -T kindred_bench kb_mine), not the
# seeded database others read: BENCH_PG_DATABASE=kb_mine (kb_mine_large at --scale large)
PG_BENCH_DATABASE = os.environ.get("BENCH_PG_DATABASE", "kindred_bench")

Kind = Literal["sqlite", "postgresql"]
# --scale: the forum's size; each has its own database, so both can be kept and compared
SCALES: dict[str, SeedPlan] = {
    "small": SeedPlan(discussions=10_000, replies=20, users=500),  # 210,000 posts
    "large": SeedPlan(discussions=50_000, replies=20, users=20_000),  # 1,050,000 posts
}


def scale_suffix(scale: str) -> str:
    """'' for the default size (the names earlier runs used), '-large' for the others."""
    return "" if scale == "small" else f"-{scale}"


@dataclass(frozen=True, slots=True)
class Target:
    kind: Kind
    url: str  # what the app and the seeder connect to
    admin_url: str | None = None  # PostgreSQL: the server's database used to create ours
    sqlite_path: Path | None = None
    database: str = PG_BENCH_DATABASE  # PostgreSQL: the bench's own database

    @property
    def shown(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def resolve_target(database_url: str | None, var_dir: Path, scale: str = "small") -> Target:
    """SQLite file under var/bench by default; a PostgreSQL URL names the server, and the
    bench uses its own database there so the one named (often `test`) is left alone. Each
    scale has its own file or database (`bench-large.db`, `kindred_bench_large`)."""
    suffix = scale_suffix(scale)
    if not database_url:
        path = (var_dir / f"bench{suffix}.db").resolve()
        return Target("sqlite", f"sqlite+aiosqlite:///{path.as_posix()}", sqlite_path=path)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        name = PG_BENCH_DATABASE + suffix.replace("-", "_")
        bench = url.set(drivername="postgresql+asyncpg", database=name)
        return Target(
            "postgresql",
            bench.render_as_string(hide_password=False),
            admin_url=url.set(drivername="postgresql+asyncpg").render_as_string(
                hide_password=False
            ),
            database=name,
        )
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database).resolve()
        return Target("sqlite", f"sqlite+aiosqlite:///{path.as_posix()}", sqlite_path=path)
    raise SystemExit(f"bench: unsupported database URL {url.render_as_string()}")


def migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")


async def _admin(admin_url: str, *statements: str) -> list[object]:
    """Run statements outside a transaction (CREATE/DROP DATABASE need that)."""
    engine = make_engine(admin_url)
    results: list[object] = []
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql in statements:
                result = await conn.execute(text(sql))
                results.append(result.scalar() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return results


def database_exists(target: Target) -> bool:
    if target.kind == "sqlite":
        return target.sqlite_path is not None and target.sqlite_path.exists()
    assert target.admin_url is not None
    found = asyncio.run(
        _admin(
            target.admin_url,
            f"SELECT 1 FROM pg_database WHERE datname = '{target.database}'",
        )
    )
    return found[0] == 1


def recreate_database(target: Target) -> None:
    """An empty database: the SQLite file (and its WAL) removed, or the PostgreSQL database
    dropped (closing its connections) and created again."""
    if target.kind == "sqlite":
        assert target.sqlite_path is not None
        target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{target.sqlite_path}{suffix}").unlink(missing_ok=True)
        return
    assert target.admin_url is not None
    asyncio.run(
        _admin(
            target.admin_url,
            f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
            f'CREATE DATABASE "{target.database}"',
        )
    )


async def seeded_marker(url: str) -> str | None:
    """The seed parameters recorded in a previous run, if this database has them."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(select(User.bio).where(User.username_key == BENCH_USERNAME))
    except Exception:  # no schema yet, or not ours
        return None
    finally:
        await engine.dispose()


async def sign_in(url: str, settings: Settings, members: int) -> list[str]:
    """Fresh browser sessions for the bench user and the first `members - 1` seeded members
    (plain members, so pages look as most people see them); returns the raw cookie tokens."""
    db = Database(url)
    try:
        async with db.sessionmaker() as session:
            bench = await session.scalar(select(User).where(User.username_key == BENCH_USERNAME))
            if bench is None:
                raise SystemExit("bench: the bench user is missing; run without --reuse")
            others = await session.scalars(
                select(User)
                .where(User.role == "member", User.id != bench.id)
                .order_by(User.id)
                .limit(members - 1)
            )
            tokens = [
                await start_session(session, settings, user=user, user_agent="kindred-bench")
                for user in [bench, *others.all()]
            ]
            await session.commit()
            return tokens
    finally:
        await db.dispose()


@dataclass(frozen=True, slots=True)
class Paths:
    discussions: list[str]  # GET pages of discussions left as seeded
    groups: list[str]
    replies: list[tuple[str, int | None]]  # POST targets: (API path, reply_to or None)
    sizes: dict[str, int]
    searches: list[str]  # GET /api/v1/search?q=...: common and rare words, phrases, operators
    similar: list[str]  # GET /api/v1/discussions/similar?title=...


async def choose_paths(url: str, plan: SeedPlan, *, limit: int = 5000) -> Paths:
    """Pages to request. The discussions that receive benchmark replies are kept apart from
    the ones that are read, so a re-used database still reads discussions of the seeded
    size."""
    rng = random.Random(plan.seed + 1)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Discussion.id, Discussion.slug, Discussion.reply_count)
                    .where(Discussion.deleted_at.is_(None))
                    .order_by(Discussion.id)
                )
            ).all()
            groups = list((await conn.scalars(select(Group.slug).order_by(Group.id))).all())
            if not rows or not groups:
                raise SystemExit("bench: the database holds no discussions; run without --reuse")
            split = max(1, len(rows) // 10)
            writes, reads = rows[-split:], rows[:-split] or rows
            seeded_size = [r for r in reads if r.reply_count == plan.replies] or reads
            picked = rng.sample(seeded_size, min(limit, len(seeded_size)))
            targets = rng.sample(writes, min(limit // 5, len(writes)))
            top = (
                await conn.execute(
                    select(Post.discussion_id, func.min(Post.id))
                    .where(
                        Post.discussion_id.in_([t.id for t in targets]),
                        Post.reply_to_id.is_(None),
                        Post.is_opening.is_(False),
                    )
                    .group_by(Post.discussion_id)
                )
            ).all()
            first_reply = {discussion_id: post_id for discussion_id, post_id in top}
            sizes = {
                "posts": int(await conn.scalar(select(func.count()).select_from(Post)) or 0),
                "discussions": len(rows),
            }
    finally:
        await engine.dispose()
    replies: list[tuple[str, int | None]] = []
    for t in targets:
        path = f"/api/v1/discussions/{t.id}/posts"
        replies.append((path, None))
        if t.id in first_reply:
            replies.append((path, first_reply[t.id]))
    return Paths(
        discussions=[f"/discussions/{r.id}/{r.slug}" for r in picked],
        groups=[f"/groups/{slug}" for slug in groups],
        replies=replies,
        sizes=sizes,
        searches=search_paths(groups),
        similar=similar_paths(rng),
    )


def search_paths(groups: list[str]) -> list[str]:
    """A mix of what people type: common words (in most posts), rarer ones (a condition),
    phrases, and operator queries with and without words."""
    common = ["appointment", "fatigue", "results", "diagnosed", "specialist", "hug"]
    rare = [*(c.split()[-1] for c in CONDITIONS), "ablation", "gluten", "referral"]
    phrases = ['"second opinion"', '"blood work"', '"virtual appointment"', '"support group"']
    operators = [
        *(f"#{g} fatigue" for g in groups),
        *(f"#{g}" for g in groups),
        "status:unanswered lymphoma",
        "in:title pacemaker",
        "order:latest appointment",
        "after:2026-01-01 diet",
        "neutropenia status:answered order:latest",
    ]
    queries = [*common, *rare, *phrases, *operators]
    return ["/api/v1/search?" + urlencode({"q": q}) for q in queries]


def similar_paths(rng: random.Random) -> list[str]:
    """Titles as people start typing them: close to seeded ones, and not."""
    titles = [t.format(c=c) for t in TITLES for c in CONDITIONS]
    typed = [t[: rng.randint(12, len(t))] for t in rng.sample(titles, min(150, len(titles)))]
    typed += ["Worried about my blood counts", "Is this normal after treatment?"]
    return ["/api/v1/discussions/similar?" + urlencode({"title": t}) for t in typed]
