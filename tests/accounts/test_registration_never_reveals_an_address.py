"""Registration never tells whether an address has an account (issue 10, hole 2).

A taken address is answered as a new one: the same status and words (but for the address
typed), the same work (one password hash, the same statements) and the same time; its
owner gets "someone tried to register with your address" through the outbox, and the new
address gets the link that creates the account. Password reset answers in the same time
too.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from sqlalchemy import select

from app.accounts.models import PendingRegistration, User
from tests.accounts.registration_support import link_token
from tests.core.test_every_template_renders import Pages
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    drain,
    make_worker,
    outbox_rows,
    settings_fixture,
    smtp_fixture,
)

PASSWORD = "lantern orchard pebble"


def hashing_counter(app: Any) -> list[str]:
    calls: list[str] = []
    hasher = app.state.hasher
    original = hasher.hash

    async def counting(password: str) -> str:
        calls.append("hash")
        return await original(password)

    hasher.hash = counting
    return calls


async def test_a_taken_address_is_answered_exactly_as_a_new_one(
    app: Any, make_client: Any, make_user: Any, count_queries: Any
) -> None:
    owner = await make_user("known_kim")
    hashes = hashing_counter(app)
    visitor = await make_client()
    answers = []
    for name, email in (("probe_one", owner.email), ("probe_two", "nobody.yet@example.org")):
        with count_queries() as statements:
            r = await visitor.api(
                "POST",
                "/api/v1/auth/register",
                json={"username": name, "email": email, "password": PASSWORD},
            )
        answers.append((r.status_code, r.json()["detail"].replace(email, "ADDRESS"), statements))
    (taken_status, taken_body, taken_sql), (new_status, new_body, new_sql) = answers
    assert taken_status == new_status == 202
    assert taken_body == new_body and "ADDRESS" in taken_body
    assert hashes == ["hash", "hash"]  # the same password work on both paths
    assert len(taken_sql) == len(new_sql)

    # the HTML form: the same page
    pages = []
    for name, email in (("probe_three", owner.email), ("probe_four", "other.new@example.org")):
        r = await visitor.form(
            "/register", {"username": name, "email": email, "password": PASSWORD}
        )
        pages.append((r.status_code, r.text.replace(email, "ADDRESS").replace(name, "NAME")))
    assert pages[0][0] == pages[1][0] == 200
    assert "Check your e-mail" in pages[0][1]
    Pages().check("/register", pages[0][1])


async def test_the_owner_is_told_and_the_new_address_gets_the_link(
    app: Any, make_client: Any, make_user: Any, smtp: SmtpServer, session: Any
) -> None:
    owner = await make_user("known_kara")
    visitor = await make_client()
    for name, email in (("taker", owner.email), ("newcomer", "newcomer@example.org")):
        r = await visitor.form(
            "/register", {"username": name, "email": email, "password": PASSWORD}
        )
        assert r.status_code == 200
    await drain(make_worker(app))

    [notice] = [
        m
        for m in smtp.mailbox.to(owner.email)
        if "Someone tried to register with your address" in m.message["Subject"]
    ]
    assert "No account was created" in notice.text and "/register/confirm" not in notice.text
    assert await session.scalar(select(User).where(User.username_key == "taker")) is None

    [mail] = smtp.mailbox.to("newcomer@example.org")
    path = mail.link("/register/confirm/")
    assert await session.scalar(select(User).where(User.username_key == "newcomer")) is None
    page = await visitor.get(path)  # a mail scanner fetching the link creates nothing
    assert page.status_code == 200 and "newcomer" in page.text
    Pages().check(path, page.text)
    assert await session.scalar(select(User).where(User.username_key == "newcomer")) is None
    done = await visitor.form(path)
    assert done.status_code == 303 and done.headers["location"] == "/?notice=welcome"
    assert "kindred_session" in done.cookies
    user = await session.scalar(select(User).where(User.username_key == "newcomer"))
    assert user is not None and user.email_verified_at is not None
    assert user.password_hash.startswith("$argon2id$")
    again = await (await make_client()).form(path)  # the link works once
    assert again.status_code == 400


async def test_a_held_name_answers_alike_whatever_the_address(
    app: Any, make_client: Any, make_user: Any
) -> None:
    """Trying the same name twice cannot tell the two cases apart: the pending
    registration holds the name whether or not its address was taken."""
    owner = await make_user("known_kai")
    visitor = await make_client()
    for name, email in (("held_a", owner.email), ("held_b", "held.b@example.org")):
        first = await visitor.api(
            "POST",
            "/api/v1/auth/register",
            json={"username": name, "email": email, "password": PASSWORD},
        )
        assert first.status_code == 202
        second = await visitor.api(
            "POST",
            "/api/v1/auth/register",
            json={"username": name, "email": "third@example.org", "password": PASSWORD},
        )
        assert second.status_code == 409 and second.json()["code"] == "username_taken"


async def test_the_api_link_creates_the_account(app: Any, make_client: Any) -> None:
    visitor = await make_client()
    r = await visitor.api(
        "POST",
        "/api/v1/auth/register",
        json={"username": "api_amy", "email": "amy@example.org", "password": PASSWORD},
    )
    assert r.status_code == 202
    rows = await outbox_rows(app, category="register_confirm")
    assert [row.to_address for row in rows] == ["amy@example.org"]
    token = await link_token(app, "api_amy")
    done = await visitor.api("POST", "/api/v1/auth/register/confirm", json={"token": token})
    assert done.status_code == 201 and done.json()["username"] == "api_amy"
    bad = await visitor.api("POST", "/api/v1/auth/register/confirm", json={"token": "0" * 40})
    assert bad.status_code == 400 and bad.json()["code"] == "registration_link_invalid"
    async with app.state.db.sessionmaker() as s:
        assert await s.scalar(select(PendingRegistration.id)) is None


async def _timed(client: Any, path: str, payload: dict[str, str]) -> float:
    started = time.perf_counter()
    r = await client.api("POST", path, json=payload)
    assert r.status_code in (202, 409), r.text
    return time.perf_counter() - started


async def test_registration_and_reset_take_the_same_time_either_way(
    app: Any, make_client: Any, make_user: Any
) -> None:
    floor = app.state.settings.uniform_answer_seconds
    assert floor >= 0.1
    owner = await make_user("timed_tia")
    visitor = await make_client()
    taken, new = [], []
    for n in range(3):
        taken.append(
            await _timed(
                visitor,
                "/api/v1/auth/password-reset",
                {"email": owner.email},
            )
        )
        new.append(
            await _timed(visitor, "/api/v1/auth/password-reset", {"email": f"no{n}@example.org"})
        )
        taken.append(
            await _timed(
                visitor,
                "/api/v1/auth/register",
                {"username": f"t_taken{n}", "email": owner.email, "password": PASSWORD},
            )
        )
        new.append(
            await _timed(
                visitor,
                "/api/v1/auth/register",
                {"username": f"t_new{n}", "email": f"t{n}@example.org", "password": PASSWORD},
            )
        )
    # every answer waits for the floor, which is far above the work on either path
    assert min(taken + new) >= floor
    assert abs(statistics.median(taken) - statistics.median(new)) < floor / 5
