"""Flags count toward hiding a post automatically only from members in good standing (a
verified e-mail and a published post, or an account old enough: site settings). Posts by
moderators and administrators are never hidden automatically. A post in a discussion the
member cannot see cannot be flagged: 404, as reading it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.discussions.models import Post
from app.moderation.models import Flag, SiteSettings


async def thread(make_client: Any, author: User, group: Any) -> tuple[Any, dict, dict]:
    c = await make_client(author)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Dosing question", "body": "What worked for you?"},
        )
    ).json()
    p = (
        await c.api(
            "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Answer THE-POST"}
        )
    ).json()
    return c, d, p


async def flag_three_times(make_client: Any, flaggers: list[User], post_id: int) -> list[bool]:
    hidden = []
    for f in flaggers:
        c = await make_client(f)
        r = await c.api("POST", f"/api/v1/posts/{post_id}/flags", json={"reason": "spam"})
        assert r.status_code == 201, r.text
        hidden.append(r.json()["hidden"])
    return hidden


async def status_of(session: Any, post_id: int) -> str:
    session.expire_all()
    return str(await session.scalar(select(Post.status).where(Post.id == post_id)))


async def test_three_accounts_registered_a_minute_ago_hide_nothing_but_reach_the_queue(
    make_client, make_user, mentor, moderator, group, session
):
    _c, d, p = await thread(make_client, mentor, group)
    throwaways = [await make_user() for _ in range(3)]
    assert await flag_three_times(make_client, throwaways, p["id"]) == [False] * 3
    assert await status_of(session, p["id"]) == "visible"
    visitor = await make_client()
    assert "THE-POST" in (await visitor.get(d["url"])).text
    queue = (await (await make_client(moderator)).get("/api/v1/mod/queue")).json()
    assert [(i["post_id"], i["flag_count"]) for i in queue["flagged"]] == [(p["id"], 3)]


async def verified(session: Any, user: User, published_posts: int) -> None:
    await session.execute(
        update(User)
        .where(User.id == user.id)
        .values(email_verified_at=utcnow(), post_count=published_posts)
    )
    await session.commit()


async def test_verified_members_with_a_published_post_hide_it_the_half_way_ones_do_not(
    make_client, make_user, member, group, session
):
    # (the suite's members post without being held: a reply is published at once)
    _c, _d, p = await thread(make_client, member, group)
    # verified but never posted, and posted but never verified: neither counts
    only_verified = await make_user()
    await verified(session, only_verified, 0)
    only_posted = await make_user()
    c = await make_client(only_posted)
    r = await c.api("POST", f"/api/v1/discussions/{_d['id']}/posts", json={"body": "mine"})
    assert r.status_code == 201 and r.json()["status"] == "visible"
    half_way = [only_verified, only_posted]
    trusted = []
    for _ in range(3):
        u = await make_user()
        writer = await make_client(u)
        r = await writer.api("POST", f"/api/v1/discussions/{_d['id']}/posts", json={"body": "hi"})
        assert r.status_code == 201
        await session.execute(
            update(User).where(User.id == u.id).values(email_verified_at=utcnow())
        )
        await session.commit()
        trusted.append(u)
    hidden = await flag_three_times(make_client, [*half_way, *trusted[:2]], p["id"])
    assert hidden == [False] * 4  # four flags, two of them from members in good standing
    assert await status_of(session, p["id"]) == "visible"
    assert await flag_three_times(make_client, trusted[2:], p["id"]) == [True]
    assert await status_of(session, p["id"]) == "hidden"


async def test_old_accounts_count_and_the_rules_are_site_settings(
    make_client, make_user, make_flagger, member, admin, group, session
):
    a = await make_client(admin)
    r = await a.api("GET", "/api/v1/admin/settings")
    assert r.json()["flag_trust_posts"] == 1 and r.json()["flag_trust_days"] == 30
    _c, _d, p = await thread(make_client, member, group)
    assert await flag_three_times(make_client, [await make_flagger() for _ in range(2)], p["id"])
    assert await status_of(session, p["id"]) == "visible"
    # a day-old account counts once the administrators say a day is enough
    r = await a.api("PATCH", "/api/v1/admin/settings", json={"flag_trust_days": 0})
    assert r.status_code == 200 and r.json()["flag_trust_days"] == 0
    assert await flag_three_times(make_client, [await make_user()], p["id"]) == [True]
    for bad in ({"flag_trust_days": -1}, {"flag_trust_posts": "many"}, {"flag_trust_days": 4000}):
        r = await a.api("PATCH", "/api/v1/admin/settings", json=bad)
        assert r.status_code == 422, bad
    form = await a.get("/admin/settings")
    assert 'name="flag_trust_posts"' in form.text and 'name="flag_trust_days"' in form.text
    r = await a.form(
        "/admin/settings",
        {"flag_trust_posts": "2", "flag_trust_days": "14", "flag_hide_threshold": "3"},
    )
    assert r.status_code == 303
    row = await session.get(SiteSettings, 1)
    await session.refresh(row)
    assert (row.flag_trust_posts, row.flag_trust_days) == (2, 14)
    r = await a.form("/admin/settings", {"flag_trust_days": "-3"})
    assert r.status_code == 422


@pytest.mark.parametrize("role", [Role.moderator, Role.admin])
async def test_staff_posts_are_never_hidden_automatically_their_flags_go_to_the_queue(
    make_client, make_user, make_flagger, group, session, role
):
    staff = await make_user(f"staff_{role.value}", role)
    _c, _d, p = await thread(make_client, staff, group)
    flaggers = [await make_flagger() for _ in range(5)]
    assert await flag_three_times(make_client, flaggers, p["id"]) == [False] * 5
    assert await status_of(session, p["id"]) == "visible"
    other_mod = await make_client(await make_user(None, Role.moderator))
    queue = (await other_mod.get("/api/v1/mod/queue")).json()
    assert [(i["post_id"], i["flag_count"]) for i in queue["flagged"]] == [(p["id"], 5)]


async def test_a_post_in_a_discussion_one_cannot_see_cannot_be_flagged(
    make_client, make_user, make_flagger, mentor, moderator, group, session
):
    _c, d, p = await thread(make_client, mentor, group)
    mod = await make_client(moderator)
    opening = (await mod.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    r = await mod.api("POST", f"/api/v1/mod/posts/{opening['id']}/hide", json={"reason": "x"})
    assert r.status_code == 204
    # the reply itself is still "visible"; its discussion is hidden
    assert await status_of(session, p["id"]) == "visible"
    someone = await make_client(await make_flagger())
    assert (await someone.get(d["url"])).status_code == 404
    r = await someone.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (await someone.get(f"/posts/{p['id']}/flag")).status_code == 404
    r = await someone.form(f"/posts/{p['id']}/flag", {"reason": "spam"})
    assert r.status_code == 404
    assert await session.scalar(select(Flag.id).where(Flag.post_id == p["id"])) is None
