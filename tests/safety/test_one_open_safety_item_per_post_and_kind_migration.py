"""The sf4once migration merges open safety items already stored twice for one post and
kind into the oldest (the later copies of the same unreviewed event go), keeps resolved
items, and then the database holds one open item per post and kind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.accounts import service as accounts
from app.core.security import PasswordHasher
from app.db import make_engine, utcnow
from app.discussions import posting
from app.groups.service import create_group
from app.safety.models import SafetyReview
from tests.conftest import PG_URL, ROOT, _pg_admin, drop_database

BEFORE = "sf4once-1"


def _upgrade(url: str, revision: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, revision)


def _database_before(tmp_path: Path) -> str:
    if PG_URL:
        name = f"kindred_sf4once_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'sf4once.db'}"
    _upgrade(url, BEFORE)
    return url


async def _scene(url: str) -> dict[str, Any]:
    """A post with three open crisis items (two edits' copies), one resolved, and one open
    personal-information item."""
    engine = make_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as s:
            author = await accounts.register(
                s,
                PasswordHasher(fast=True),
                username="writer_one",
                email="writer_one@example.org",
                password="long password here",
            )
            group = await create_group(s, slug="g-sf4once", name="G")
            written = await posting.start_discussion(
                s, author=author, group=group, title="Tonight", body="How do you cope?"
            )
            post_id = written.post.id
            start = utcnow() - timedelta(hours=3)
            ids: dict[str, Any] = {"post": post_id, "crisis": []}
            for n in range(4):
                review = SafetyReview(
                    post_id=post_id,
                    kind="crisis",
                    priority=0,
                    detail=f"copy {n}",
                    created_at=start + timedelta(minutes=n),
                    resolved_at=start if n == 0 else None,  # the first one was reviewed
                )
                s.add(review)
                await s.flush()
                ids["crisis"].append(review.id)
            info = SafetyReview(
                post_id=post_id, kind="personal_information", priority=9, created_at=start
            )
            s.add(info)
            await s.flush()
            ids["info"] = info.id
            await s.commit()
        return ids
    finally:
        await engine.dispose()


async def _after(url: str, post_id: int) -> tuple[list[tuple[int, str, bool]], bool]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(SafetyReview.id, SafetyReview.kind, SafetyReview.resolved_at.is_(None))
                .where(SafetyReview.post_id == post_id)
                .order_by(SafetyReview.id)
            )
            kept = [tuple(r) for r in rows.all()]
            refused = False
            try:
                await conn.execute(
                    text(
                        "INSERT INTO safety_reviews (post_id, kind, priority, detail, created_at)"
                        " VALUES (:p, 'crisis', 0, '', CURRENT_TIMESTAMP)"
                    ),
                    {"p": post_id},
                )
            except IntegrityError:
                refused = True
            await conn.rollback()
        return kept, refused
    finally:
        await engine.dispose()


def test_open_duplicates_are_merged_into_the_oldest(tmp_path: Path) -> None:
    url = _database_before(tmp_path)
    try:
        ids = asyncio.run(_scene(url))
        _upgrade(url, "sf4once")
        kept, refused = asyncio.run(_after(url, ids["post"]))
        resolved, oldest_open = ids["crisis"][0], ids["crisis"][1]
        assert sorted(kept) == sorted(
            [
                (resolved, "crisis", False),
                (oldest_open, "crisis", True),
                (ids["info"], "personal_information", True),
            ]
        )
        assert refused
    finally:
        drop_database(url)
