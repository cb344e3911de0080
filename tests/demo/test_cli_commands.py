"""The `kindred` command, run as a newcomer would (synchronous tests: the CLI runs its own
event loop)."""

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.accounts.models import User
from app.cli import cli
from app.config import get_settings
from app.db import Database
from tests.conftest import drop_database, fresh_database_url


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = fresh_database_url(tmp_path, "cli")
    monkeypatch.setenv("KINDRED_DATABASE_URL", url)
    monkeypatch.setenv("KINDRED_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KINDRED_ENV", "test")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    drop_database(url)


def roles(url: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        db = Database(url)
        async with db.sessionmaker() as s:
            rows = (await s.execute(select(User.username, User.role))).all()
        await db.dispose()
        return dict(rows)

    return asyncio.run(read())


def test_users_create_and_set_role(cli_env):
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "users",
            "create",
            "nurse_jo",
            "jo@example.org",
            "--role",
            "mentor",
            "--password",
            "long enough pw",
        ],
    )
    assert r.exit_code == 0, r.output
    assert roles(cli_env)["nurse_jo"] == "mentor"
    r = runner.invoke(cli, ["users", "set-role", "NURSE_JO", "moderator"])
    assert r.exit_code == 0, r.output
    assert roles(cli_env)["nurse_jo"] == "moderator"
    r = runner.invoke(cli, ["users", "set-role", "ghost", "admin"])
    assert r.exit_code == 1 and "no member" in r.output
    r = runner.invoke(
        cli, ["users", "create", "admin", "a@example.org", "--password", "long pw 123"]
    )
    assert r.exit_code == 2 and "reserved" in r.output


def test_demo_prints_accounts_and_is_idempotent(cli_env):
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "colleenyoung" in first.output and "kindred-demo-2026" in first.output
    second = runner.invoke(cli, ["demo"])
    assert second.exit_code == 0, second.output
    assert roles(cli_env) == {
        "newsnetwork": "moderator",
        "colleenyoung": "moderator",
        "johnbishop": "mentor",
        "hopeful33250": "mentor",
        "dsm": "member",
        "sonia85": "member",
        "siteadmin": "admin",
    }
