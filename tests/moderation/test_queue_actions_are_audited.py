from sqlalchemy import text

from app.accounts.models import Role
from app.moderation.models import AuditEntry


async def flagged_post(make_client, make_user, member, group, flags=1):
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "q"}
        )
    ).json()
    p = (await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "reply"})).json()
    ids = []
    for _ in range(flags):
        f = await make_client(await make_user())
        ids.append(
            (
                await f.api(
                    "POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "misinformation"}
                )
            ).json()["id"]
        )
    return d, p, ids


async def test_moderator_hides_restores_and_the_audit_log_shows_every_step(
    make_client, make_user, member, moderator, group
):
    d, p, flag_ids = await flagged_post(make_client, make_user, member, group)
    mod = await make_client(moderator)
    r = await mod.api(
        "POST",
        f"/api/v1/mod/flags/{flag_ids[0]}/resolve",
        json={"action": "hide", "reason": "unsafe dosing advice"},
    )
    assert r.status_code == 200 and r.json()["resolution"] == "upheld"
    r = await mod.api("POST", f"/api/v1/mod/posts/{p['id']}/restore", json={"reason": "checked"})
    assert r.status_code == 204
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/discussions/{d['id']}",
        json={"locked": True, "pinned": True, "reason": "resolved thread"},
    )
    assert r.status_code == 204
    replier = await make_client(await make_user())
    r = await replier.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "late"})
    assert r.status_code == 403 and r.json()["code"] == "locked"
    audit = (await mod.get("/api/v1/mod/audit")).json()["entries"]
    assert [e["action"] for e in audit] == ["pin", "lock", "restore_post", "hide_post"]
    assert all(e["actor"] == moderator.username for e in audit)
    assert audit[-1]["reason"] == "unsafe dosing advice"
    page = await mod.get("/mod/audit")
    assert page.status_code == 200 and "unsafe dosing advice" in page.text


async def test_second_moderator_gets_409_naming_who_resolved(
    make_client, make_user, member, moderator, group
):
    _d, _p, flag_ids = await flagged_post(make_client, make_user, member, group)
    first = await make_client(moderator)
    second = await make_client(await make_user("mod_two", Role.moderator))
    r = await first.api(
        "POST",
        f"/api/v1/mod/flags/{flag_ids[0]}/resolve",
        json={"action": "dismiss", "reason": "fine"},
    )
    assert r.status_code == 200
    r = await second.api(
        "POST", f"/api/v1/mod/flags/{flag_ids[0]}/resolve", json={"action": "hide"}
    )
    assert r.status_code == 409 and moderator.username in r.json()["detail"]
    assert r.json()["resolved_by"] == moderator.username


async def test_member_calling_moderator_routes_gets_403_and_nothing_changes(
    make_client, make_user, member, group
):
    d, p, flag_ids = await flagged_post(make_client, make_user, member, group)
    m = await make_client(await make_user())
    for method, url, body in [
        ("GET", "/api/v1/mod/queue", None),
        ("POST", f"/api/v1/mod/flags/{flag_ids[0]}/resolve", {"action": "hide"}),
        ("POST", f"/api/v1/mod/posts/{p['id']}/hide", {}),
        ("PATCH", f"/api/v1/mod/discussions/{d['id']}", {"locked": True}),
        ("PATCH", f"/api/v1/mod/users/{member.username}", {"suspend": True, "reason": "x"}),
        ("GET", "/api/v1/mod/audit", None),
    ]:
        r = await m.api(method, url, json=body)
        assert r.status_code == 403, (url, r.text)
    assert (await m.get("/mod/queue")).status_code == 403
    visitor = await make_client()
    assert "reply" in (await visitor.get(d["url"])).text


async def test_audit_log_cannot_be_edited_or_deleted_even_in_sql(
    make_client, moderator, member, session
):
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/users/{member.username}",
        json={"suspend": True, "reason": "spam wave"},
    )
    assert r.status_code == 200
    entry = (await mod.get("/api/v1/mod/audit")).json()["entries"][0]
    assert entry["action"] == "suspend"
    for statement in ("UPDATE audit_log SET reason = 'nothing to see'", "DELETE FROM audit_log"):
        nested = await session.begin_nested()
        try:
            await session.execute(text(statement))
        except Exception as exc:  # the database refuses
            assert "audit log" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
        finally:
            await nested.rollback()
    assert AuditEntry.__tablename__ == "audit_log"


async def test_move_discussion_between_groups(make_client, moderator, member, group, admin):
    a = await make_client(admin)
    other = await a.api("POST", "/api/v1/groups", json={"slug": "caregivers", "name": "Caregivers"})
    assert other.status_code == 201
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Respite care", "body": "?"},
        )
    ).json()
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/discussions/{d['id']}",
        json={"group": "caregivers", "reason": "better fit"},
    )
    assert r.status_code == 204
    groups = {g["slug"]: g for g in (await c.get("/api/v1/groups")).json()}
    assert (
        groups["caregivers"]["discussion_count"] == 1
        and groups[group.slug]["discussion_count"] == 0
    )


async def test_moderator_edits_and_deletes_of_others_posts_are_audited(
    make_client, member, moderator, group
):
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "t", "body": "call me at 555-0100"},
        )
    ).json()
    p = (await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "x"})).json()
    opening = (await c.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    mod = await make_client(moderator)
    no_reason = await mod.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "[removed]"})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    r = await mod.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "call me at [removed]", "reason": "phone number"},
    )
    assert r.status_code == 200
    form = await mod.form(f"/posts/{p['id']}/edit", {"body": "y", "reason": ""})
    assert form.status_code == 422 and "Say why" in form.text
    assert (await mod.api("DELETE", f"/api/v1/posts/{p['id']}")).status_code == 204
    actions = [e["action"] for e in (await mod.get("/api/v1/mod/audit")).json()["entries"]]
    assert actions[:2] == ["delete_post", "edit_post"]
    # authors editing and deleting their own posts are not moderation
    own = await c.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "mine again"})
    assert own.status_code == 200
    assert len((await mod.get("/api/v1/mod/audit")).json()["entries"]) == 2
