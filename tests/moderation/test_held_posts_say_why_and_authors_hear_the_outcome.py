"""A new member whose first posts wait for a moderator is told why and what happens next,
in the composer before posting and on the post itself; a moderator's approval or
rejection reaches the author as a notification."""

from __future__ import annotations

import pytest

HELD_NOTE = "Your first posts are read by a moderator before others see them."
ON_THE_POST = "Only you and the moderators can see this post for now"


async def notifications(c) -> list[dict]:
    r = await c.get("/api/v1/notifications")
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.hold_first_posts
async def test_the_composer_says_why_before_a_new_member_posts(
    make_client, make_user, mentor, group
):
    mentor_client = await make_client(mentor)
    d = (
        await mentor_client.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Welcome thread", "body": "Say hello"},
        )
    ).json()
    opening = (await mentor_client.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    newbie = await make_client(await make_user("newbie_ned"))
    for url in (d["url"], f"/groups/{group.slug}/new", f"/posts/{opening['id']}/reply"):
        html = (await newbie.get(url)).text
        assert HELD_NOTE in html, url
        assert "You will get a notification when it is approved" in html, url
    # a 422 form keeps saying it
    r = await newbie.form(f"/groups/{group.slug}/new", {"title": "", "body": "x"})
    assert r.status_code == 422 and HELD_NOTE in r.text
    # members who post straight away are not told they will wait
    assert HELD_NOTE not in (await mentor_client.get(d["url"])).text


@pytest.mark.hold_first_posts
async def test_the_held_post_explains_itself_to_its_author_only(
    make_client, make_user, moderator, mentor, group
):
    mentor_client = await make_client(mentor)
    d = (
        await mentor_client.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Questions welcome", "body": "Ask away"},
        )
    ).json()
    newbie = await make_client(await make_user("newbie_nora"))
    r = await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Hi all"})
    assert r.json()["status"] == "pending"
    own = (await newbie.get(d["url"])).text
    assert "Awaiting approval" in own and ON_THE_POST in own
    mod_view = (await (await make_client(moderator)).get(d["url"])).text
    assert "Awaiting approval" in mod_view and ON_THE_POST not in mod_view


@pytest.mark.hold_first_posts
async def test_approval_and_rejection_notify_the_author(
    make_client, make_user, moderator, mentor, group
):
    mentor_client = await make_client(mentor)
    d = (
        await mentor_client.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Check-in", "body": "How are you?"},
        )
    ).json()
    newbie = await make_client(await make_user("newbie_nat"))
    first = (
        await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Good"})
    ).json()
    second = (
        await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Buy!"})
    ).json()
    assert await notifications(newbie) == []
    mod = await make_client(moderator)
    # approved from the queue page (no script): the author hears of it
    r = await mod.form(f"/mod/posts/{first['id']}/approve", {"return_to": "/mod/queue"})
    assert r.status_code == 303, r.text
    items = await notifications(newbie)
    assert len(items) == 1 and items[0]["kind"] == "moderation"
    assert "approved your reply in “Check-in”" in items[0]["message"]
    assert items[0]["post_id"] == first["id"]
    # rejected: told, with the reason
    r = await mod.api(
        "POST", f"/api/v1/mod/posts/{second['id']}/hide", json={"reason": "advertising"}
    )
    assert r.status_code == 204
    items = await notifications(newbie)
    assert len(items) == 2
    assert "did not approve your post in “Check-in”" in items[0]["message"]
    assert "Reason: advertising" in items[0]["message"]
    # the header counts them
    assert '<span class="unread-count" id="unread-count">' in (await newbie.get("/")).text


@pytest.mark.hold_first_posts
async def test_once_enough_posts_are_approved_the_composer_stops_saying_so(
    make_client, make_user, moderator, mentor, group
):
    d = (
        await (await make_client(mentor)).api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Introductions", "body": "Who are you?"},
        )
    ).json()
    newbie = await make_client(await make_user("newbie_noor"))
    mod = await make_client(moderator)
    for n in range(2):  # the site holds the first two
        assert HELD_NOTE in (await newbie.get(d["url"])).text
        post = (
            await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": f"{n}"})
        ).json()
        assert post["status"] == "pending"
        await mod.api("POST", f"/api/v1/mod/posts/{post['id']}/approve", json={})
    assert HELD_NOTE not in (await newbie.get(d["url"])).text
    post = (
        await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "3"})
    ).json()
    assert post["status"] == "visible"
