"""Who is never notified: of a post held for approval or hidden (until it becomes visible),
of their own posts, when suspended; and edits notify only names they add."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.notifications.models import Notification


async def notified(session: Any, post_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(User.username, Notification.kind)
        .join(User, User.id == Notification.user_id)
        .where(Notification.post_id == post_id)
    )
    return dict(rows.all())


async def start(client: Any, group: Any, body: str = "A question") -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "Counts", "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def reply(client: Any, discussion: dict[str, Any], body: str, **extra: Any) -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/discussions/{discussion['id']}/posts", json={"body": body, **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.hold_first_posts
async def test_a_held_post_notifies_nobody_until_a_moderator_approves_it(
    make_client, make_user, mentor, moderator, group, session
):
    sonia = await make_user("sonia85")
    asker = await make_client(mentor)
    d = await start(asker, group)
    newbie = await make_client(await make_user("new_nina"))
    held = await reply(newbie, d, "Thank you @sonia85 and @mentor_mo!")
    assert held["status"] == "pending"
    assert held["mentions"] == ["sonia85", "mentor_mo"]
    assert await notified(session, held["id"]) == {}
    sonia_client = await make_client(sonia)
    assert (await sonia_client.get("/api/v1/notifications")).json()["items"] == []

    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{held['id']}/approve", json={})
    assert r.status_code == 204
    # published now: the mentions, and the question's author (who is mentioned) once
    # the mentioned hear of it now; its author is told it was approved
    assert await notified(session, held["id"]) == {
        "sonia85": "mention",
        "mentor_mo": "mention",
        "new_nina": "moderation",
    }


async def test_a_hidden_post_notifies_nobody_new_and_leaves_the_lists(
    make_client, make_user, mentor, moderator, group, session
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    sonia = await make_user("sonia85")
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    p = await reply(writer, d, "Hello @sonia85")
    assert await notified(session, p["id"]) == {"sonia85": "mention", "mentor_mo": "reply_to_you"}
    sonia_client = await make_client(sonia)
    assert len((await sonia_client.get("/api/v1/notifications")).json()["items"]) == 1

    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{p['id']}/hide", json={"reason": "check"})
    assert r.status_code == 204
    # she can no longer see it, so it is no longer in her list or her count
    listing = (await sonia_client.get("/api/v1/notifications")).json()
    assert listing["items"] == [] and listing["unread"] == 0
    # its author is told why, by a moderation notice
    author_list = (await writer.get("/api/v1/notifications")).json()["items"]
    assert [n["kind"] for n in author_list] == ["moderation"]
    assert "hidden while moderators review it" in author_list[0]["text"]
    # an edit while hidden notifies nobody
    r = await writer.api("PATCH", f"/api/v1/posts/{p['id']}", json={"body": "Hello @mod_colleen"})
    assert r.status_code == 200
    assert "mod_colleen" not in await notified(session, p["id"])
    # restored: visible again; those already told are not told twice, new names are told
    r = await mod.api("POST", f"/api/v1/mod/posts/{p['id']}/restore", json={"reason": "fine"})
    assert r.status_code == 204
    after = await notified(session, p["id"])
    assert after["mod_colleen"] == "mention" and after["sonia85"] == "mention"
    assert len((await sonia_client.get("/api/v1/notifications")).json()["items"]) == 1


async def test_a_discussion_hidden_or_deleted_takes_its_replies_notifications_along(
    make_client, make_user, mentor, moderator, group
):
    """Hiding or deleting a discussion's first post hides every notification of the
    discussion (the header count included); restoring it brings them back."""
    asker = await make_client(mentor)
    d = await start(asker, group)
    sonia = await make_client(await make_user("sonia85"))
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    await reply(writer, d, "Hello @sonia85")
    other = await start(asker, group, body="Another question")
    await reply(writer, other, "And here @sonia85")

    async def seen() -> tuple[int, int]:
        listing = (await sonia.get("/api/v1/notifications")).json()
        return len(listing["items"]), listing["unread"]

    assert await seen() == (2, 2)
    mod = await make_client(moderator)
    first_post = (await asker.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]["id"]
    r = await mod.api("POST", f"/api/v1/mod/posts/{first_post}/hide", json={"reason": "check"})
    assert r.status_code == 204
    assert await seen() == (1, 1)  # the other discussion's stays
    r = await mod.api("POST", f"/api/v1/mod/posts/{first_post}/restore", json={"reason": "ok"})
    assert r.status_code == 204
    assert await seen() == (2, 2)
    assert (await asker.api("DELETE", f"/api/v1/posts/{first_post}")).status_code == 204
    assert await seen() == (1, 1)


async def test_editing_notifies_only_newly_added_names(
    make_client, make_user, mentor, group, session
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    for name in ("sonia85", "dsm", "hopeful33250"):
        await make_user(name)
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    p = await reply(writer, d, "Hi @sonia85")
    assert (await notified(session, p["id"])).get("sonia85") == "mention"
    r = await writer.api(
        "PATCH", f"/api/v1/posts/{p['id']}", json={"body": "Hi @sonia85 and @dsm, @colleeyoung"}
    )
    assert r.status_code == 200
    assert r.json()["mentions"] == ["sonia85", "dsm"]
    assert r.json()["unknown_mentions"] == {"colleeyoung": []}
    rows = (
        await session.execute(
            select(User.username, Notification.kind)
            .join(User, User.id == Notification.user_id)
            .where(Notification.post_id == p["id"])
        )
    ).all()
    assert sorted(rows) == [
        ("dsm", "mention"),
        ("mentor_mo", "reply_to_you"),
        ("sonia85", "mention"),
    ]
    # removing a name and adding it back does not notify again; a new one does
    await writer.api("PATCH", f"/api/v1/posts/{p['id']}", json={"body": "Hi all"})
    await writer.api(
        "PATCH", f"/api/v1/posts/{p['id']}", json={"body": "Hi @sonia85 @hopeful33250"}
    )
    counts = await session.execute(
        select(User.username)
        .join(Notification, Notification.user_id == User.id)
        .where(Notification.post_id == p["id"])
    )
    assert sorted(counts.scalars().all()) == ["dsm", "hopeful33250", "mentor_mo", "sonia85"]


async def test_no_self_notification_and_suspended_members_hear_nothing(
    make_client, make_user, mentor, group, session
):
    asker = await make_client(mentor)
    d = await start(asker, group, "Me, @mentor_mo, asking")
    opening = (await asker.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    assert await notified(session, opening["id"]) == {}
    quiet = await make_user("suspended_sam")
    await session.execute(
        update(User).where(User.id == quiet.id).values(suspended_at=utcnow(), suspension_reason="x")
    )
    await session.commit()
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    p = await reply(writer, d, "@writer_wes talking to myself, and @suspended_sam")
    assert p["mentions"] == ["writer_wes", "suspended_sam"]  # both are members: both linked
    assert await notified(session, p["id"]) == {"mentor_mo": "reply_to_you"}


async def test_in_a_hidden_discussion_only_moderators_hear_of_replies(
    make_client, make_user, mentor, moderator, group, session
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    watcher = await make_client(await make_user("watching_wendy"))
    await watcher.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "watching"})
    mod = await make_client(moderator)
    await mod.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "watching"})
    opening = (await mod.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    r = await mod.api("POST", f"/api/v1/mod/posts/{opening['id']}/hide", json={"reason": "x"})
    assert r.status_code == 204
    other_mod = await make_client(await make_user("mod_two", Role.moderator))
    p = await reply(other_mod, d, "Looking into this, @watching_wendy")
    assert await notified(session, p["id"]) == {"mod_colleen": "watched_reply"}


@pytest.mark.hold_first_posts
async def test_a_reply_in_a_held_or_hidden_discussion_reaches_only_those_who_can_see_it(
    make_client, make_user, moderator, admin, group, session
):
    """A moderator answering a discussion still held for approval: its author and staff
    hear of it, a mentioned member does not; once the discussion is hidden, staff only."""
    newbie = await make_client(await make_user("new_nina"))
    d = await start(newbie, group, body="My first question")
    await make_user("sonia85")
    mod = await make_client(moderator)
    first_post = (await mod.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    assert first_post["status"] == "pending"
    answer = await reply(mod, d, f"Welcome! @sonia85 @{admin.username} @new_nina")
    assert await notified(session, answer["id"]) == {
        "new_nina": "mention",
        admin.username: "mention",
    }
    r = await mod.api("POST", f"/api/v1/mod/posts/{first_post['id']}/approve", json={})
    assert r.status_code == 204
    hide = f"/api/v1/mod/posts/{first_post['id']}/hide"
    r = await mod.api("POST", hide, json={"reason": "check"})
    assert r.status_code == 204
    later = await reply(mod, d, f"Noted. @sonia85 @{admin.username} @new_nina")
    assert await notified(session, later["id"]) == {admin.username: "mention"}
