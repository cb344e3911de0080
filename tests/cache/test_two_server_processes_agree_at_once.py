"""Two real server processes (uvicorn subprocesses) on one database and one var directory:
a reply posted through one is in the visitor's page served by the other at once, with no
wait. On SQLite, and on PostgreSQL when KINDRED_TEST_DATABASE_URL names one (where the
processes also LISTEN for each other)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.accounts import service as accounts
from app.core.security import PasswordHasher, Signer
from app.db import Database
from app.groups.service import create_group
from tests.conftest import ROOT, drop_database, fresh_database_url
from tests.notifications.live_server import free_port

SECRET = "two-processes-" + "s" * 40


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    url = fresh_database_url(tmp_path, "twoproc")
    yield url, tmp_path / "var"
    drop_database(url)


def _start(url: str, var_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KINDRED_ENV": "test",
        "KINDRED_DATABASE_URL": url,
        "KINDRED_VAR_DIR": str(var_dir),
        "KINDRED_SECRET_KEY": SECRET,
        "KINDRED_EMAIL_WORKER_IN_PROCESS": "false",
        "KINDRED_RATE_LIMITS_ENABLED": "false",
        "KINDRED_REDIS_URL": "",
        "KINDRED_PAGE_CACHE_FANOUT": "auto",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(server.stderr.read().decode() if server.stderr else "exited")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


async def _seed(url: str) -> tuple[str, str]:
    """A group and a member with a session; the member's session token and group slug."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            await s.execute(text("UPDATE site_settings SET hold_first_posts = 0"))
            await create_group(s, slug="neutropenia", name="Neutropenia", description="")
            user = await accounts.register(
                s,
                PasswordHasher(fast=True),
                username="poster_two",
                email="poster_two@example.org",
                password="correct horse battery",
            )
            await s.commit()
        async with db.sessionmaker() as s:
            from app.config import Settings

            token = await accounts.start_session(
                s, Settings(env="test", database_url=url, secret_key=SECRET), user=user
            )
            await s.commit()
    finally:
        await db.dispose()
    return token, "neutropenia"


async def test_a_reply_through_one_process_is_in_the_others_page_at_once(
    site: tuple[str, Path],
) -> None:
    url, var_dir = site
    token, slug = await _seed(url)
    ports = [free_port(), free_port()]
    servers = [_start(url, var_dir, port) for port in ports]
    try:
        one, other = (f"http://127.0.0.1:{port}" for port in ports)
        for base, server in zip((one, other), servers, strict=True):
            _wait_up(base, server)
        headers = {"x-csrf-token": Signer(SECRET).sign("csrf", token)}
        cookies = {"kindred_session": token}
        async with (
            httpx.AsyncClient(base_url=one, cookies=cookies, headers=headers) as member,
            httpx.AsyncClient(base_url=other) as visitor,
        ):
            r = await member.post(
                f"/api/v1/groups/{slug}/discussions",
                json={"title": "Counts in winter", "body": "Do yours drop in winter?"},
            )
            assert r.status_code == 201, r.text
            page_url, discussion_id = r.json()["url"], r.json()["id"]
            for n in range(3):
                await _reply_and_read(member, visitor, discussion_id, page_url, f"Reply {n}")
            # and the other way round: written through the second, read from the first
            async with (
                httpx.AsyncClient(base_url=other, cookies=cookies, headers=headers) as member_there,
                httpx.AsyncClient(base_url=one) as visitor_here,
            ):
                await _reply_and_read(
                    member_there, visitor_here, discussion_id, page_url, "From the other side"
                )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)


async def _reply_and_read(
    member: Any, visitor: Any, discussion_id: int, page_url: str, body: str
) -> None:
    first = await visitor.get(page_url)
    second = await visitor.get(page_url)
    assert first.status_code == 200 and second.headers["x-cache"] == "hit"
    assert body not in second.text
    r = await member.post(f"/api/v1/discussions/{discussion_id}/posts", json={"body": body})
    assert r.status_code == 201, r.text
    # at once: no sleep, no retry
    after = await visitor.get(page_url)
    assert after.headers["x-cache"] == "miss" and body in after.text
