"""Moderators and administrators reach their pages from the header, which shows how much
waits in the moderation queue; each profile links to that member's moderation page.

The header is on every page, so its count costs no statement of its own: it rides on the
sign-in look-up, and only for moderators and administrators."""

from __future__ import annotations

import re

import pytest

from app.accounts.models import Role

HUB_LINKS = ("/mod/queue", "/mod/users", "/mod/deleted", "/mod/audit", "/mod/canned")
ADMIN_LINKS = ("/admin/groups", "/admin/settings", "/admin/appointments")


def header(html: str) -> str:
    return html.split("</header>", 1)[0]


def queue_count(html: str) -> str | None:
    found = re.search(
        r'id="mod-link"[^>]*>Moderation<span class="unread-count queue-count">'
        r'<span class="visually-hidden">: </span>([^<]+)<span',
        header(html),
    )
    return found.group(1) if found else None


async def test_members_see_no_moderation_entry(make_client, member, mentor):
    for user in (member, mentor):
        html = (await (await make_client(user)).get("/")).text
        assert 'href="/mod"' not in header(html)


async def test_moderators_header_links_to_the_hub_with_the_queues_count(
    make_client, make_user, moderator, group
):
    mod = await make_client(moderator)
    html = (await mod.get("/")).text
    assert 'id="mod-link"' in header(html) and queue_count(html) is None  # nothing waiting
    hub = (await mod.get("/mod")).text
    for link in HUB_LINKS:
        assert f'href="{link}"' in hub, link
    for link in ADMIN_LINKS:
        assert f'href="{link}"' not in hub, link
    assert "nothing waiting" in hub

    # two reported posts (one with two flags) wait in the queue: two items
    author = await make_client(await make_user("author_al"))
    d = (
        await author.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Flag me", "body": "text"},
        )
    ).json()
    reply = (
        await author.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "reply"})
    ).json()
    opening = (await author.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]["id"]
    for n, post_id in enumerate((opening, reply["id"], reply["id"])):
        flagger = await make_client(await make_user(f"flagger_{n}"))
        r = await flagger.api("POST", f"/api/v1/posts/{post_id}/flags", json={"reason": "spam"})
        assert r.status_code == 201, r.text
    html = (await mod.get("/groups")).text
    assert queue_count(html) == "2"
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert len(queue["flagged"]) + len(queue["pending"]) == 2
    assert "2 waiting" in (await mod.get("/mod")).text
    # the link works from the keyboard: a plain link, reachable in the header's tab order
    assert re.search(r'<a href="/mod" class="mod-link" id="mod-link"', header(html))


@pytest.mark.hold_first_posts
async def test_held_posts_count_in_the_header_and_the_count_stops_at_99(
    app, make_client, make_user, moderator, group
):
    from app.discussions.models import Post

    newbie = await make_client(await make_user("newbie_nia"))
    d = (
        await newbie.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Hello", "body": "first"},
        )
    ).json()
    mod = await make_client(moderator)
    assert queue_count((await mod.get("/")).text) == "1"
    # 120 more held posts: the header says 99+
    posts = (await mod.get(f"/api/v1/discussions/{d['id']}")).json()["posts"]
    async with app.state.db.sessionmaker() as s:
        first = await s.get_one(Post, posts[0]["id"])
        s.add_all(
            Post(
                discussion_id=d["id"],
                author_id=first.author_id,
                body_md=f"held {n}",
                body_html=f"<p>held {n}</p>",
                status="pending",
            )
            for n in range(120)
        )
        await s.commit()
    assert queue_count((await mod.get("/")).text) == "99+"


async def test_administrators_also_reach_settings_groups_and_appointments(make_client, admin):
    c = await make_client(admin)
    assert 'id="mod-link"' in header((await c.get("/")).text)
    hub = (await c.get("/mod")).text
    for link in HUB_LINKS + ADMIN_LINKS:
        assert f'href="{link}"' in hub, link
        assert (await c.get(link)).status_code == 200, link


async def test_profiles_link_to_the_members_moderation_page_for_moderators_only(
    make_client, member, moderator, admin
):
    url = f"/users/{member.username}"
    link = f'href="/mod/users/{member.username}"'
    for user in (moderator, admin):
        html = (await (await make_client(user)).get(url)).text
        assert link in html
    for c in (await make_client(member), await make_client()):
        assert link not in (await c.get(url)).text
    page = await (await make_client(moderator)).get(f"/mod/users/{member.username}")
    assert page.status_code == 200 and member.username in page.text


async def test_the_count_costs_moderators_no_extra_statement(
    make_client, make_user, group, count_queries
):
    """A page costs a moderator the statements it costs a member (the discussion page's
    count for members is held by test_discussion_page_queries_do_not_grow)."""
    counts = {}
    for role in (Role.member, Role.moderator):
        c = await make_client(await make_user(f"counted_{role.value}", role))
        await c.get("/groups")
        with count_queries() as statements:
            assert (await c.get("/groups")).status_code == 200
        counts[role] = len(statements)
    assert counts[Role.member] == counts[Role.moderator], counts
