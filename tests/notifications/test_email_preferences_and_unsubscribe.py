"""E-mail preferences (API and settings page) and the unsubscribe link: it needs no sign-in,
GET only asks, POST acts (RFC 8058 one-click, without cookies or CSRF token), and an altered
link is refused with 400 and changes nothing. Also: every e-mail template set renders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role, User
from app.core.templating import TEMPLATE_DIR
from app.db import utcnow
from app.email.mailer import email_environment, unsubscribe_token
from app.email.worker import OutboxWorker
from tests.core.test_every_template_renders import Pages
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    drain,
    settings_fixture,
    smtp_fixture,
    verify,
)

DEFAULTS = {
    "mention": "immediately",
    "reply_to_you": "immediately",
    "watched_reply": "immediately",
    "new_discussion": "daily",
    "moderation": "immediately",
}


async def preferences(client: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/me/email-preferences")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_preferences_have_defaults_and_change_per_kind(
    member: User, make_client: Any
) -> None:
    maria = await make_client(member)
    assert await preferences(maria) == {**DEFAULTS, "email_verified": False}
    r = await maria.api(
        "PUT", "/api/v1/me/email-preferences", json={"mention": "daily", "watched_reply": "never"}
    )
    assert r.status_code == 200
    assert r.json() == {
        **DEFAULTS,
        "mention": "daily",
        "watched_reply": "never",
        "email_verified": False,
    }
    r = await maria.api("PUT", "/api/v1/me/email-preferences", json={"mention": "immediately"})
    assert r.json()["mention"] == "immediately" and r.json()["watched_reply"] == "never"
    for bad in ({"mention": "hourly"}, {"mentions": "never"}, {"email_verified": True}):
        r = await maria.api("PUT", "/api/v1/me/email-preferences", json=bad)
        assert r.status_code == 422, bad
    visitor = await make_client()
    assert (await visitor.get("/api/v1/me/email-preferences")).status_code == 401


async def test_the_settings_page_shows_and_saves_the_choices(
    member: User, make_client: Any
) -> None:
    maria = await make_client(member)
    page = await maria.get("/settings/email")
    assert page.status_code == 200
    assert 'name="mention" value="immediately" checked' in page.text
    assert 'name="new_discussion" value="daily" checked' in page.text
    assert "<legend>Someone mentions you (@name)</legend>" in page.text
    r = await maria.form("/settings/email", {"mention": "never", "new_discussion": "immediately"})
    assert r.status_code == 303
    assert r.headers["location"] == "/settings/email?notice=email-settings-saved"
    page = await maria.get(r.headers["location"])
    assert "Your e-mail settings are saved." in page.text
    assert 'name="mention" value="never" checked' in page.text
    assert 'name="new_discussion" value="immediately" checked' in page.text
    r = await maria.form("/settings/email", {"mention": "sometimes"})
    assert r.status_code == 422 and 'class="form-errors"' in r.text
    r = await maria.post("/settings/email", data={"mention": "never"})  # no CSRF token
    assert r.status_code == 403
    assert (await maria.get("/settings")).text.count('href="/settings/email"') == 1


async def test_unsubscribe_asks_on_get_and_acts_on_post_without_signing_in(
    app: Any, member: User, make_client: Any
) -> None:
    token = unsubscribe_token(
        app.state.signer, user_id=member.id, kinds=["mention", "watched_reply"]
    )
    stranger = await make_client()
    stranger.cookies.clear()
    page = await stranger.get(f"/email/unsubscribe/{token}")
    assert page.status_code == 200
    assert "Stop e-mail from Kindred?" in page.text and "maria_member" in page.text
    assert "Someone mentions you (@name)" in page.text
    Pages().check("unsubscribe", page.text)
    maria = await make_client(member)
    assert (await preferences(maria))["mention"] == "immediately"  # GET changed nothing

    r = await stranger.post(f"/email/unsubscribe/{token}", data={})
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    Pages().check("unsubscribed", r.text)
    prefs = await preferences(maria)
    assert (prefs["mention"], prefs["watched_reply"], prefs["reply_to_you"]) == (
        "never",
        "never",
        "immediately",
    )
    r = await stranger.post(f"/email/unsubscribe/{token}", data={"everything": "1"})
    assert r.status_code == 200
    assert set((await preferences(maria)).values()) == {"never", False}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_altered_unsubscribe_link_is_refused_and_changes_nothing(
    app: Any, member: User, make_user: Any, make_client: Any, method: str
) -> None:
    other = await make_user("other_olga")
    good = unsubscribe_token(app.state.signer, user_id=member.id, kinds=["mention"])
    user_part, scope, signature = good.split(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    tampered = [
        f"{user_part}.{scope}.{flipped}",  # signature altered
        f"{other.id}.{scope}.{signature}",  # someone else's member id
        f"{user_part}.all.{signature}",  # widened to every kind
        f"{user_part}.{scope}",  # signature missing
        "x" * 500,
        "%00",
    ]
    stranger = await make_client()
    for token in tampered:
        if method == "GET":
            r = await stranger.get(f"/email/unsubscribe/{token}")
        else:
            r = await stranger.post(
                f"/email/unsubscribe/{token}",
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        assert r.status_code == 400, (token, r.status_code)
        assert "not valid" in r.text
    for user in (member, other):
        assert await preferences(await make_client(user)) == {**DEFAULTS, "email_verified": False}


async def test_every_email_template_set_is_rendered(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: Any, tmp_path: Path
) -> None:
    """Each template set under templates/emails/ is used by a real message (the page walk in
    tests/core/test_every_template_renders.py leaves e-mails to this test)."""
    env = email_environment()
    loaded: set[str] = set()
    original = env.get_template

    def recording(name: Any, *args: Any, **kwargs: Any) -> Any:
        loaded.add(str(name))
        return original(name, *args, **kwargs)

    env.get_template = recording  # type: ignore[method-assign]
    worker = OutboxWorker(app.state.db.sessionmaker, app.state.settings, app.state.signer, env=env)
    reader = await make_user("reads_all")
    await verify(app, reader)
    r = await (await make_client(reader)).api(
        "POST", f"/api/v1/groups/{group.slug}/follow", json={"level": "watching"}
    )
    assert r.status_code == 200
    poster = await make_client(await make_user("poster_pia", Role.mentor))  # unverified
    for title, body in [
        ("Templates", "@reads_all and <b>markup</b> & more"),  # a mention: right away
        ("Second", "Nothing for anyone in particular"),  # a new discussion: the digest
    ]:
        r = await poster.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": title, "body": body},
        )
        assert r.status_code == 201, r.text
    visitor = await make_client()
    await visitor.api("POST", "/api/v1/auth/password-reset", json={"email": reader.email})
    # registering: a new address gets the link, a taken one its owner's notice
    for name, address in (("newbie_nia", "nia@example.org"), ("taker_tom", reader.email)):
        r = await visitor.api(
            "POST",
            "/api/v1/auth/register",
            json={"username": name, "email": address, "password": "lantern orchard pebble"},
        )
        assert r.status_code == 202, r.text
    # changing one's address: the link to the new one, the notice to the old one
    r = await (await make_client(reader)).api(
        "POST",
        "/api/v1/me/email",
        json={"current_password": "correct horse battery", "new_email": "reads.new@example.org"},
    )
    assert r.status_code == 202, r.text
    await drain(worker)  # the reset link must go before it expires
    await drain(worker, utcnow() + timedelta(days=1, minutes=1))  # the digest hour
    sets = {p.parent.name for p in (TEMPLATE_DIR / "emails").glob("*/subject.txt")}
    expected = {
        f"emails/{s}/{part}" for s in sets for part in ("subject.txt", "body.txt", "body.html")
    }
    assert expected - loaded == set()
    subjects = sorted(m.message["Subject"] for m in smtp.mailbox.to(reader.email))
    assert subjects == [
        "A change of e-mail address was asked for on Kindred",
        "Reset your Kindred password",
        "Someone tried to register with your address on Kindred",
        "Your Kindred digest: 1 new post",
        "poster_pia mentioned you in “Templates”",
    ]
    assert len(smtp.mailbox.to("nia@example.org")) == 1
    assert len(smtp.mailbox.to("reads.new@example.org")) == 1
    mention = next(m for m in smtp.mailbox.to(reader.email) if "mentioned" in m.message["Subject"])
    assert "&lt;b&gt;markup&lt;/b&gt; &amp; more" in mention.html  # escaped in HTML
    assert "<b>markup</b> & more" in mention.text  # plain text stays plain
