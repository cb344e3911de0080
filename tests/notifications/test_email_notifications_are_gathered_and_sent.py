"""Notification e-mail from post to inbox: the post is written through the API, the
notifications and the outbox rows in the same transaction, and a worker delivers to a real
SMTP server (aiosmtpd on loopback). Time is moved by handing the worker a later `now`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.discussions.models import Post
from app.email import queue as email_queue
from app.email.mailer import read_unsubscribe_token
from app.email.models import OutboxItem, OutboxMessage
from app.notifications import hooks
from app.notifications.models import Notification
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    drain,
    make_worker,
    outbox_rows,
    settings_fixture,
    smtp_fixture,
    verify,
)

LATER = timedelta(minutes=16)


async def start(client: Any, group: Any, title: str, body: str) -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": title, "body": body}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def reply(client: Any, discussion: dict[str, Any], body: str, **extra: Any) -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/posts", json={"body": body, **extra}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def notification_mail(app: Any, user: User) -> list[OutboxMessage]:
    return [
        row
        for row in await outbox_rows(app, user_id=user.id)
        if row.category in ("notification", "digest")
    ]


async def test_a_mention_is_emailed_at_once_with_one_click_unsubscribe(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    asker = await make_user("asker_amy", Role.mentor)
    sonia = await make_user("sonia85")
    await verify(app, sonia)
    amy = await make_client(asker)
    discussion = await start(
        amy, group, "Neutropenia at one year", "Dear @sonia85, what did your doctors say?"
    )
    worker = make_worker(app)
    await drain(worker)

    [mail] = smtp.mailbox.to(sonia.email)
    msg = mail.message
    assert msg["Subject"] == "asker_amy mentioned you in “Neutropenia at one year”"
    assert msg["To"] == f"sonia85 <{sonia.email}>"
    assert msg["From"] == "Kindred <no-reply@127.0.0.1>"
    assert msg["Auto-Submitted"] == "auto-generated"
    unsubscribe = msg["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://127.0.0.1:8000/email/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # on the wire the header is the bare <URL>, not folded into an encoded word
    assert f"\r\nList-Unsubscribe: {unsubscribe}\r\n".encode() in mail.raw
    token = unsubscribe.strip("<>").rsplit("/", 1)[1]
    scope = read_unsubscribe_token(app.state.signer, token)
    assert scope.user_id == sonia.id and [k.value for k in scope.kinds] == ["mention"]
    assert "Dear @sonia85, what did your doctors say?" in mail.text
    assert f"http://127.0.0.1:8000{discussion['url']}#post-" in mail.text
    assert unsubscribe.strip("<>") in mail.text and unsubscribe.strip("<>") in mail.html
    assert "asker_amy</strong> mentioned you" in mail.html
    [row] = await notification_mail(app, sonia)
    assert (row.status, row.batch_key) == ("sent", f"d:{discussion['id']}")

    # the one-click POST a mail program makes: no cookie, no CSRF token, just the link
    anonymous = await make_client()
    anonymous.cookies.clear()
    r = await anonymous.post(
        unsubscribe.strip("<>").removeprefix("http://127.0.0.1:8000"),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert "You are unsubscribed" in r.text
    sonia_client = await make_client(sonia)
    prefs = (await sonia_client.get("/api/v1/me/email-preferences")).json()
    assert prefs["mention"] == "never" and prefs["reply_to_you"] == "immediately"

    # mentioned again: in-app only now
    await reply(amy, discussion, "@sonia85 one more thing")
    assert await drain(worker, utcnow() + timedelta(days=2)) == []
    assert len(smtp.mailbox.to(sonia.email)) == 1


async def test_three_watched_replies_within_fifteen_minutes_make_one_email(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    asker = await make_client(await make_user("asker_ann", Role.mentor))
    watcher = await make_user("mentor_mo", Role.mentor)
    await verify(app, watcher)
    mo = await make_client(watcher)
    discussion = await start(asker, group, "Busy thread", "Tell me everything.")
    r = await mo.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/follow", json={"level": "watching"}
    )
    assert r.status_code == 200, r.text
    worker = make_worker(app)
    await drain(worker)
    smtp.mailbox.clear()
    first_at = utcnow()

    for i, name in enumerate(["helper_one", "helper_two", "helper_three"]):
        helper = await make_client(await make_user(name, Role.mentor))
        await reply(helper, discussion, f"Reply number {i + 1} from {name}")
        await drain(worker)  # the worker runs between replies: the window is still open
    assert smtp.mailbox.to(watcher.email) == []

    [row] = await notification_mail(app, watcher)
    assert row.status == "queued" and row.send_after >= first_at + timedelta(minutes=15)
    async with app.state.db.sessionmaker() as s:
        items = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.outbox_id == row.id)
        )
    assert items == 3

    await drain(worker, utcnow() + LATER)
    [mail] = smtp.mailbox.to(watcher.email)
    assert mail.message["Subject"] == "3 new replies and mentions in “Busy thread”"
    for i, name in enumerate(["helper_one", "helper_two", "helper_three"]):
        assert f"Reply number {i + 1} from {name}" in mail.text
        assert f"{name}</strong> replied" in mail.html
    assert mail.text.index("helper_one") < mail.text.index("helper_three")
    assert await drain(worker, utcnow() + timedelta(days=1)) == []
    assert len(smtp.mailbox.to(watcher.email)) == 1


async def test_a_member_gets_at_most_one_email_per_discussion_every_fifteen_minutes(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    author = await make_user("talker_tom", Role.mentor)
    sonia = await make_user("sonia85")
    await verify(app, sonia)
    tom = await make_client(author)
    discussion = await start(tom, group, "Spacing", "Hello @sonia85")
    worker = make_worker(app)
    t0 = utcnow()
    await drain(worker, t0)
    assert len(smtp.mailbox.to(sonia.email)) == 1

    await reply(tom, discussion, "@sonia85 are you there?")
    await reply(tom, discussion, "@sonia85 hello again")
    # personal kinds are due at once, but the discussion e-mailed her at t0
    assert await drain(worker, t0 + timedelta(minutes=14)) == []
    assert len(smtp.mailbox.to(sonia.email)) == 1
    await drain(worker, t0 + LATER)
    first, second = smtp.mailbox.to(sonia.email)
    assert "are you there?" in second.text and "hello again" in second.text
    assert second.message["Subject"] == "2 new replies and mentions in “Spacing”"

    # another discussion is not held back by this one
    other = await start(tom, group, "Another topic", "@sonia85 see this too")
    await drain(worker, t0 + LATER)
    assert smtp.mailbox.to(sonia.email)[-1].message["Subject"].endswith("“Another topic”")
    assert other["id"] != discussion["id"]


async def test_daily_digest_gathers_new_discussions_until_the_digest_hour(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    reader = await make_user("digest_dora")
    await verify(app, reader)
    dora = await make_client(reader)
    r = await dora.api("POST", f"/api/v1/groups/{group.slug}/follow", json={"level": "watching"})
    assert r.status_code == 200, r.text
    starter = await make_client(await make_user("starter_sam", Role.mentor))
    await start(starter, group, "First new topic", "Something to read")
    await start(starter, group, "Second new topic", "Something else")
    worker = make_worker(app)
    now = utcnow()
    await drain(worker, now)
    assert smtp.mailbox.to(reader.email) == []

    [row] = await notification_mail(app, reader)
    assert (row.category, row.batch_key) == ("digest", "digest")
    assert row.send_after.hour == app.state.settings.email_digest_hour_utc
    assert now < row.send_after <= now + timedelta(days=1)
    await drain(worker, row.send_after)
    [mail] = smtp.mailbox.to(reader.email)
    assert mail.message["Subject"] == "Your Kindred digest: 2 new posts"
    assert "First new topic" in mail.text and "Second new topic" in mail.text
    token = mail.message["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert read_unsubscribe_token(app.state.signer, token).everything


async def test_unverified_members_get_no_notification_email(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    author = await make_client(await make_user("poster_pat", Role.mentor))
    unverified = await make_user("new_nina")
    await start(author, group, "Hello", "Welcome @new_nina!")
    async with app.state.db.sessionmaker() as s:
        notified = await s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == unverified.id)
        )
    assert notified == 1  # in-app, yes
    assert await notification_mail(app, unverified) == []
    await drain(make_worker(app), utcnow() + timedelta(days=2))
    [only] = smtp.mailbox.to(unverified.email)
    assert "confirm your e-mail address" in only.message["Subject"]


async def test_queueing_twice_never_emails_a_notification_twice(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer, session: Any
) -> None:
    tom = await make_client(await make_user("double_tom", Role.mentor))
    sonia = await make_user("sonia85")
    await verify(app, sonia)
    discussion = await start(tom, group, "Twice", "Hi @sonia85")
    post_id = (
        await session.scalars(select(Post.id).where(Post.discussion_id == discussion["id"]))
    ).one()
    # a retried request or a second call for the same post adds nothing
    await email_queue.enqueue_for_post(session, post_id=post_id)
    await email_queue.enqueue_for_post(session, post_id=post_id)
    await session.commit()
    [row] = await notification_mail(app, sonia)
    worker = make_worker(app)
    await drain(worker)
    await email_queue.enqueue_for_post(session, post_id=post_id)  # after it was sent, too
    await session.commit()
    await drain(worker, utcnow() + timedelta(days=2))
    assert len(smtp.mailbox.to(sonia.email)) == 1
    assert [r.id for r in await notification_mail(app, sonia)] == [row.id]


async def test_a_post_hidden_before_sending_is_left_out(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer, session: Any
) -> None:
    asker = await make_client(await make_user("asker_q", Role.mentor))
    watcher = await make_user("watcher_w")
    await verify(app, watcher)
    discussion = await start(asker, group, "Hidden later", "Question")
    w = await make_client(watcher)
    await w.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/follow", json={"level": "watching"}
    )
    spammer = await make_client(await make_user("spammer_s", Role.mentor))
    spam = await reply(spammer, discussion, "Buy pills")
    await session.execute(update(Post).where(Post.id == spam["id"]).values(status="hidden"))
    await session.commit()
    await drain(make_worker(app), utcnow() + LATER)
    [row] = await notification_mail(app, watcher)
    assert row.status == "skipped"  # nothing left to say: the only reply is hidden
    assert smtp.mailbox.to(watcher.email) == []


async def test_moderation_notices_are_emailed_on_their_own_at_once(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer, session: Any
) -> None:
    member = await make_user("flagged_fred")
    await verify(app, member)
    fred = await make_client(await make_user("poster_p", Role.mentor))
    discussion = await start(fred, group, "A thread", "text")
    post = await reply(fred, discussion, "a reply")
    await hooks.moderation_notice(
        session, user_id=member.id, post_id=post["id"], message="Your reply was hidden: spam."
    )
    await session.commit()
    await drain(make_worker(app))
    [mail] = smtp.mailbox.to(member.email)
    assert mail.message["Subject"] == "A message from the Kindred moderators"
    assert "Your reply was hidden: spam." in mail.text
    [row] = await notification_mail(app, member)
    assert row.batch_key and row.batch_key.startswith("n:") and row.discussion_id is None


async def test_switching_a_kind_off_stops_an_email_already_gathering(
    app: Any, make_user: Any, make_client: Any, group: Any, smtp: SmtpServer
) -> None:
    asker = await make_client(await make_user("asker_x", Role.mentor))
    watcher = await make_user("watcher_v")
    await verify(app, watcher)
    v = await make_client(watcher)
    discussion = await start(asker, group, "Gathering", "Question")
    await v.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/follow", json={"level": "watching"}
    )
    await reply(asker, discussion, "An answer to myself")
    assert len(await notification_mail(app, watcher)) == 1
    r = await v.api("PUT", "/api/v1/me/email-preferences", json={"watched_reply": "never"})
    assert r.status_code == 200 and r.json()["watched_reply"] == "never"
    await drain(make_worker(app), utcnow() + LATER)
    [row] = await notification_mail(app, watcher)
    assert row.status == "skipped"
    assert smtp.mailbox.to(watcher.email) == []


async def test_a_mention_makes_a_gathering_email_due_now_and_a_later_reply_leaves_it(
    app: Any, make_user: Any, make_client: Any, group: Any
) -> None:
    """A personal notification joining a message that gathers watched replies makes it due
    at once; a watched reply after it does not put it back to the end of a window."""
    asker = await make_client(await make_user("asker_ann", Role.mentor))
    watcher = await make_user("mentor_mo", Role.mentor)
    await verify(app, watcher)
    mo = await make_client(watcher)
    discussion = await start(asker, group, "Busy thread", "Tell me everything.")
    r = await mo.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/follow", json={"level": "watching"}
    )
    assert r.status_code == 200, r.text
    helper = await make_client(await make_user("helper_one", Role.mentor))

    before = utcnow()
    await reply(helper, discussion, "A watched reply")
    [row] = await notification_mail(app, watcher)
    assert row.send_after >= before + timedelta(minutes=15)

    await reply(helper, discussion, "And a word for @mentor_mo")
    after_mention = utcnow()
    [row] = await notification_mail(app, watcher)
    assert row.send_after <= after_mention  # moved earlier: due now
    due = row.send_after

    await reply(helper, discussion, "Another watched reply")
    [row] = await notification_mail(app, watcher)
    assert row.send_after == due
    async with app.state.db.sessionmaker() as s:
        kinds = (
            await s.scalars(
                select(Notification.kind)
                .join(OutboxItem, OutboxItem.notification_id == Notification.id)
                .where(OutboxItem.outbox_id == row.id)
                .order_by(Notification.id)
            )
        ).all()
    assert kinds == ["watched_reply", "mention", "watched_reply"]
