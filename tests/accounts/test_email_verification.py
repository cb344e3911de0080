"""Address verification: registering (by form or API) queues the e-mail in the same
transaction; its link verifies the address; a member can ask for it again; links that are
altered, stale, or for an address the member no longer has are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.accounts import email_service
from app.accounts.models import User
from app.accounts.tokens import verification_token
from app.db import utcnow
from app.email.models import OutboxMessage
from tests.core.test_every_template_renders import Pages
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    drain,
    make_worker,
    outbox_rows,
    settings_fixture,
    smtp_fixture,
)


async def test_an_account_made_without_the_link_gets_a_link_that_verifies_the_address(
    app: Any, make_user: Any, make_client: Any, smtp: SmtpServer, session: Any
) -> None:
    """Accounts made by `kindred users create` (service.register); the registration form's
    own link confirms the address as it creates the account
    (tests/accounts/test_registration_never_reveals_an_address.py)."""
    member = await make_user("joining_jo")
    visitor = await make_client(member)
    user = (await session.scalars(select(User).where(User.username == "joining_jo"))).one()
    assert user.email_verified_at is None
    [row] = await outbox_rows(app, user_id=user.id)
    assert (row.category, row.to_address) == ("verify_email", member.email)

    me = await visitor.get("/api/v1/me/email-preferences")
    assert me.json()["email_verified"] is False
    page = await visitor.get("/settings/email")
    assert "not confirmed yet" in page.text and 'action="/settings/email/verification"' in page.text

    await drain(make_worker(app))
    [mail] = smtp.mailbox.to(member.email)
    assert mail.message["Subject"] == "Please confirm your e-mail address for Kindred"
    path = mail.link("/verify-email/")
    assert path in mail.html
    done = await (await make_client()).get(path)  # works from any browser, signed in or not
    assert done.status_code == 200 and "Your e-mail address is confirmed" in done.text
    Pages().check(path, done.text)
    await session.refresh(user)
    assert user.email_verified_at is not None
    assert (await visitor.get("/api/v1/me/email-preferences")).json()["email_verified"] is True
    again = await visitor.get(path)  # following the link twice is harmless
    assert again.status_code == 200


async def test_asking_again_sends_one_new_email_however_often_one_clicks(
    app: Any, make_user: Any, make_client: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("impatient_ian")
    ian = await make_client(member)
    await drain(make_worker(app))
    r = await ian.api("POST", "/api/v1/me/email/verification")
    assert r.json()["queued"] is False  # the one from registration has only just gone
    await session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(minutes=3)))
    await session.commit()
    r = await ian.form("/settings/email/verification")
    assert r.status_code == 303 and r.headers["location"].endswith("notice=verification-sent")
    r = await ian.api("POST", "/api/v1/me/email/verification")
    assert r.status_code == 202 and r.json()["queued"] is False  # a double click
    rows = await outbox_rows(app, user_id=member.id, category="verify_email")
    assert len(rows) == 2
    await drain(make_worker(app))
    assert len(smtp.mailbox.to(member.email)) == 2


async def test_altered_stale_or_outdated_links_are_refused(
    app: Any, make_user: Any, make_client: Any, session: Any
) -> None:
    member = await make_user("careful_cat")
    signer = app.state.signer
    now = int(utcnow().timestamp())
    good = verification_token(signer, user_id=member.id, email_key=member.email_key, issued=now)
    visitor = await make_client()
    tampered = [
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        good.replace(f"{member.id}.", f"{member.id + 1}.", 1),
        "nonsense",
    ]
    for token in tampered:
        assert (await visitor.get(f"/verify-email/{token}")).status_code == 400, token
    stale = verification_token(
        signer,
        user_id=member.id,
        email_key=member.email_key,
        issued=now - 8 * 86400,
    )
    r = await visitor.api("POST", "/api/v1/auth/verify-email", json={"token": stale})
    assert r.status_code == 400 and r.json()["code"] == "token_expired"
    # a link for an address the member no longer uses
    await session.execute(
        update(User).where(User.id == member.id).values(email_key="other@example.org")
    )
    await session.commit()
    r = await visitor.api("POST", "/api/v1/auth/verify-email", json={"token": good})
    assert r.status_code == 400
    assert (
        await session.scalar(select(User.email_verified_at).where(User.id == member.id))
    ) is None


async def test_the_verification_email_is_dropped_once_the_address_is_verified(
    app: Any, make_user: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("quick_quinn")
    await email_service.verify_email(
        session,
        app.state.signer,
        app.state.settings,
        token=verification_token(
            app.state.signer,
            user_id=member.id,
            email_key=member.email_key,
            issued=int(utcnow().timestamp()),
        ),
    )
    await session.commit()
    await drain(make_worker(app), utcnow() + timedelta(minutes=1))
    assert smtp.mailbox.to(member.email) == []
    [row] = await outbox_rows(app, user_id=member.id)
    assert isinstance(row, OutboxMessage) and row.status == "skipped"
