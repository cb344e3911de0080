async def make_thread(c, group):
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Original title", "body": "first version"},
        )
    ).json()
    page = (await c.get(f"/api/v1/discussions/{d['id']}")).json()
    return d, page["posts"][0]


async def test_author_edits_and_moderator_reads_history(
    make_client, member, moderator, make_user, group
):
    c = await make_client(member)
    d, opening = await make_thread(c, group)
    r = await c.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "second version", "title": "Better title", "reason": "typo"},
    )
    assert r.status_code == 200 and r.json()["body"] == "second version"
    assert r.json()["edited_at"] is not None
    # the title changed, so the canonical address did too
    new = (await c.get(f"/api/v1/discussions/{d['id']}")).json()["discussion"]
    assert new["title"] == "Better title" and new["url"].endswith("/better-title")
    old_url = await c.get(d["url"])
    assert old_url.status_code == 301 and old_url.headers["location"] == new["url"]

    # the author reads their own post's history; another member may not
    own = await c.get(f"/api/v1/posts/{opening['id']}/history")
    assert own.status_code == 200 and own.json()[0]["body"] == "first version"
    other = await make_client(await make_user("someone_else"))
    assert (await other.get(f"/api/v1/posts/{opening['id']}/history")).status_code == 403
    mod = await make_client(moderator)
    history = (await mod.get(f"/api/v1/posts/{opening['id']}/history")).json()
    assert history == [
        {
            "editor": member.username,
            "title": "Original title",
            "body": "first version",
            "reason": "typo",
            "created_at": history[0]["created_at"],
        }
    ]
    page = await mod.get(f"/posts/{opening['id']}/history")
    assert page.status_code == 200 and "first version" in page.text
    own_page = await c.get(f"/posts/{opening['id']}/history")
    assert own_page.status_code == 200 and "first version" in own_page.text
    assert (await other.get(f"/posts/{opening['id']}/history")).status_code == 403


async def test_members_cannot_edit_or_delete_others_posts(
    make_client, member, make_user, moderator, group
):
    c = await make_client(member)
    _d, opening = await make_thread(c, group)
    other = await make_client(await make_user())
    assert (
        await other.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "vandal"})
    ).status_code == 403
    assert (await other.api("DELETE", f"/api/v1/posts/{opening['id']}")).status_code == 403
    assert (await other.get(f"/posts/{opening['id']}/edit")).status_code == 403
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "tidied by a moderator", "reason": "removed a phone number"},
    )
    assert r.status_code == 200


async def test_soft_delete_keeps_the_thread_and_hides_the_text(
    make_client, member, make_user, group
):
    c = await make_client(member)
    d, _opening = await make_thread(c, group)
    parent = (
        await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "to be deleted"})
    ).json()
    other = await make_client(await make_user())
    child = (
        await other.api(
            "POST",
            f"/api/v1/discussions/{d['id']}/posts",
            json={"body": "answer", "reply_to": parent["id"]},
        )
    ).json()
    assert (await c.api("DELETE", f"/api/v1/posts/{parent['id']}")).status_code == 204
    posts = (await other.get(f"/api/v1/discussions/{d['id']}")).json()["posts"]
    gone = next(p for p in posts if p["id"] == parent["id"])
    assert gone["deleted"] is True and gone["body"] is None
    assert any(p["id"] == child["id"] for p in posts)
    html = (await other.get(d["url"])).text
    assert "to be deleted" not in html and "This post was deleted." in html and "answer" in html
    assert (
        await c.api("PATCH", f"/api/v1/posts/{parent['id']}", json={"body": "back"})
    ).status_code == 422
    assert (await other.get(f"/api/v1/discussions/{d['id']}")).json()["discussion"][
        "reply_count"
    ] == 1


async def test_deleting_the_first_post_removes_the_discussion(make_client, member, group):
    c = await make_client(member)
    d, opening = await make_thread(c, group)
    r = await c.form(f"/posts/{opening['id']}/delete")
    assert r.status_code == 303
    assert (await c.get(d["url"])).status_code == 404
    listing = (await c.get(f"/api/v1/groups/{group.slug}/discussions")).json()
    assert listing["items"] == []


async def test_edit_form_round_trip(make_client, member, group):
    c = await make_client(member)
    d, opening = await make_thread(c, group)
    form = await c.get(f"/posts/{opening['id']}/edit")
    assert form.status_code == 200 and "first version" in form.text
    r = await c.form(
        f"/posts/{opening['id']}/edit",
        {"title": "Original title", "body": "edited *here*", "reason": ""},
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"#post-{opening['id']}")
    page = await c.get(d["url"])
    assert "<em>here</em>" in page.text and "edited" in page.text
