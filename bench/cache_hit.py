"""The page cache's hit, measured in process: the raw ASGI callable `create_app` builds,
called with a prepared scope for a visitor's discussion page that is in the cache, against
a bare Starlette app answering the same bytes through the same call. No server, no
sockets: what the hit costs in Python, per request.

    .venv/bin/python -m bench.cache_hit            # a small SQLite database in a temp dir
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


async def _seed(url: str) -> tuple[str, str]:
    from sqlalchemy import text

    from app.accounts import service as accounts
    from app.core.security import PasswordHasher
    from app.db import Database
    from app.discussions import posting
    from app.groups.service import create_group

    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            await s.execute(text("UPDATE site_settings SET hold_first_posts = 0"))
            group = await create_group(s, slug="bench", name="Bench", description="")
            user = await accounts.register(
                s,
                PasswordHasher(fast=True),
                username="bench_author",
                email="bench@example.org",
                password="correct horse battery",
            )
            started = await posting.start_discussion(
                s, author=user, group=group, title="A bench discussion", body="The question " * 40
            )
            for n in range(20):
                await posting.reply(
                    s, author=user, discussion=started.discussion, body=f"Reply {n} " * 60
                )
            await s.commit()
            from app.core.urls import discussion_url

            return discussion_url(started.discussion.id, started.discussion.slug), "bench"
    finally:
        await db.dispose()


async def _call(app: Any, scope: dict[str, Any]) -> bytes:
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(dict(scope), receive, send)
    return b"".join(body)


async def _per_call(app: Any, scope: dict[str, Any], n: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per call, the median of five rounds."""
    walls, cpus = [], []
    for _ in range(5):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            await _call(app, scope)
        walls.append((time.perf_counter() - w0) / n * 1e6)
        cpus.append((time.process_time() - c0) / n * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def migrated_database() -> tuple[Path, str]:
    from alembic import command
    from alembic.config import Config

    tmp = Path(tempfile.mkdtemp(prefix="kindred-cache-bench-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    cfg = Config(str(Path(__file__).resolve().parents[1] / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")  # runs its own event loop
    return tmp, url


async def main(tmp: Path, url: str, n: int = 20_000) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from app.config import Settings
    from app.main import create_app

    page, _slug = await _seed(url)
    settings = Settings(
        env="production",
        database_url=url,
        var_dir=tmp,
        secret_key="bench-" + "k" * 40,
        email_worker_in_process=False,
    )
    app = create_app(settings)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": page,
        "raw_path": page.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"wrk"),
            (b"accept", b"text/html"),
            (b"accept-encoding", b"gzip, deflate, br"),  # a browser's: the kept gzip bytes
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    body = await _call(app, scope)  # the miss that fills the entry
    assert app.state.page_cache.store.get(page) is not None, "the page was not kept"

    async def bare(_request: Any) -> Response:
        return Response(
            body, media_type="text/html; charset=utf-8", headers={"content-encoding": "gzip"}
        )

    ceiling = Starlette(routes=[Route(page, bare)])
    await _call(ceiling, scope)
    miss_app = create_app(settings.model_copy(update={"page_cache_entries": 0}))
    hit_wall, hit_cpu = await _per_call(app, scope, n)
    bare_wall, bare_cpu = await _per_call(ceiling, scope, n)
    miss_wall, miss_cpu = await _per_call(miss_app, scope, max(200, n // 100))
    print(f"page {page}: {len(body):,} bytes")
    print(f"{'':28}{'wall µs':>10}{'CPU µs':>10}{'calls/s (CPU)':>16}")
    for name, wall, cpu in (
        ("cache hit (create_app)", hit_wall, hit_cpu),
        ("bare Starlette, same bytes", bare_wall, bare_cpu),
        ("cache off (rendered)", miss_wall, miss_cpu),
    ):
        print(f"{name:28}{wall:10.1f}{cpu:10.1f}{1e6 / cpu:16,.0f}")
    print(f"hit / bare Starlette CPU: {hit_cpu / bare_cpu:.2f}x")
    await app.state.db.dispose()
    await miss_app.state.db.dispose()


if __name__ == "__main__":
    asyncio.run(main(*migrated_database()))
