"""Usernames match the rule in full (issue 10, hole 1): "moderator\\n" is refused, not shown
as "moderator"; look-alikes of reserved names stay refused; accounts made before are
renamed by migration a10accounts, and `kindred users check-names` reports (or renames) any
found later."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.db import make_engine
from tests.conftest import PG_URL, ROOT, _pg_admin, drop_database, fresh_database_url

PASSWORD = "lantern orchard pebble"


@pytest.mark.parametrize(
    "name",
    [
        "moderator\n",
        "admin\n",
        "sonia85\n",
        "sonia85\r\n",
        "m0derator",
        "Admin_",
        "ADM1N",
        "s.t.a.f.f",
        "m\u043ederator",  # a Cyrillic o
        "\u0430dmin",  # a Cyrillic a
    ],
)
async def test_names_with_a_final_newline_or_that_look_like_reserved_ones_are_refused(
    client: Any, name: str
) -> None:
    r = await client.api(
        "POST",
        "/api/v1/auth/register",
        json={"username": name, "email": "someone@example.org", "password": PASSWORD},
    )
    assert r.status_code == 422, (name, r.text)
    assert "username" in r.json()["detail"]


@pytest.mark.parametrize("name", ["sonia85", "mod_colleen", "siteadmin", "dr.kim", "ada-lovelace"])
async def test_ordinary_names_still_pass(client: Any, name: str) -> None:
    r = await client.api(
        "POST",
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
    )
    assert r.status_code == 202, r.text


def _database_at(tmp_path: Path, revision: str) -> str:
    if PG_URL:
        name = f"kindred_names_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'names.db'}"
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, revision)
    return url


def _sql(url: str, statement: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(url)
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            rows = list(result.all()) if result.returns_rows else []
        await engine.dispose()
        return rows

    return asyncio.run(run())


def _add_account(url: str, account_id: int, name: str) -> None:
    _sql(
        url,
        "INSERT INTO users (id, username, username_key, email, email_key, password_hash, role,"
        " bio, post_count, created_at, password_changed_at, suspension_reason, auto_follow)"
        " VALUES (:id, :name, :key, :email, :email, 'x', 'member', '', 0, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP, '', true)",
        id=account_id,
        name=name,
        key=name.lower(),
        email=f"u{account_id}@example.org",
    )


def test_the_migration_renames_accounts_whose_names_no_longer_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _database_at(tmp_path, "a10accounts-1")  # the revision before the renaming
    try:
        for account_id, name in enumerate(
            ["sonia85", "sonia85\n", "moderator\n", "plain_pat\n", "fine_name"], start=1
        ):
            _add_account(url, account_id, name)
        cfg = Config(str(ROOT / "alembic.ini"))
        cfg.attributes["database_url"] = url
        command.upgrade(cfg, "a10accounts")
        names = dict(_sql(url, "SELECT id, username FROM users ORDER BY id"))
        assert names == {
            1: "sonia85",
            2: "member-2",  # "sonia85" is somebody else's
            3: "member-3",  # "moderator" is reserved
            4: "plain_pat",  # the name shown before, free and fine
            5: "fine_name",
        }
        keys = [k for (k,) in _sql(url, "SELECT username_key FROM users ORDER BY id")]
        assert keys == ["sonia85", "member-2", "member-3", "plain_pat", "fine_name"]
        printed = capsys.readouterr().out
        assert "renamed account #3 from 'moderator\\n' to 'member-3'" in printed
        assert printed.count("a10accounts: renamed") == 3
    finally:
        drop_database(url)


def test_check_names_reports_and_fixes_later_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url(tmp_path, "checknames")
    monkeypatch.setenv("KINDRED_DATABASE_URL", url)
    monkeypatch.setenv("KINDRED_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KINDRED_ENV", "test")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["users", "check-names"]).exit_code == 0
        _add_account(url, 41, "adm1n")  # written past the rule (say, by hand in SQL)
        report = runner.invoke(cli, ["users", "check-names"])
        assert report.exit_code == 1 and "'adm1n'" in report.output and "member-41" in report.output
        assert dict(_sql(url, "SELECT id, username FROM users"))[41] == "adm1n"
        fixed = runner.invoke(cli, ["users", "check-names", "--fix"])
        assert fixed.exit_code == 0, fixed.output
        assert dict(_sql(url, "SELECT id, username FROM users"))[41] == "member-41"
        assert runner.invoke(cli, ["users", "check-names"]).exit_code == 0
    finally:
        get_settings.cache_clear()
        drop_database(url)
