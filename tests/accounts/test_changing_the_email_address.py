"""Changing the e-mail address (issue 10, hole 5): it needs the current password; the new
address gets a confirmation link, the old one a notice; the old address stays in use until
the link is followed. An address another account uses is answered alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from tests.core.test_every_template_renders import Pages
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    drain,
    make_worker,
    outbox_rows,
    settings_fixture,
    smtp_fixture,
)

PASSWORD = "correct horse battery"


async def test_the_new_address_confirms_and_the_old_one_is_told(
    app: Any, make_client: Any, make_user: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("moving_mia")
    old = member.email
    c = await make_client(member)
    r = await c.form(
        "/settings/email-address",
        {"current_password": PASSWORD, "new_email": "mia.new@example.org"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("notice=email-change-sent")
    # until confirmed, the old address is the account's: sign-in and resets use it
    assert (await c.get("/api/v1/me")).json()["email"] == old

    await drain(make_worker(app))
    [notice] = [m for m in smtp.mailbox.to(old) if "change of e-mail" in m.message["Subject"]]
    assert "mia.new@example.org" in notice.text and "change your password" in notice.text
    [mail] = smtp.mailbox.to("mia.new@example.org")
    path = mail.link("/settings/email-address/confirm/")
    page = await c.get(path)  # a page with a button: a link scanner changes nothing
    assert page.status_code == 200
    Pages().check(path, page.text)
    assert (await c.get("/api/v1/me")).json()["email"] == old
    done = await c.form(path)
    assert done.status_code == 303 and done.headers["location"].endswith("notice=email-changed")
    me = (await c.get("/api/v1/me")).json()
    assert me["email"] == "mia.new@example.org"
    user = await session.scalar(select(User).where(User.id == member.id))
    assert user is not None
    await session.refresh(user)
    assert user.email_key == "mia.new@example.org" and user.email_verified_at is not None
    # the link is spent: the address it was made for has changed
    assert (await c.form(path)).status_code == 400
    # the new address signs in
    r = await (await make_client()).api(
        "POST", "/api/v1/auth/token", json={"username": "mia.new@example.org", "password": PASSWORD}
    )
    assert r.status_code == 201


async def test_it_needs_the_current_password(make_client: Any, member: Any) -> None:
    c = await make_client(member)
    r = await c.api(
        "POST",
        "/api/v1/me/email",
        json={"current_password": "not it at all", "new_email": "x@example.org"},
    )
    assert r.status_code == 422 and r.json()["code"] == "wrong_password"
    page = await c.form(
        "/settings/email-address", {"current_password": "nope", "new_email": "x@example.org"}
    )
    assert page.status_code == 422 and "current password is not right" in page.text
    assert 'value="x@example.org"' in page.text


async def test_a_taken_address_is_answered_alike_and_its_owner_told(
    app: Any, make_client: Any, make_user: Any
) -> None:
    owner = await make_user("address_owner")
    mover = await make_user("mover_max")
    c = await make_client(mover)
    answers = []
    for email in (owner.email, "free.address@example.org"):
        r = await c.api(
            "POST", "/api/v1/me/email", json={"current_password": PASSWORD, "new_email": email}
        )
        answers.append((r.status_code, r.json()["detail"].replace(email, "ADDRESS")))
    assert answers[0] == answers[1] and answers[0][0] == 202
    told = await outbox_rows(app, user_id=owner.id, category="register_taken")
    assert len(told) == 1 and told[0].to_address == owner.email
    links = await outbox_rows(app, category="email_change")
    assert [row.to_address for row in links] == ["free.address@example.org"]


async def test_altered_links_are_refused(app: Any, make_client: Any, member: Any) -> None:
    from app.accounts.email_change import change_token
    from app.db import utcnow

    now = int(utcnow().timestamp())
    good = change_token(
        app.state.signer,
        user_id=member.id,
        new_email="mine@example.org",
        current_email_key=member.email_key,
        issued=now,
    )
    other = change_token(
        app.state.signer,
        user_id=member.id,
        new_email="theirs@example.org",
        current_email_key=member.email_key,
        issued=now,
    )
    forged = good.rsplit(".", 1)[0].rsplit(".", 1)[0] + "." + other.split(".")[2] + "."
    forged += good.rsplit(".", 1)[1]
    stale = change_token(
        app.state.signer,
        user_id=member.id,
        new_email="mine@example.org",
        current_email_key=member.email_key,
        issued=now - 2 * 86400,
    )
    c = await make_client()
    for token in (forged, stale, "nonsense", "1.2.%%%.x"):
        r = await c.api("POST", "/api/v1/me/email/confirm", json={"token": token})
        assert r.status_code == 400, token
