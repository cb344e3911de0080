"""Administrators create, edit and archive groups from pages (no command line, no API
needed). An archived group is read-only and leaves the listings; every change is audited."""

from __future__ import annotations

from sqlalchemy import select

from app.moderation.models import AuditEntry


async def audit_actions(app, target_type: str) -> list[str]:
    async with app.state.db.sessionmaker() as s:
        rows = await s.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == target_type)
            .order_by(AuditEntry.id)
        )
        return list(rows.all())


async def test_admin_creates_and_edits_a_group_from_the_pages(app, make_client, admin):
    c = await make_client(admin)
    r = await c.form(
        "/admin/groups",
        {"name": "Sickle Cell", "slug": "sickle-cell", "description": "Living with SCD."},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/groups/sickle-cell/edit?notice=group-saved"
    assert "Sickle Cell" in (await c.get("/groups")).text
    edit = await c.get("/admin/groups/sickle-cell/edit")
    assert edit.status_code == 200 and "Living with SCD." in edit.text
    r = await c.form(
        "/admin/groups/sickle-cell/edit",
        {"name": "Sickle Cell Disease", "description": "Living with SCD, and caring."},
    )
    assert r.status_code == 303, r.text
    page = (await c.get("/groups/sickle-cell")).text
    assert "Sickle Cell Disease" in page and "and caring." in page
    assert await audit_actions(app, "group") == ["create_group", "update_group"]


async def test_bad_or_taken_addresses_come_back_with_the_form(make_client, admin, group):
    c = await make_client(admin)
    r = await c.form("/admin/groups", {"name": "X", "slug": "Not A Slug"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and "Not A Slug" in r.text
    r = await c.form("/admin/groups", {"name": "Again", "slug": group.slug})
    assert r.status_code == 422 and "already exists" in r.text
    r = await c.form(f"/admin/groups/{group.slug}/edit", {"name": ""})
    assert r.status_code == 422


async def test_archived_group_is_read_only_and_leaves_the_listings(
    app, make_client, admin, member, group
):
    author = await make_client(member)
    d = (
        await author.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Old question", "body": "?"},
        )
    ).json()
    c = await make_client(admin)
    r = await c.form(f"/admin/groups/{group.slug}/archive", {"reason": "merged"})
    assert r.status_code == 303, r.text

    visitor = await make_client()
    # gone from the listings
    assert f'href="/groups/{group.slug}"' not in (await visitor.get("/groups")).text
    home = (await visitor.get("/")).text
    assert f'href="/groups/{group.slug}"' not in home and "Old question" not in home
    api = (await visitor.get("/api/v1/groups")).json()
    assert group.slug not in [g["slug"] for g in api]
    assert (await visitor.get(f"/api/v1/groups/{group.slug}")).json()["archived"] is True
    # still readable at its addresses
    page = await visitor.get(f"/groups/{group.slug}")
    assert page.status_code == 200 and "This group is archived" in page.text
    assert "Start a discussion" not in page.text
    discussion = await author.get(d["url"])
    assert discussion.status_code == 200 and "Old question" in discussion.text
    assert "is archived" in discussion.text and 'id="composer"' not in discussion.text
    # read-only, for pages and the API alike
    assert (await author.get(f"/groups/{group.slug}/new")).status_code == 403
    r = await author.form(f"/groups/{group.slug}/new", {"title": "New", "body": "b"})
    assert r.status_code == 403
    r = await author.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
    )
    assert r.status_code == 403 and r.json()["code"] == "group_archived"
    r = await author.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "b"})
    assert r.status_code == 403 and r.json()["code"] == "group_archived"
    # the admin list shows it, archived; opening it again brings it back
    assert "Archived on" in (await c.get("/admin/groups")).text
    assert (await c.form(f"/admin/groups/{group.slug}/unarchive")).status_code == 303
    assert f'href="/groups/{group.slug}"' in (await visitor.get("/groups")).text
    r = await author.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "b"})
    assert r.status_code == 201
    assert await audit_actions(app, "group") == ["archive_group", "unarchive_group"]
    # archiving twice is a clear 409, not a second entry
    await c.form(f"/admin/groups/{group.slug}/archive")
    assert (await c.form(f"/admin/groups/{group.slug}/archive")).status_code == 409


async def test_moderators_and_members_cannot_manage_groups(make_client, moderator, member, group):
    for user in (moderator, member):
        c = await make_client(user)
        assert (await c.get("/admin/groups")).status_code == 403
        assert (await c.form(f"/admin/groups/{group.slug}/archive")).status_code == 403


async def test_groups_created_through_the_api_are_audited_too(app, make_client, admin):
    c = await make_client(admin)
    r = await c.api(
        "POST", "/api/v1/groups", json={"slug": "lupus", "name": "Lupus", "description": ""}
    )
    assert r.status_code == 201 and r.json()["archived"] is False
    assert await audit_actions(app, "group") == ["create_group"]
