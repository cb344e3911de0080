"""Password reset by e-mail, end to end: the request (the same answer whether or not the
address has an account), the e-mail through the outbox to a real SMTP server, the new
password, every old session and token ended, and a link that works once and expires."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.accounts.models import PasswordReset, User
from app.db import utcnow
from app.email.models import OutboxMessage
from tests.core.test_every_template_renders import Pages
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    drain,
    make_worker,
    settings_fixture,
    smtp_fixture,
)

NEW_PASSWORD = "a brand new passphrase"


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


async def test_reset_by_email_ends_every_session_and_the_link_works_once(
    app: Any, make_user: Any, make_client: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("forgetful_fay")
    laptop, phone = await make_client(member), await make_client(member)
    r = await laptop.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": "forgetful_fay", "password": "correct horse battery"},
    )
    api_token = r.json()["access_token"]
    worker = make_worker(app)
    await drain(worker)  # the verification e-mail from registration
    smtp.mailbox.clear()

    visitor = await make_client()
    form = await visitor.get("/forgot-password")
    assert form.status_code == 200 and 'action="/forgot-password"' in form.text
    known = await visitor.form("/forgot-password", {"email": member.email.upper()})
    unknown = await visitor.form("/forgot-password", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known.text) == without_tokens(unknown.text)
    assert "If an account uses that address" in known.text
    api_known = await visitor.api(
        "POST", "/api/v1/auth/password-reset", json={"email": member.email}
    )
    api_unknown = await visitor.api(
        "POST", "/api/v1/auth/password-reset", json={"email": "x@example.org"}
    )
    assert api_known.status_code == api_unknown.status_code == 202
    assert api_known.json() == api_unknown.json()

    await drain(worker)
    first, second = smtp.mailbox.to(member.email)
    assert first.message["Subject"] == "Reset your Kindred password"
    assert "List-Unsubscribe" not in first.message  # an account e-mail, not a notification
    path = first.link("/reset-password/")
    token = path.rsplit("/", 1)[1]
    # the link's secret is stored nowhere: not in the outbox, not in the reset rows
    rows = (await session.scalars(select(OutboxMessage))).all()
    assert all(token not in (r.payload or "") for r in rows)
    resets = (await session.scalars(select(PasswordReset))).all()
    assert len(resets) == 2 and all(token not in (r.nonce, r.token_hash) for r in resets)

    page = await visitor.get(path)
    assert page.status_code == 200 and 'name="new_password"' in page.text
    Pages().check(path, page.text)  # what every page must satisfy (one h1, no inline JS...)
    short = await visitor.form(path, {"new_password": "short"})
    assert short.status_code == 422  # nothing spent: the member can try again
    done = await visitor.form(path, {"new_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/login?notice=password-reset"

    # every session and API token of the member has ended
    assert (await laptop.get("/api/v1/me")).status_code == 401
    assert (await phone.get("/api/v1/me")).status_code == 401
    bearer = await visitor.get("/api/v1/me", headers={"authorization": f"Bearer {api_token}"})
    assert bearer.status_code == 401
    # the new password works, the old one does not
    login = await visitor.form("/login", {"username": "forgetful_fay", "password": NEW_PASSWORD})
    assert login.status_code == 303
    old = await (await make_client()).form(
        "/login", {"username": "forgetful_fay", "password": "correct horse battery"}
    )
    assert old.status_code == 401
    # the link is spent, and so is the other one sent the same hour
    again = await (await make_client()).form(path, {"new_password": "yet another one!"})
    assert again.status_code == 400 and "already been used" in again.text
    other = second.link("/reset-password/")
    r = await (await make_client()).api(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        json={"token": other.rsplit("/", 1)[1], "new_password": "yet another one!"},
    )
    assert r.status_code == 400 and r.json()["code"] == "reset_token_invalid"
    # receiving the link proved the address
    verified = await session.scalar(select(User.email_verified_at).where(User.id == member.id))
    assert verified is not None


async def test_an_expired_reset_link_is_refused(
    app: Any, make_user: Any, make_client: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("late_larry")
    visitor = await make_client()
    r = await visitor.api("POST", "/api/v1/auth/password-reset", json={"email": member.email})
    assert r.status_code == 202
    await drain(make_worker(app))
    mail = next(m for m in smtp.mailbox.to(member.email) if "Reset" in m.message["Subject"])
    path = mail.link("/reset-password/")
    reset = (await session.scalars(select(PasswordReset))).one()
    assert reset.expires_at - reset.created_at <= timedelta(hours=1)
    await session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    await session.commit()
    page = await visitor.get(path)
    assert page.status_code == 400 and "expired" in page.text
    post = await visitor.form(path, {"new_password": NEW_PASSWORD})
    assert post.status_code == 400
    login = await visitor.form("/login", {"username": "late_larry", "password": NEW_PASSWORD})
    assert login.status_code == 401


async def test_reset_links_that_were_never_issued_are_refused(app: Any, make_client: Any) -> None:
    visitor = await make_client()
    for token in ["0" * 40, "not-a-token", "a" * 200]:
        assert (await visitor.get(f"/reset-password/{token}")).status_code == 400
        r = await visitor.api(
            "POST",
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 400, r.text


async def test_an_address_gets_at_most_three_reset_emails_an_hour(
    app: Any, make_user: Any, make_client: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("spammed_sue")
    visitor = await make_client()
    for _ in range(5):
        r = await visitor.api("POST", "/api/v1/auth/password-reset", json={"email": member.email})
        assert r.status_code == 202
    assert len((await session.scalars(select(PasswordReset))).all()) == 3
