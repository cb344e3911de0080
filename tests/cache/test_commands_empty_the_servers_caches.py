"""A command that writes (`kindred library import`, run as its own process) moves the
host's shared change counter, so every server process empties its page cache."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from app.cache.shared import SharedVersion
from app.db import Database
from app.demo.library import PAGE_FILES
from app.groups.service import create_group
from tests.conftest import ROOT, drop_database, fresh_database_url


async def _groups(url: str) -> None:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            for slug in ("blood-cancers-disorders", "childrens-health"):
                await create_group(s, slug=slug, name=slug, description="")
            await s.commit()
    finally:
        await db.dispose()


def test_library_import_moves_the_shared_counter(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "command")
    try:
        asyncio.run(_groups(url))
        var_dir = tmp_path / "var"
        version = SharedVersion(var_dir)
        before = version.value
        env = {
            **os.environ,
            "KINDRED_ENV": "test",
            "KINDRED_DATABASE_URL": url,
            "KINDRED_VAR_DIR": str(var_dir),
            "KINDRED_PAGE_CACHE_FANOUT": "local",
        }
        kindred = str(Path(sys.executable).parent / "kindred")
        command = [kindred, "library", "import", str(PAGE_FILES[0])]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        assert version.value > before
        # a dry run writes nothing, and moves nothing
        moved = version.value
        done = subprocess.run(
            [*command, "--dry-run"], cwd=ROOT, env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
        assert version.value == moved
        version.close()
    finally:
        drop_database(url)
