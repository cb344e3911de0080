"""`kindred users set-role` goes through the moderation verb: the change is in the audit log,
named as the command line (synchronous test: the CLI runs its own event loop)."""

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.accounts.models import User
from app.cli import cli
from app.config import get_settings
from app.db import Database
from app.moderation.models import AuditEntry
from tests.conftest import drop_database, fresh_database_url


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = fresh_database_url(tmp_path, "cli_roles")
    monkeypatch.setenv("KINDRED_DATABASE_URL", url)
    monkeypatch.setenv("KINDRED_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KINDRED_ENV", "test")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    drop_database(url)


def read(url: str) -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
    async def go() -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
        db = Database(url)
        async with db.sessionmaker() as s:
            roles = dict((await s.execute(select(User.username, User.role))).all())
            entries = (
                await s.execute(
                    select(
                        AuditEntry.actor_name,
                        AuditEntry.action,
                        AuditEntry.target_label,
                        AuditEntry.reason,
                    ).order_by(AuditEntry.id)
                )
            ).all()
        await db.dispose()
        return roles, [tuple(e) for e in entries]  # type: ignore[misc]

    return asyncio.run(go())


def test_set_role_from_the_command_line_is_audited(cli_env):
    runner = CliRunner()
    r = runner.invoke(
        cli, ["users", "create", "nurse_jo", "jo@example.org", "--password", "long enough pw"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, ["users", "set-role", "nurse_jo", "moderator", "--reason", "joined the team"]
    )
    assert r.exit_code == 0 and "now moderator" in r.output, r.output
    roles, entries = read(cli_env)
    assert roles["nurse_jo"] == "moderator"
    assert entries == [
        (
            "Kindred (command line)",
            "set_role",
            "nurse_jo: member \u2192 moderator",
            "joined the team",
        )
    ]
    # the same role again changes nothing and writes nothing
    r = runner.invoke(cli, ["users", "set-role", "nurse_jo", "moderator"])
    assert r.exit_code == 0 and "already given a new role by Kindred (command line)" in r.output, (
        r.output
    )
    assert len(read(cli_env)[1]) == 1
    r = runner.invoke(cli, ["users", "set-role", "ghost", "admin"])
    assert r.exit_code == 1 and "no member" in r.output
