"""Deleting a post asks first (a confirmation page: no script needed); moderators read
deleted posts and restore them, and the restoring is audited."""

from __future__ import annotations

from sqlalchemy import select

from app.moderation.models import AuditEntry


async def thread(c, group, title="Deleting things"):
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": title, "body": "Q"}
        )
    ).json()
    reply = (
        await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Oops *typo*"})
    ).json()
    opening = (await c.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    return d, opening, reply


async def test_the_edit_page_leads_to_a_confirmation_and_only_its_form_deletes(
    make_client, member, group
):
    c = await make_client(member)
    d, _opening, reply = await thread(c, group)
    edit = (await c.get(f"/posts/{reply['id']}/edit")).text
    assert f'href="/posts/{reply["id"]}/delete"' in edit
    assert f'action="/posts/{reply["id"]}/delete"' not in edit  # no one-click delete
    confirm = await c.get(f"/posts/{reply['id']}/delete")
    assert confirm.status_code == 200
    assert "Delete your post?" in confirm.text and "<em>typo</em>" in confirm.text
    assert f'<form method="post" action="/posts/{reply["id"]}/delete"' in confirm.text
    assert 'name="csrf_token"' in confirm.text and "Keep it" in confirm.text
    # looking at the confirmation deleted nothing
    assert "Oops" in (await c.get(d["url"])).text
    assert (await c.form(f"/posts/{reply['id']}/delete")).status_code == 303
    assert "This post was deleted." in (await c.get(d["url"])).text
    # a second confirmation of a deleted post is refused plainly
    assert (await c.get(f"/posts/{reply['id']}/delete")).status_code == 422


async def test_others_cannot_open_the_confirmation_and_moderators_give_a_reason(
    app, make_client, member, make_user, moderator, group
):
    c = await make_client(member)
    _d, _opening, reply = await thread(c, group)
    other = await make_client(await make_user("other_olga"))
    assert (await other.get(f"/posts/{reply['id']}/delete")).status_code == 403
    mod = await make_client(moderator)
    confirm = (await mod.get(f"/posts/{reply['id']}/delete")).text
    assert "Delete this post?" in confirm and 'name="reason"' in confirm
    r = await mod.form(f"/posts/{reply['id']}/delete", {"reason": "off topic"})
    assert r.status_code == 303
    async with app.state.db.sessionmaker() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "delete_post"))
    assert entry is not None and entry.reason == "off topic"


async def test_moderators_read_and_restore_a_deleted_reply(
    app, make_client, member, moderator, group
):
    c = await make_client(member)
    d, _opening, reply = await thread(c, group)
    await c.form(f"/posts/{reply['id']}/delete")
    mod = await make_client(moderator)
    page = (await mod.get(d["url"])).text
    assert f'href="/mod/posts/{reply["id"]}/deleted"' in page
    assert f'href="/mod/posts/{reply["id"]}/deleted"' not in (await c.get(d["url"])).text
    listing = (await mod.get("/mod/deleted")).text
    assert f'href="/mod/posts/{reply["id"]}/deleted"' in listing and "by the author" in listing
    one = await mod.get(f"/mod/posts/{reply['id']}/deleted")
    assert one.status_code == 200 and "<em>typo</em>" in one.text
    assert f'action="/mod/deleted/{reply["id"]}/restore"' in one.text
    # members may not read deleted posts
    assert (await c.get(f"/mod/posts/{reply['id']}/deleted")).status_code == 403
    assert (await c.get("/mod/deleted")).status_code == 403

    before = (await c.get(f"/api/v1/discussions/{d['id']}")).json()["discussion"]["reply_count"]
    r = await mod.form(
        f"/mod/deleted/{reply['id']}/restore",
        {"reason": "deleted by mistake"},
    )
    assert r.status_code == 303, r.text
    after = (await c.get(f"/api/v1/discussions/{d['id']}")).json()
    assert after["discussion"]["reply_count"] == before + 1
    assert "Oops" in (await c.get(d["url"])).text
    async with app.state.db.sessionmaker() as s:
        entry = await s.scalar(
            select(AuditEntry).where(AuditEntry.action == "restore_deleted_post")
        )
    assert entry is not None and entry.reason == "deleted by mistake"
    assert entry.actor_name == moderator.username and entry.target_id == reply["id"]
    # restoring twice is a 409 naming who did it
    again = await mod.api("POST", f"/api/v1/mod/deleted/{reply['id']}/restore", json={})
    assert again.status_code == 409 and moderator.username in again.json()["detail"]


async def test_restoring_a_first_post_brings_the_discussion_back(
    make_client, member, moderator, group
):
    c = await make_client(member)
    d, opening, _reply = await thread(c, group, title="Gone and back")
    await c.form(f"/posts/{opening['id']}/delete")
    visitor = await make_client()
    assert (await visitor.get(d["url"])).status_code == 404
    assert "Gone and back" not in (await visitor.get(f"/groups/{group.slug}")).text
    mod = await make_client(moderator)
    assert "Gone and back" in (await mod.get("/mod/deleted")).text
    r = await mod.api("POST", f"/api/v1/mod/deleted/{opening['id']}/restore", json={})
    assert r.status_code == 204
    assert (await visitor.get(d["url"])).status_code == 200
    assert "Gone and back" in (await visitor.get(f"/groups/{group.slug}")).text
