"""The security log (issue 10, hole 11): sign-in successes and failures, lockouts,
password and e-mail changes, token creation and revocation, and permission refusals are
structured lines (who, what, when, client address), with no secrets and user text
escaped."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import Client, TestDatabase, settings_for_tests

PASSWORD = "correct horse battery"


@pytest.fixture
def security_lines(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO, logger="kindred.security")

    def lines() -> list[dict[str, Any]]:
        found = []
        for record in caplog.records:
            if record.name == "kindred.security":
                message = record.getMessage()
                assert "\n" not in message and message.isascii()
                found.append(json.loads(message))
        return found

    return lines


def events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == name]


async def test_sign_in_lines_say_who_what_when_and_where(
    client: Any, member: Any, security_lines: Any
) -> None:
    await client.api(
        "POST", "/api/v1/auth/token", json={"username": member.username, "password": "nope nope"}
    )
    await client.api(
        "POST", "/api/v1/auth/token", json={"username": member.email, "password": PASSWORD}
    )
    lines = security_lines()
    [failed] = events(lines, "sign_in_failed")
    [ok] = events(lines, "sign_in")
    for line in (failed, ok):
        assert line["user_id"] == member.id and line["username"] == member.username
        assert line["client"] == "127.0.0.1" and line["at"].endswith("+00:00")
        assert line["path"] == "/api/v1/auth/token"
    [created] = events(lines, "token_created")
    assert created["user_id"] == member.id
    text = json.dumps(lines)
    assert PASSWORD not in text and "nope nope" not in text and "kdr_" not in text


async def test_user_text_is_escaped(client: Any, security_lines: Any) -> None:
    forged = 'ghost\n{"event": "sign_in", "user_id": 1}\u202e'
    await client.api("POST", "/api/v1/auth/token", json={"username": forged, "password": "x"})
    [line] = events(security_lines(), "sign_in_failed")
    assert line["login"] == forged  # kept, but as one escaped JSON string
    assert "user_id" not in line


async def test_changes_and_revocations_are_logged(
    app: Any, make_client: Any, member: Any, security_lines: Any
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        r = await api.post(
            "/api/v1/auth/token",
            json={"username": member.username, "password": PASSWORD, "name": "cli"},
        )
    c = await make_client(member)
    tokens = (await c.get("/api/v1/me/tokens")).json()
    await c.api("DELETE", f"/api/v1/me/tokens/{tokens[0]['id']}")
    await c.api(
        "POST", "/api/v1/me/email", json={"current_password": "wrong!", "new_email": "a@b.org"}
    )
    await c.api(
        "POST", "/api/v1/me/email", json={"current_password": PASSWORD, "new_email": "a@b.org"}
    )
    await c.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "lantern orchard pebble"},
    )
    lines = security_lines()
    assert r.status_code == 201
    for name in (
        "token_created",
        "token_revoked",
        "current_password_wrong",
        "email_change_requested",
        "password_changed",
    ):
        [line] = events(lines, name)
        assert line["user_id"] == member.id, name
        assert line["client"] == "127.0.0.1", name
    assert "lantern orchard" not in json.dumps(lines)


async def test_permission_refusals_are_logged(
    make_client: Any, member: Any, security_lines: Any
) -> None:
    c = await make_client(member)
    r = await c.get("/api/v1/mod/queue")
    assert r.status_code == 403
    [line] = events(security_lines(), "permission_refused")
    assert line["user_id"] == member.id and line["path"] == "/api/v1/mod/queue"


async def test_lockouts_are_logged(
    tmp_path: Any, sessionmaker: Any, database_url: str, member: Any, security_lines: Any
) -> None:
    settings = settings_for_tests(
        tmp_path, database_url, rate_limits_enabled=True, rate_limit_login_user="1/hour"
    )
    app = create_app(
        settings,
        database=TestDatabase(  # type: ignore[arg-type]
            database_url, sessionmaker, database_url.startswith("sqlite")
        ),
    )
    async with Client(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for _ in range(2):
            await c.post(
                "/api/v1/auth/token", json={"username": member.username, "password": "nope"}
            )
    [line] = events(security_lines(), "rate_limited")
    assert line["rule"] == "login_user" and line["client"] == "127.0.0.1"


def test_secrets_cannot_be_logged() -> None:
    from app.core.seclog import security_event

    with pytest.raises(ValueError, match="never holds"):
        security_event("oops", password="hunter2")
