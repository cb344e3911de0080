"""Rate limits that are fair and cannot be dodged (issue 10, hole 6).

- The client address comes from X-Forwarded-For only when the peer is a trusted proxy.
- Sign-in is limited per account (name and e-mail share one budget) and per address;
  successful sign-ins use none of it.
- Registration counts registrations accepted, not refused forms.
- On an HTML form a 429 re-renders the form with the message and what was typed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.cli import cli  # noqa: F401 (imported for the serve check below)
from app.main import create_app
from tests.conftest import Client, TestDatabase, settings_for_tests, sign_in

PASSWORD = "correct horse battery"


def limited_app(tmp_path: Any, sessionmaker: Any, database_url: str, **overrides: Any) -> Any:
    settings = settings_for_tests(
        tmp_path, database_url, rate_limits_enabled=True, uniform_answer_seconds=0, **overrides
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    return create_app(settings, database=db)  # type: ignore[arg-type]


@pytest.fixture
async def clients() -> Any:
    made: list[Client] = []

    async def make(app: Any, peer: str = "198.51.100.7", user: Any = None) -> Client:
        transport = httpx.ASGITransport(app=app, client=(peer, 50000))
        c = Client(transport=transport, base_url="http://testserver")
        made.append(c)
        if user is not None:
            await sign_in(app, c, user)
        else:
            r = await c.get("/login")
            c.csrf = app.state.signer.sign("csrf", r.cookies.get("kindred_anon") or "")
        return c

    yield make
    for c in made:
        await c.aclose()


async def token(c: Client, login: str, password: str, **headers: str) -> httpx.Response:
    return await c.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": login, "password": password},
        headers=headers,
    )


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any, member: Any
) -> None:
    # no trusted proxy (the default): a spoofed header is ignored, one bucket per peer
    app = limited_app(tmp_path, sessionmaker, database_url, rate_limit_login_ip="2/hour")
    c = await clients(app, peer="127.0.0.1")
    answers = [
        (await token(c, f"ghost{n}", "nope nope", **{"X-Forwarded-For": f"203.0.113.{n}"}))
        for n in range(3)
    ]
    assert [r.status_code for r in answers] == [401, 401, 429]

    # behind a trusted proxy: the address it forwards is the client
    app = limited_app(
        tmp_path,
        sessionmaker,
        database_url,
        rate_limit_login_ip="2/hour",
        trusted_proxies="10.0.0.0/8, 127.0.0.1",
    )
    proxy = await clients(app, peer="127.0.0.1")
    for n in range(3):  # three clients, each with its own budget
        r = await token(proxy, f"ghost{n}", "nope nope", **{"X-Forwarded-For": f"203.0.113.{n}"})
        assert r.status_code == 401
    # the left end is whatever the client wrote: the nearest untrusted hop counts
    for _ in range(2):
        r = await token(
            proxy, "ghost", "nope nope", **{"X-Forwarded-For": "1.2.3.4, 203.0.113.50, 10.1.1.1"}
        )
        assert r.status_code == 401
    r = await token(
        proxy, "ghost", "nope nope", **{"X-Forwarded-For": "9.9.9.9, 203.0.113.50, 10.1.1.1"}
    )
    assert r.status_code == 429
    # a peer that is not a trusted proxy cannot choose its address
    direct = await clients(app, peer="198.51.100.9")
    for n in range(2):
        r = await token(direct, "ghost", "nope nope", **{"X-Forwarded-For": f"203.0.113.{n}"})
        assert r.status_code == 401
    r = await token(direct, "ghost", "nope nope", **{"X-Forwarded-For": "203.0.113.77"})
    assert r.status_code == 429


def test_uvicorn_is_told_to_believe_no_forwarded_headers() -> None:
    import inspect

    from app import cli as cli_module

    source = inspect.getsource(cli_module.serve)
    assert "proxy_headers=False" in source and 'forwarded_allow_ips=""' in source


async def test_sign_in_budget_is_per_account_and_successes_use_none(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any, member: Any
) -> None:
    app = limited_app(
        tmp_path,
        sessionmaker,
        database_url,
        rate_limit_login_user="3/hour",
        rate_limit_login_ip="100/hour",
    )
    c = await clients(app)
    for _ in range(10):  # a member who signs in often never locks themselves out
        assert (await token(c, member.username, PASSWORD)).status_code == 201
    # name and e-mail address are one account, one budget
    assert (await token(c, member.username, "nope nope")).status_code == 401
    assert (await token(c, member.email, "nope nope")).status_code == 401
    assert (await token(c, member.username.upper(), "nope nope")).status_code == 401
    other_address = await clients(app, peer="198.51.100.99")
    r = await token(other_address, member.email, PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_sign_in_budget_per_address(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any, make_user: Any
) -> None:
    app = limited_app(
        tmp_path,
        sessionmaker,
        database_url,
        rate_limit_login_ip="3/hour",
        rate_limit_login_user="50/hour",
    )
    c = await clients(app)
    for n in range(3):
        assert (await token(c, f"someone{n}", "nope nope")).status_code == 401
    assert (await token(c, "someone_else", "nope nope")).status_code == 429
    elsewhere = await clients(app, peer="198.51.100.200")
    assert (await token(elsewhere, "someone_else", "nope nope")).status_code == 401


async def test_refused_registration_forms_use_no_budget(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any
) -> None:
    app = limited_app(tmp_path, sessionmaker, database_url, rate_limit_register_ip="2/hour")
    c = await clients(app)
    for _ in range(6):  # typos: a short password, a weak one, a bad name
        for bad in (
            {"username": "newcomer", "email": "n@example.org", "password": "short"},
            {"username": "newcomer", "email": "n@example.org", "password": "password1"},
            {"username": "x", "email": "n@example.org", "password": "lantern orchard pebble"},
        ):
            assert (await c.api("POST", "/api/v1/auth/register", json=bad)).status_code == 422
    for n in range(2):
        r = await c.api(
            "POST",
            "/api/v1/auth/register",
            json={
                "username": f"newcomer{n}",
                "email": f"n{n}@example.org",
                "password": "lantern orchard pebble",
            },
        )
        assert r.status_code == 202
    r = await c.form(
        "/register",
        {
            "username": "third_try",
            "email": "third@example.org",
            "password": "lantern orchard pebble",
        },
    )
    # the form again, with the message and what was typed (not the password)
    assert r.status_code == 429 and "Too many new accounts" in r.text
    assert 'value="third_try"' in r.text and 'value="third@example.org"' in r.text
    assert "lantern orchard" not in r.text
    assert 'name="csrf_token"' in r.text


async def test_a_refused_sign_in_form_shows_the_form_again(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any, member: Any
) -> None:
    app = limited_app(tmp_path, sessionmaker, database_url, rate_limit_login_user="1/hour")
    c = await clients(app)
    r = await c.form("/login", {"username": member.username, "password": "nope nope"})
    assert r.status_code == 401
    r = await c.form("/login", {"username": member.username, "password": PASSWORD})
    assert r.status_code == 429 and "retry-after" in r.headers
    assert "Too many sign-in attempts for this account" in r.text
    assert f'value="{member.username}"' in r.text and 'action="/login"' in r.text


async def test_edits_and_the_mention_page_are_limited_like_posts(
    tmp_path: Any, sessionmaker: Any, database_url: str, clients: Any, member: Any, group: Any
) -> None:
    app = limited_app(
        tmp_path,
        sessionmaker,
        database_url,
        rate_limit_edit_user="2/minute",
        rate_limit_render_user="2/minute",
        rate_limit_post_user="100/minute",
    )
    c = await clients(app, user=member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Limits", "body": "hello @nobody_by_this_name"},
        )
    ).json()
    reply = await c.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "hi @nobody_by_name"}
    )
    post_id = reply.json()["id"]
    for n in range(2):
        r = await c.api("PATCH", f"/api/v1/posts/{post_id}", json={"body": f"v{n} @nobody_x"})
        assert r.status_code == 200, r.text
    r = await c.api("PATCH", f"/api/v1/posts/{post_id}", json={"body": "v3"})
    assert r.status_code == 429 and "editing very quickly" in r.json()["detail"]
    for _ in range(2):
        assert (await c.get(f"/posts/{post_id}/mentions")).status_code == 200
    r = await c.get(f"/posts/{post_id}/mentions")
    assert r.status_code == 429
