"""Following: watching hears every reply, normal only mentions and replies to you, muted
nothing (mentions included); group watchers hear of new discussions; starting or answering
a discussion watches it unless the member turned that off. The fan-out is one INSERT per
kind however many followers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.notifications.models import DiscussionFollow, Notification


async def start(client: Any, group: Any, body: str = "A question") -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "Counts", "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def reply(client: Any, discussion_id: int, body: str, **extra: Any) -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/discussions/{discussion_id}/posts", json={"body": body, **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def kinds_for(session: Any, post_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(User.username, Notification.kind)
        .join(User, User.id == Notification.user_id)
        .where(Notification.post_id == post_id)
    )
    return dict(rows.all())


async def test_watching_normal_and_muted(make_client, make_user, mentor, group, session):
    asker = await make_client(mentor)
    d = await start(asker, group)
    people = {}
    for name, level in (("wally", "watching"), ("nora", "normal"), ("mute_mia", "muted")):
        people[name] = await make_client(await make_user(name))
        r = await people[name].api(
            "POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": level}
        )
        assert r.json() == {"level": level}
    writer = await make_client(await make_user("writer_wes", Role.mentor))

    plain = await reply(writer, d["id"], "A plain reply")
    assert await kinds_for(session, plain["id"]) == {
        "wally": "watched_reply",
        "mentor_mo": "reply_to_you",  # answering the question answers its author
    }
    named = await reply(writer, d["id"], "@nora @mute_mia @wally what do you think?")
    assert await kinds_for(session, named["id"]) == {
        "nora": "mention",
        "wally": "mention",
        "mentor_mo": "reply_to_you",
    }  # muted means muted: mute_mia hears nothing, not even her name
    # normal: a reply to your own post reaches you
    nora_post = await reply(people["nora"], d["id"], "I think so")
    answer = await reply(writer, d["id"], "Agreed", reply_to=nora_post["id"])
    assert (await kinds_for(session, answer["id"]))["nora"] == "reply_to_you"
    # unfollowing (DELETE) goes back to no row: normal
    r = await people["wally"].api("DELETE", f"/api/v1/discussions/{d['id']}/follow")
    assert r.status_code == 204
    later = await reply(writer, d["id"], "Later")
    assert "wally" not in await kinds_for(session, later["id"])


async def test_group_watchers_hear_of_new_discussions_and_group_mute_silences_them(
    make_client, make_user, mentor, group, session
):
    gina = await make_client(await make_user("gina"))
    r = await gina.api("POST", f"/api/v1/groups/{group.slug}/follow", json={"level": "watching"})
    assert r.status_code == 200 and r.json() == {"level": "watching"}
    muted = await make_client(await make_user("quiet_quinn"))
    await muted.api("POST", f"/api/v1/groups/{group.slug}/follow", json={"level": "muted"})
    asker = await make_client(mentor)
    d = await start(asker, group, "New question, @quiet_quinn?")
    opening = (await asker.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    assert await kinds_for(session, opening["id"]) == {"gina": "new_discussion"}
    # a level on the discussion itself wins over the group's
    await muted.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "normal"})
    p = await reply(asker, d["id"], "Still there, @quiet_quinn?")
    assert (await kinds_for(session, p["id"]))["quiet_quinn"] == "mention"
    r = await gina.api("DELETE", f"/api/v1/groups/{group.slug}/follow")
    assert r.status_code == 204
    d2 = await start(asker, group)
    opening2 = (await asker.get(f"/api/v1/discussions/{d2['id']}")).json()["posts"][0]
    assert await kinds_for(session, opening2["id"]) == {}


async def test_starting_or_replying_watches_unless_turned_off(
    make_client, make_user, mentor, group, session
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    helper_user = await make_user("helper_hal")
    helper = await make_client(helper_user)
    await reply(helper, d["id"], "First answer")
    levels = dict(
        (
            await session.execute(
                select(User.username, DiscussionFollow.level)
                .join(User, User.id == DiscussionFollow.user_id)
                .where(DiscussionFollow.discussion_id == d["id"])
            )
        ).all()
    )
    assert levels == {"mentor_mo": "watching", "helper_hal": "watching"}
    # an explicit choice is kept when the member replies again
    await helper.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "normal"})
    await reply(helper, d["id"], "Second answer")
    level = await session.scalar(
        select(DiscussionFollow.level).where(
            DiscussionFollow.discussion_id == d["id"], DiscussionFollow.user_id == helper_user.id
        )
    )
    assert level == "normal"

    # the settings page's checkbox turns it off
    quiet_user = await make_user("quiet_quinn")
    quiet = await make_client(quiet_user)
    page = await quiet.get("/settings")
    assert 'name="auto_follow" checked' in page.text
    r = await quiet.form("/settings/notifications", {})
    assert r.status_code == 303 and r.headers["location"].startswith("/settings?notice=")
    assert 'name="auto_follow" checked' not in (await quiet.get("/settings")).text
    await reply(quiet, d["id"], "Just passing")
    assert (
        await session.scalar(
            select(func.count())
            .select_from(DiscussionFollow)
            .where(DiscussionFollow.user_id == quiet_user.id)
        )
        == 0
    )
    r = await quiet.form("/settings/notifications", {"auto_follow": "on"})
    assert 'name="auto_follow" checked' in (await quiet.get("/settings")).text


async def test_follow_forms_on_discussion_and_group_pages(make_client, make_user, mentor, group):
    asker = await make_client(mentor)
    d = await start(asker, group)
    reader = await make_client(await make_user("reader_rita"))
    page = await reader.get(d["url"])
    assert f'action="/discussions/{d["id"]}/follow"' in page.text
    assert '<option value="normal" selected>' in page.text  # no row: normal
    r = await reader.form(f"/discussions/{d['id']}/follow", {"level": "watching"})
    assert r.status_code == 303 and "notice=follow-saved" in r.headers["location"]
    page = await reader.get(d["url"])
    assert '<option value="watching" selected>' in page.text
    assert "Your notification setting is saved." in (await reader.get(r.headers["location"])).text
    r = await reader.form(f"/discussions/{d['id']}/follow", {"level": "loud"})
    assert r.status_code == 422
    group_page = await reader.get(f"/groups/{group.slug}")
    assert f'action="/groups/{group.slug}/follow"' in group_page.text
    r = await reader.form(f"/groups/{group.slug}/follow", {"level": "muted"})
    assert r.status_code == 303
    assert '<option value="muted" selected>' in (await reader.get(f"/groups/{group.slug}")).text
    # visitors see no form; the API answers bad levels with 422
    visitor = await make_client()
    assert 'class="follow-form"' not in (await visitor.get(d["url"])).text
    r = await reader.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "loud"})
    assert r.status_code == 422
    r = await visitor.api("POST", f"/api/v1/discussions/{d['id']}/follow", json={})
    assert r.status_code == 401


async def test_a_reply_to_a_thousand_watchers_is_one_insert_for_every_kind(
    app, make_client, make_user, mentor, group, session, count_queries
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    watchers = [await make_user(f"watcher{n:03d}") for n in range(60)]
    from app.notifications.follows import auto_follow

    for w in watchers:
        await auto_follow(session, user_id=w.id, discussion_id=d["id"])
    await session.commit()
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    with count_queries() as statements:
        p = await reply(writer, d["id"], "To everyone watching, and @watcher001")
    # (on PostgreSQL the INSERT is the first WITH of a statement that also upserts the
    # e-mail's messages)
    inserts = [s for s in statements if "INSERT INTO NOTIFICATIONS" in s.upper()]
    # mention, reply to the question's author, watchers: one statement for 61 rows, each
    # member told once, of the first reason in priority order
    assert len(inserts) == 1, inserts
    assert all("SELECT" in s.upper() for s in inserts)
    kinds = await kinds_for(session, p["id"])
    assert len(kinds) == 61 and kinds["watcher001"] == "mention"
    assert kinds["mentor_mo"] == "reply_to_you"


async def test_replying_again_to_a_followed_discussion_writes_no_follow(
    make_client, make_user, mentor, group, session, count_queries
):
    """The reply reads whether its author follows the discussion with what else it reads
    (access.fetch.access_reply_context): auto-follow would change nothing, so it is not
    sent."""
    d = await start(await make_client(mentor), group)
    again = await make_user("again_amy")
    client = await make_client(again)
    with count_queries() as first:
        await reply(client, d["id"], "First")
    with count_queries() as second:
        await reply(client, d["id"], "Second")

    def follows(statements: list[str]) -> int:
        return sum("INSERT INTO discussion_follows" in sql for sql in statements)

    assert (follows(first), follows(second)) == (1, 0)
    level = await session.scalar(
        select(DiscussionFollow.level).where(
            DiscussionFollow.discussion_id == d["id"], DiscussionFollow.user_id == again.id
        )
    )
    assert level == "watching"
