"""A post that reads as a crisis is published as usual, and at once: its author sees the
crisis resources for their country (API answer and the next page), it goes to the top of
the moderators' queue as "possible crisis", and every moderator is notified in-app and by
e-mail (sent now, whatever their e-mail settings, "never" included). Nobody else sees any label."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.db import utcnow
from app.discussions.models import Post
from app.email.models import ALERT_KEY_PREFIX, OutboxMessage
from app.notifications.models import Notification
from app.safety import crisis, review
from app.safety.models import SafetyReview
from tests.notifications.email_support import (  # noqa: F401 (fixtures)
    drain,
    make_worker,
    outbox_rows,
    settings_fixture,
    smtp_fixture,
    verify,
)

CRISIS = "I can't go on anymore. I want to end it tonight."


async def _discussion(c: Any, group: Any) -> dict[str, Any]:
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Living with neutropenia", "body": "How long did your fatigue last?"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_crisis_reply_is_published_and_answered_with_resources(
    app, make_client, make_user, member, moderator, admin, group, smtp
):
    await verify(app, moderator, admin)
    mod = await make_client(moderator)
    # a moderator at the least frequent setting, "never" for every kind, is still told at
    # once: those settings say how often the forum writes, not whether to warn of a crisis
    never = dict.fromkeys(
        ["mention", "reply_to_you", "watched_reply", "new_discussion", "moderation"], "never"
    )
    r = await mod.api("PUT", "/api/v1/me/email-preferences", json=never)
    assert r.status_code == 200, r.text
    chosen = (await mod.get("/api/v1/me/email-preferences")).json()
    assert {chosen[k] for k in never} == {"never"}, chosen

    c = await make_client(member)
    assert (await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "US"})).is_success
    d = await _discussion(c, group)
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": CRISIS})
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["status"] == "visible"  # published as usual
    support = post["support"]
    assert support["kind"] == "crisis"
    phones = [res["phone"] for res in support["resources"]]
    assert phones == ["911", "988"]

    # the queue: "possible crisis" first
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["crisis"]] == [post["id"]]
    assert queue["crisis"][0]["label"] == "Possible crisis"
    assert queue["crisis"][0]["detail"] == "I can't go on anymore"
    page = await mod.get("/mod/queue")
    assert page.text.index("Possible crisis") < page.text.index("flagged-heading")

    # in-app, at once, for every moderator and admin (not the author, not other members)
    for who in (moderator, admin):
        n = (await (await make_client(who)).get("/api/v1/notifications")).json()
        texts = [i.get("message", "") for i in n["items"]]
        assert any("Possible crisis" in t and member.username in t for t in texts), n
    bystander = await make_client(await make_user())
    assert (await bystander.get("/api/v1/notifications")).json()["items"] == []

    # e-mail, sent now: one to each moderator, through real SMTP
    outcomes = await drain(make_worker(app))
    assert outcomes
    smtp.mailbox.wait_for(1)
    alerts = [m for m in smtp.mailbox.received if "Possible crisis" in m.text]
    assert sorted(m.recipients[0] for m in alerts) == sorted([moderator.email, admin.email])

    # nobody else sees a label or the resources
    public = await bystander.get(d["url"])
    assert CRISIS.split(".")[0] in public.text.replace("&#39;", "'")
    assert "crisis" not in public.text.lower()
    api_view = (await bystander.get(f"/api/v1/posts/{post['id']}")).json()
    assert api_view["support"] is None


async def test_the_alert_is_sent_at_once_even_just_after_an_email_about_the_discussion(
    app, make_client, member, moderator, group, smtp
):
    """E-mails about one discussion are spaced (one per member per gathering window); a
    crisis alert is not held behind them: a moderator e-mailed a minute ago about the
    discussion where the crisis is written still hears of it now."""
    await verify(app, moderator)
    c = await make_client(member)
    d = await _discussion(c, group)
    now = utcnow()
    async with app.state.db.sessionmaker() as s:
        s.add(
            OutboxMessage(
                user_id=moderator.id,
                category="notification",
                batch_key=f"d:{d['id']}",
                discussion_id=d["id"],
                to_address=moderator.email,
                status="sent",
                send_after=now - timedelta(minutes=2),
                created_at=now - timedelta(minutes=2),
                sent_at=now - timedelta(minutes=1),
            )
        )
        await s.commit()
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": CRISIS})
    assert r.status_code == 201 and r.json()["support"] is not None
    await drain(make_worker(app))
    rows = await outbox_rows(app, user_id=moderator.id)
    [alert] = [row for row in rows if (row.batch_key or "").startswith("alert:")]
    assert alert.status == "sent", (alert.status, alert.send_after)
    smtp.mailbox.wait_for(1)
    [mail] = [m for m in smtp.mailbox.received if "Possible crisis" in m.text]
    assert mail.recipients == [moderator.email]


async def test_a_crisis_post_its_author_deletes_stays_in_the_queue(
    app, make_client, member, moderator, group
):
    """Someone who wrote "I took all my pills" and then deleted it still needs a
    moderator's look: the item stays, marked deleted, until it is marked reviewed."""
    c = await make_client(member)
    d = await _discussion(c, group)
    r = await c.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "I took all my pills."}
    )
    post = r.json()
    assert post["support"] is not None
    assert (await c.api("DELETE", f"/api/v1/posts/{post['id']}")).status_code == 204
    mod = await make_client(moderator)
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [(i["post_id"], i["deleted"]) for i in queue["crisis"]] == [(post["id"], True)]
    assert queue["crisis"][0]["excerpt"] == "I took all my pills."
    page = await mod.get("/mod/queue")
    item = page.text[page.text.index(f'id="safety-item-{queue["crisis"][0]["id"]}"') :]
    assert "the post is deleted" in item[: item.index("</li>")]
    r = await mod.api("POST", f"/api/v1/mod/safety/{queue['crisis'][0]['id']}/resolve", json={})
    assert r.status_code == 200
    assert (await mod.get("/api/v1/mod/queue")).json()["crisis"] == []


async def test_the_next_page_shows_the_resources_of_the_members_country(
    app, make_client, member, group
):
    c = await make_client(member)
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "gb"})
    assert r.status_code == 200 and r.json()["country"] == "GB"
    d = await _discussion(c, group)
    r = await c.form(f"/discussions/{d['id']}/replies", {"body": CRISIS, "client_key": "c1"})
    assert r.status_code == 303
    location = r.headers["location"]
    assert "?support=crisis#post-" in location
    page = await c.get(location)
    assert page.status_code == 200
    text = page.text
    assert "crisis-support" in text
    assert text.index("crisis-support") < text.index("discussion-heading")
    section = text[
        text.index("crisis-support") : text.index("</section>", text.index("crisis-support"))
    ]
    assert "Samaritans" in section and "116 123" in section and "999" in section
    assert "988" not in section


async def test_a_crisis_in_a_new_discussion_and_in_an_edit_is_answered_too(
    app, make_client, member, group
):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Please help", "body": "My baby is not breathing what do I do"},
    )
    assert r.status_code == 201
    support = r.json()["support"]
    # no country set: the emergency number most of the world uses, and Find a helpline
    assert support["kind"] == "crisis"
    assert [x["phone"] for x in support["resources"]] == ["112", ""]
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "IQ"})
    d = await _discussion(c, group)
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    r = await c.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "I took all my pills"})
    assert r.status_code == 200
    resources = r.json()["support"]["resources"]
    assert [x["url"] for x in resources][-1] == "https://findahelpline.com/"
    r = await c.form(
        f"/groups/{group.slug}/new",
        {"title": "tonight", "body": "I want to kill myself", "client_key": "z9"},
    )
    assert r.status_code == 303 and "support=crisis" in r.headers["location"]


async def test_the_issue_examples_of_ordinary_language_raise_nothing(
    app, make_client, member, moderator, group
):
    c = await make_client(member)
    d = await _discussion(c, group)
    for body in (
        "acetaminophen overdose can damage the liver",
        "cutting back on G-CSF",
        "800 mg ibuprofen",
        "this fatigue is killing me",
        "my hematologist said it is not life threatening",
    ):
        r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": body})
        assert r.status_code == 201 and r.json()["support"] is None, body
    queue = (await (await make_client(moderator)).get("/api/v1/mod/queue")).json()
    assert queue["crisis"] == []


async def test_members_set_their_country_in_settings(app, make_client, member):
    c = await make_client(member)
    page = await c.get("/settings")
    assert 'id="country"' in page.text and "United Kingdom" in page.text
    r = await c.form("/settings/country", {"country": "IE"})
    assert r.status_code == 303
    assert (await c.get("/api/v1/me")).json()["country"] == "IE"
    assert '<option value="IE" selected>' in (await c.get("/settings")).text
    r = await c.form("/settings/country", {"country": "XX"})
    assert r.status_code == 422
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "", "country": "Narnia"})
    assert r.status_code == 422
    r = await c.form("/settings/country", {"country": ""})
    assert (await c.get("/api/v1/me")).json()["country"] is None


async def test_setting_the_country_through_the_api_keeps_the_rest_of_the_profile(
    make_client, member
):
    """PATCH /api/v1/me changes what it is sent: the country alone leaves the bio as it was
    (a client setting the country had to send the bio again, or erase it)."""
    c = await make_client(member)
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "Caring for my husband."})
    assert r.status_code == 200, r.text
    r = await c.api("PATCH", "/api/v1/me", json={"country": "GB"})
    assert r.status_code == 200, r.text
    me = (await c.get("/api/v1/me")).json()
    assert (me["country"], me["bio"]) == ("GB", "Caring for my husband.")
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "Caregiver."})
    me = (await c.get("/api/v1/me")).json()
    assert (me["country"], me["bio"]) == ("GB", "Caregiver.")


async def _alerts(app: Any, moderator: Any) -> tuple[int, int]:
    """(in-app crisis notifications, alert e-mails) a moderator has had."""
    async with app.state.db.sessionmaker() as s:
        notes = await s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == moderator.id,
                Notification.message.like("Possible crisis%"),
            )
        )
    mails = [r for r in await outbox_rows(app, user_id=moderator.id) if r.batch_key]
    return int(notes or 0), sum(1 for r in mails if r.batch_key.startswith(ALERT_KEY_PREFIX))


async def test_edits_of_a_crisis_post_waiting_in_the_queue_do_not_alert_again(
    app, make_client, member, moderator, group
):
    """One open item per post: each edit that still reads as a crisis shows its author the
    resources, but the moderators, who have the post already, are not alerted again. Once a
    moderator has reviewed it, an edit that reads as a crisis again is a new event: a new
    item and a new alert."""
    c = await make_client(member)
    mod = await make_client(moderator)
    d = await _discussion(c, group)
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": CRISIS})
    post_id = r.json()["id"]
    assert await _alerts(app, moderator) == (1, 1)
    for body in (CRISIS + " Sorry.", "I took all my pills", "I want to kill myself"):
        r = await c.api("PATCH", f"/api/v1/posts/{post_id}", json={"body": body})
        assert r.status_code == 200, r.text
        assert r.json()["support"]["kind"] == "crisis", body  # the author, every time
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["crisis"]] == [post_id]
    assert await _alerts(app, moderator) == (1, 1)
    page = await mod.get("/mod/queue")
    assert page.text.count('id="safety-item-') == 1

    # reviewed: an edit that no longer reads as a crisis opens nothing ...
    item = queue["crisis"][0]["id"]
    r = await mod.api("POST", f"/api/v1/mod/safety/{item}/resolve", json={})
    assert r.status_code == 200
    r = await c.api("PATCH", f"/api/v1/posts/{post_id}", json={"body": "Feeling better today."})
    assert r.json()["support"] is None
    assert (await mod.get("/api/v1/mod/queue")).json()["crisis"] == []
    # ... and one that does again is a new event
    r = await c.api("PATCH", f"/api/v1/posts/{post_id}", json={"body": CRISIS})
    assert r.json()["support"]["kind"] == "crisis"
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["crisis"]] == [post_id]
    assert queue["crisis"][0]["id"] != item
    assert await _alerts(app, moderator) == (2, 2)


async def test_the_database_holds_one_open_item_per_post_and_kind(app, make_client, member, group):
    """What keeps two edits at once from opening two items: the database refuses a second
    open item of a post and kind (resolved ones are any number); the write path's
    ON CONFLICT DO NOTHING leans on it."""
    c = await make_client(member)
    d = await _discussion(c, group)
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": CRISIS})
    post_id = r.json()["id"]
    row = dict(post_id=post_id, kind="crisis", priority=0, detail="", created_at=utcnow())
    async with app.state.db.sessionmaker() as s:
        with pytest.raises(IntegrityError):
            async with s.begin_nested():
                s.add(SafetyReview(**row))
        s.add(SafetyReview(**row, resolved_at=utcnow()))
        s.add(SafetyReview(**row | {"kind": "personal_information", "priority": 9}))
        await s.flush()
        post = await s.get_one(Post, post_id)
        author = await s.get_one(User, member.id)
        again = review.PostReview(author=author, crisis=crisis.detect_crisis(CRISIS))
        await again.record(s, post=post)  # opens nothing, raises nothing
        opened = await s.scalar(
            select(func.count())
            .select_from(SafetyReview)
            .where(SafetyReview.post_id == post_id, SafetyReview.resolved_at.is_(None))
        )
        assert opened == 2  # one crisis, one personal information
        await s.rollback()
