import pytest


@pytest.mark.hold_first_posts
async def test_first_two_posts_wait_for_approval_and_nobody_else_sees_them(
    make_client, make_user, moderator, mentor, group
):
    newbie = await make_client(await make_user("new_member"))
    d = (
        await newbie.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Hello from a new member", "body": "first"},
        )
    ).json()
    other = await make_client(await make_user())
    visitor = await make_client()
    # the author sees it, marked; nobody else does, lists and counts included
    own = await newbie.get(d["url"])
    assert own.status_code == 200 and "Awaiting approval" in own.text
    for c in (other, visitor, await make_client(mentor)):
        assert (await c.get(d["url"])).status_code == 404
        listing = (await c.get(f"/api/v1/groups/{group.slug}/discussions")).json()
        assert listing["items"] == []
    mod = await make_client(moderator)
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["pending"]] and queue["pending"][0][
        "author"
    ] == "new_member"
    opening_id = queue["pending"][0]["post_id"]
    r = await mod.api("POST", f"/api/v1/mod/posts/{opening_id}/approve", json={})
    assert r.status_code == 204
    assert (await visitor.get(d["url"])).status_code == 200
    again = await mod.api("POST", f"/api/v1/mod/posts/{opening_id}/approve", json={})
    assert again.status_code == 409 and moderator.username in again.json()["detail"]
    # second post: still held; third: published at once
    r2 = (
        await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "2"})
    ).json()
    assert r2["status"] == "pending"
    await mod.api("POST", f"/api/v1/mod/posts/{r2['id']}/approve", json={})
    r3 = (
        await newbie.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "3"})
    ).json()
    assert r3["status"] == "visible"
    page = (await visitor.get(f"/api/v1/discussions/{d['id']}")).json()
    assert page["discussion"]["reply_count"] == 2


@pytest.mark.hold_first_posts
async def test_mentors_and_moderators_are_never_held(make_client, mentor, group):
    c = await make_client(mentor)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Welcome", "body": "hi"},
        )
    ).json()
    visitor = await make_client()
    assert (await visitor.get(d["url"])).status_code == 200
