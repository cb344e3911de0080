"""When a moderator edits a member's post, the author is told why and can see what changed;
other members still cannot read a post's history."""

from __future__ import annotations


async def test_the_author_is_told_why_and_sees_what_changed(
    make_client, make_user, member, moderator, group
):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Which clinic?", "body": "Dr Smith at clinic X was rude to us."},
    )
    d = r.json()
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "A doctor at a clinic was rude to us.", "reason": "No names, please."},
    )
    assert r.status_code == 200, r.text

    notes = (await c.get("/api/v1/notifications")).json()["items"]
    messages = [n.get("message", "") for n in notes]
    assert any("A moderator edited your post" in m and "No names, please." in m for m in messages)

    history = await c.get(f"/api/v1/posts/{opening['id']}/history")
    assert history.status_code == 200
    [revision] = history.json()
    assert revision["body"] == "Dr Smith at clinic X was rude to us."
    assert revision["reason"] == "No names, please." and revision["editor"] == moderator.username
    page = await c.get(f"/posts/{opening['id']}/history")
    assert page.status_code == 200
    assert "A doctor at a clinic was rude to us." in page.text  # now
    assert "Dr Smith at clinic X was rude to us." in page.text  # before

    other = await make_client(await make_user())
    assert (await other.get(f"/api/v1/posts/{opening['id']}/history")).status_code == 403


async def test_an_authors_own_edit_tells_nobody(make_client, member, group):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Typos", "body": "Helo"},
    )
    d = r.json()
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    r = await c.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "Hello"})
    assert r.status_code == 200
    assert (await c.get("/api/v1/notifications")).json()["items"] == []
