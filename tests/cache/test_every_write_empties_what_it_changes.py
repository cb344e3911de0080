"""Every write that changes what a visitor sees is in the visitor's next page: a visitor
reads a page (kept: the second read is a hit), the write happens through the real pages
or API, and the visitor's next read is rendered anew and shows it. One test per kind of
write. (The whole cache is emptied by such a write: app/cache/invalidation.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cache.conftest import Thread, cached, fresh


async def test_a_new_reply(visitor: Any, thread: Thread, make_client: Any, member: Any) -> None:
    assert "Mine were low for weeks" not in await cached(visitor, thread.url)
    me = await make_client(member)
    r = await me.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Mine were low for weeks"}
    )
    assert r.status_code == 201
    assert "Mine were low for weeks" in await fresh(visitor, thread.url)
    assert "Mine were low for weeks" in await fresh(visitor, f"/users/{member.username}")


async def test_a_reply_posted_through_the_form(
    visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    await cached(visitor, thread.url)
    me = await make_client(member)
    r = await me.form(
        f"/discussions/{thread.id}/replies", {"body": "Posted from the page", "client_key": "k1"}
    )
    assert r.status_code == 303, r.text
    assert "Posted from the page" in await fresh(visitor, thread.url)


async def test_a_new_discussion(visitor: Any, thread: Thread, group: Any) -> None:
    for url in ("/", f"/groups/{group.slug}", "/feeds/latest.atom", "/groups"):
        assert "Sleep after diagnosis" not in await cached(visitor, url)
    r = await thread.author.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Sleep after diagnosis", "body": "How do you sleep?"},
    )
    assert r.status_code == 201
    for url in ("/", f"/groups/{group.slug}", "/feeds/latest.atom"):
        assert "Sleep after diagnosis" in await fresh(visitor, url), url


async def test_an_edit(visitor: Any, thread: Thread) -> None:
    await cached(visitor, thread.url)
    r = await thread.author.api(
        "PATCH", f"/api/v1/posts/{thread.opening_id}", json={"body": "Edited: counts at day 10?"}
    )
    assert r.status_code == 200, r.text
    assert "Edited: counts at day 10?" in await fresh(visitor, thread.url)


async def test_a_moderators_edit(
    visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    await cached(visitor, thread.url)
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/posts/{thread.opening_id}",
        json={"body": "Removed a phone number", "reason": "personal information"},
    )
    assert r.status_code == 204, r.text
    assert "Removed a phone number" in await fresh(visitor, thread.url)


async def test_hiding_and_restoring(
    visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    reply = await thread.author.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Doubtful advice"}
    )
    post_id = reply.json()["id"]
    assert "Doubtful advice" in await cached(visitor, thread.url)
    mod = await make_client(moderator)
    hide = await mod.api("POST", f"/api/v1/mod/posts/{post_id}/hide", json={})
    assert hide.status_code == 204
    assert "Doubtful advice" not in await fresh(visitor, thread.url)
    await cached(visitor, thread.url)
    restore = await mod.api("POST", f"/api/v1/mod/posts/{post_id}/restore", json={})
    assert restore.status_code == 204
    assert "Doubtful advice" in await fresh(visitor, thread.url)


async def test_flags_that_hide_a_post(
    app: Any, visitor: Any, thread: Thread, make_client: Any, make_user: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.accounts.models import User
    from app.db import utcnow

    reply = await thread.author.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Buy cheap pills here"}
    )
    post_id = reply.json()["id"]
    assert "Buy cheap pills here" in await cached(visitor, thread.url)
    for n in range(5):  # enough distinct members in good standing to hide it until reviewed
        user = await make_user(f"flagger{n}")
        async with app.state.db.sessionmaker() as s:
            await s.execute(
                update(User)
                .where(User.id == user.id)
                .values(created_at=utcnow() - timedelta(days=365))
            )
            await s.commit()
        flagger = await make_client(user)
        await flagger.api("POST", f"/api/v1/posts/{post_id}/flags", json={"reason": "spam"})
        page = await visitor.get(thread.url)
        if "Buy cheap pills here" not in page.text:
            assert page.headers["x-cache"] == "miss"
            return
    pytest.fail("the flags never hid the post")


@pytest.mark.hold_first_posts
async def test_approving_a_held_discussion(
    visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    # the author's first post (the discussion) waits for a moderator
    assert "Counts after chemo" not in await cached(visitor, f"/groups/{thread.group_slug}")
    await fresh(visitor, thread.url, 404)
    mod = await make_client(moderator)
    approve = await mod.api("POST", f"/api/v1/mod/posts/{thread.opening_id}/approve", json={})
    assert approve.status_code == 204, approve.text
    assert "Counts after chemo" in await fresh(visitor, f"/groups/{thread.group_slug}")
    assert "neutrophil counts" in await fresh(visitor, thread.url)


async def test_deleting_a_post(visitor: Any, thread: Thread) -> None:
    reply = await thread.author.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Regretted words"}
    )
    assert "Regretted words" in await cached(visitor, thread.url)
    r = await thread.author.api("DELETE", f"/api/v1/posts/{reply.json()['id']}")
    assert r.status_code == 204
    page = await fresh(visitor, thread.url)
    assert "Regretted words" not in page and "This post was deleted." in page


async def test_restoring_a_deleted_post(
    visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    reply = await thread.author.api(
        "POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Back again"}
    )
    await thread.author.api("DELETE", f"/api/v1/posts/{reply.json()['id']}")
    assert "Back again" not in await cached(visitor, thread.url)
    mod = await make_client(moderator)
    r = await mod.form(f"/mod/deleted/{reply.json()['id']}/restore", {"reason": "a mistake"})
    assert r.status_code == 303, r.text
    assert "Back again" in await fresh(visitor, thread.url)


async def test_locking(visitor: Any, thread: Thread, make_client: Any, moderator: Any) -> None:
    assert "This discussion is locked" not in await cached(visitor, thread.url)
    mod = await make_client(moderator)
    r = await mod.api("PATCH", f"/api/v1/mod/discussions/{thread.id}", json={"locked": True})
    assert r.status_code == 204
    assert "This discussion is locked" in await fresh(visitor, thread.url)


async def test_pinning(visitor: Any, thread: Thread, make_client: Any, moderator: Any) -> None:
    url = f"/groups/{thread.group_slug}"
    assert "Pinned" not in await cached(visitor, url)
    mod = await make_client(moderator)
    r = await mod.api("PATCH", f"/api/v1/mod/discussions/{thread.id}", json={"pinned": True})
    assert r.status_code == 204
    assert "Pinned" in await fresh(visitor, url)


async def test_moving(
    app: Any, visitor: Any, thread: Thread, make_client: Any, moderator: Any
) -> None:
    from app.groups.service import create_group

    async with app.state.db.sessionmaker() as s:
        await create_group(s, slug="caregivers", name="Caregivers", description="")
        await s.commit()
    assert "Counts after chemo" in await cached(visitor, f"/groups/{thread.group_slug}")
    assert "Counts after chemo" not in await cached(visitor, "/groups/caregivers")
    assert "Blood Cancers" in await cached(visitor, thread.url)
    mod = await make_client(moderator)
    r = await mod.api("PATCH", f"/api/v1/mod/discussions/{thread.id}", json={"group": "caregivers"})
    assert r.status_code == 204
    assert "Counts after chemo" not in await fresh(visitor, f"/groups/{thread.group_slug}")
    assert "Counts after chemo" in await fresh(visitor, "/groups/caregivers")
    assert 'href="/groups/caregivers"' in await fresh(visitor, thread.url)


async def test_a_group_made_members_only(
    visitor: Any, thread: Thread, make_client: Any, admin: Any
) -> None:
    for url in (f"/groups/{thread.group_slug}", thread.url):
        await cached(visitor, url)
    boss = await make_client(admin)
    r = await boss.api(
        "PATCH",
        f"/api/v1/groups/{thread.group_slug}",
        json={"visibility": "members", "reason": "privacy"},
    )
    assert r.status_code == 200, r.text
    await fresh(visitor, f"/groups/{thread.group_slug}", 404)
    await fresh(visitor, thread.url, 404)
    assert "Counts after chemo" not in await fresh(visitor, "/")


async def test_a_group_renamed(visitor: Any, thread: Thread, make_client: Any, admin: Any) -> None:
    await cached(visitor, "/groups")
    boss = await make_client(admin)
    r = await boss.form(
        f"/admin/groups/{thread.group_slug}/edit",
        {"name": "Blood conditions", "description": "Renamed"},
    )
    assert r.status_code == 303, r.text
    assert "Blood conditions" in await fresh(visitor, "/groups")


async def test_a_group_archived(visitor: Any, thread: Thread, make_client: Any, admin: Any) -> None:
    assert "is archived" not in await cached(visitor, f"/groups/{thread.group_slug}")
    boss = await make_client(admin)
    r = await boss.form(f"/admin/groups/{thread.group_slug}/archive", {"reason": "quiet"})
    assert r.status_code == 303, r.text
    assert "is archived" in await fresh(visitor, f"/groups/{thread.group_slug}")


async def test_a_library_import(app: Any, visitor: Any, library: str) -> None:
    """As `kindred library import` does it: a session of its own, committed."""
    from app.demo.library import PAGE_FILES
    from app.library.content import parse_page_text
    from app.library.service import import_pages

    url = f"/library/{library}"
    assert "Neutropenia in babies, revised" not in await cached(visitor, url)
    assert "Neutropenia in babies, revised" not in await cached(visitor, "/library")
    text = (
        PAGE_FILES[0]
        .read_text()
        .replace("title: Infantile Neutropenia", "title: Neutropenia in babies, revised")
    )
    async with app.state.db.sessionmaker() as s:
        await import_pages(s, pages=[parse_page_text(text, "revised.md")])
        await s.commit()
    assert "Neutropenia in babies, revised" in await fresh(visitor, url)
    assert "Neutropenia in babies, revised" in await fresh(visitor, "/library")


async def test_a_library_page_unpublished(
    visitor: Any, library: str, make_client: Any, admin: Any
) -> None:
    await cached(visitor, f"/library/{library}")
    boss = await make_client(admin)
    assert (await boss.form(f"/admin/library/{library}/unpublish")).status_code == 303
    await fresh(visitor, f"/library/{library}", 404)


@pytest.mark.parametrize("mode", ["anonymize", "delete_posts"])
async def test_an_account_deleted(
    visitor: Any, thread: Thread, make_client: Any, make_user: Any, mode: str
) -> None:
    leaving = await make_user("leaving_member")
    me = await make_client(leaving)
    await me.api("POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Goodbye all"})
    page = await cached(visitor, thread.url)
    assert "leaving_member" in page and "Goodbye all" in page
    await cached(visitor, "/users/leaving_member")
    r = await me.api(
        "DELETE", "/api/v1/me", json={"password": "correct horse battery", "mode": mode}
    )
    assert r.status_code == 204, r.text
    page = await fresh(visitor, thread.url)
    assert "leaving_member" not in page
    assert ("Goodbye all" in page) == (mode == "anonymize")
    await fresh(visitor, "/users/leaving_member", 404)


async def test_a_reaction_count(
    visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    assert "Helpful 1" not in await cached(visitor, thread.url)
    me = await make_client(member)
    r = await me.api(
        "POST", f"/api/v1/posts/{thread.opening_id}/reactions", json={"kind": "helpful"}
    )
    assert r.status_code == 200, r.text
    assert "Helpful 1" in await fresh(visitor, thread.url)


async def test_a_role_change_shows_on_the_members_posts(
    visitor: Any, thread: Thread, make_client: Any, admin: Any
) -> None:
    """A verb on a member (here the role, whose badge is on every post of theirs)."""
    assert "badge-mentor" not in await cached(visitor, thread.url)
    boss = await make_client(admin)
    r = await boss.api(
        "PATCH", f"/api/v1/mod/users/{thread.author.user.username}", json={"role": "mentor"}
    )
    assert r.status_code in (200, 204), r.text
    assert "Volunteer mentor" in await fresh(visitor, thread.url)


async def test_writes_visitors_cannot_see_leave_the_cache_alone(
    app: Any, visitor: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    await cached(visitor, thread.url)
    me = await make_client(member)  # signing in writes a session
    await me.get(thread.url)
    await me.api("POST", f"/api/v1/discussions/{thread.id}/follow", json={"level": "watching"})
    await me.api("POST", "/api/v1/saved", json={"kind": "discussion", "discussion_id": thread.id})
    await me.api("POST", "/api/v1/notifications/read-all")
    r = await visitor.get(thread.url)
    assert r.headers["x-cache"] == "hit"
