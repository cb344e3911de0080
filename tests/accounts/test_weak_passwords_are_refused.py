"""Weak passwords are refused with zxcvbn's advice (issue 10, hole 3): at registration,
password change and reset; so is a password containing the username or the e-mail
address. Wrong current passwords are rate limited."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from zxcvbn import zxcvbn

from app.accounts.passwords import MIN_SCORE, password_problem
from app.main import create_app
from tests.conftest import Client, TestDatabase, settings_for_tests, sign_in


def test_the_test_and_demo_passwords_are_strong_enough() -> None:
    from app.demo.seed import DEMO_PASSWORD

    for password in ("correct horse battery", DEMO_PASSWORD):
        assert zxcvbn(password)["score"] >= MIN_SCORE
        assert password_problem(password, username="dsm", email="dsm@example.org") is None


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("password", "top-10 common password"),
        ("12345678", "top-10 common password"),
        ("zxcvbnm,./", "Straight rows of keys"),
        ("tricky_tom_1", "username"),
        ("my tom.tricky@example.org!", "e-mail"),
    ],
)
async def test_registration_refuses_weak_passwords_with_advice(
    client: Any, password: str, says: str
) -> None:
    r = await client.api(
        "POST",
        "/api/v1/auth/register",
        json={"username": "tricky_tom", "email": "tom.tricky@example.org", "password": password},
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "password"
    assert says in r.json()["detail"].lower() or says in r.json()["detail"]


async def test_the_registration_form_shows_the_advice(client: Any) -> None:
    await client.get("/register")
    r = await client.form(
        "/register", {"username": "form_fay", "email": "fay@example.org", "password": "password"}
    )
    assert r.status_code == 422 and "This is a top-10 common password." in r.text
    assert 'value="form_fay"' in r.text  # what was typed stays


async def test_password_change_refuses_weak_passwords(make_client: Any, member: Any) -> None:
    c = await make_client(member)
    r = await c.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": "correct horse battery", "new_password": "12345678"},
    )
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    assert "common password" in r.json()["detail"]
    r = await c.api(
        "POST",
        "/api/v1/me/password",
        json={
            "current_password": "correct horse battery",
            "new_password": f"{member.username} rocks on",
        },
    )
    assert r.status_code == 422 and "username" in r.json()["detail"]
    page = await c.form(
        "/settings/password",
        {"current_password": "correct horse battery", "new_password": "password1"},
    )
    assert page.status_code == 422 and "common password" in page.text


async def test_reset_refuses_weak_passwords(app: Any, make_client: Any, member: Any) -> None:
    from sqlalchemy import select

    from app.accounts import email_service
    from app.accounts.models import PasswordReset
    from app.accounts.tokens import reset_token

    async with app.state.db.sessionmaker() as s:
        await email_service.request_password_reset(
            s, app.state.signer, app.state.settings, email=member.email
        )
        await s.commit()
        reset = await s.scalar(select(PasswordReset).where(PasswordReset.user_id == member.id))
    token = reset_token(app.state.signer, reset.nonce)
    c = await make_client()
    r = await c.api(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "iloveyou"},
    )
    assert r.status_code == 422 and "common password" in r.json()["detail"]
    r = await c.api(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "lantern orchard pebble"},
    )
    assert r.status_code == 204  # the link was not spent by the refusal


@pytest.fixture
async def limited(tmp_path: Any, sessionmaker: Any, database_url: str) -> Any:
    settings = settings_for_tests(
        tmp_path, database_url, rate_limits_enabled=True, rate_limit_password_user="3/hour"
    )
    app = create_app(
        settings,
        database=TestDatabase(  # type: ignore[arg-type]
            database_url, sessionmaker, database_url.startswith("sqlite")
        ),
    )
    clients: list[Client] = []

    async def client(user: Any) -> Client:
        c = Client(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        await sign_in(app, c, user)
        return c

    yield client
    for c in clients:
        await c.aclose()


async def test_wrong_current_passwords_are_rate_limited(limited: Any, member: Any) -> None:
    c = await limited(member)
    for _ in range(3):
        r = await c.api(
            "POST",
            "/api/v1/me/password",
            json={"current_password": "guess guess", "new_password": "lantern orchard pebble"},
        )
        assert r.status_code == 422 and r.json()["code"] == "wrong_password"
    r = await c.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": "correct horse battery", "new_password": "lantern orchard"},
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    # the e-mail change shares the budget, and its form re-renders with the message
    page = await c.form(
        "/settings/email-address",
        {"current_password": "correct horse battery", "new_email": "new@example.org"},
    )
    assert page.status_code == 429 and "Too many wrong current passwords" in page.text
    assert 'value="new@example.org"' in page.text


async def test_account_deletion_shares_the_wrong_password_budget(limited: Any, member: Any) -> None:
    c = await limited(member)
    for _ in range(3):
        r = await c.api(
            "DELETE", "/api/v1/me", json={"password": "guess guess", "mode": "anonymize"}
        )
        assert r.status_code == 422 and r.json()["code"] == "wrong_password", r.text
    # the right password now waits too: guessing cannot go on through deletion
    r = await c.api(
        "DELETE", "/api/v1/me", json={"password": "correct horse battery", "mode": "anonymize"}
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    assert (await c.get("/api/v1/me")).status_code == 200
