"""The notifications page and API: newest first, keyset pages, mark one or all read (only
one's own); the unread count in every page's header, read with the session itself."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select

from app.accounts.models import Role
from app.db import utcnow
from app.notifications.models import Notification


async def start(client: Any, group: Any, body: str = "A question") -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "Counts", "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def reply(client: Any, discussion_id: int, body: str) -> dict[str, Any]:
    r = await client.api("POST", f"/api/v1/discussions/{discussion_id}/posts", json={"body": body})
    assert r.status_code == 201, r.text
    return r.json()


def header_count(html: str) -> str | None:
    match = re.search(r'id="unread-count"( hidden)?>(.*?)</span></a>', html)
    assert match, "no unread count in the header"
    if match.group(1):
        return None
    return re.sub(r"<[^>]+>", "", match.group(2)).replace(": ", "").replace(" unread", "")


async def test_list_read_one_read_all(make_client, make_user, mentor, group, session):
    asker = await make_client(mentor)
    d = await start(asker, group)
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    posts = [await reply(writer, d["id"], f"Answer {n}") for n in range(5)]

    listing = (await asker.get("/api/v1/notifications?limit=2")).json()
    assert listing["unread"] == 5
    assert [n["post_id"] for n in listing["items"]] == [posts[4]["id"], posts[3]["id"]]
    assert listing["items"][0]["text"] == "writer_wes replied to you in “Counts”"
    assert listing["items"][0]["read"] is False
    older = (
        await asker.get(f"/api/v1/notifications?limit=2&cursor={listing['next_cursor']}")
    ).json()
    assert [n["post_id"] for n in older["items"]] == [posts[2]["id"], posts[1]["id"]]
    last = (await asker.get(f"/api/v1/notifications?limit=2&cursor={older['next_cursor']}")).json()
    assert [n["post_id"] for n in last["items"]] == [posts[0]["id"]] and last["next_cursor"] is None
    r = await asker.get("/api/v1/notifications?cursor=not-a-cursor")
    assert r.status_code == 422

    first = listing["items"][0]
    r = await asker.api("POST", f"/api/v1/notifications/{first['id']}/read")
    assert r.status_code == 200 and r.json()["read"] is True
    assert (await asker.get("/api/v1/notifications")).json()["unread"] == 4
    # somebody else's notification is not there for them
    stranger = await make_client(await make_user("stranger_sam"))
    r = await stranger.api("POST", f"/api/v1/notifications/{first['id']}/read")
    assert r.status_code == 404

    html = (await asker.get("/notifications")).text
    assert "writer_wes replied to you in “Counts”" in html
    assert f'href="/notifications/{listing["items"][1]["id"]}"' in html
    assert header_count(html) == "4"
    # following a notification marks it read and goes to the post
    r = await asker.get(f"/notifications/{listing['items'][1]['id']}")
    assert r.status_code == 303 and r.headers["location"] == f"/posts/{posts[3]['id']}"
    r = await asker.form(
        f"/notifications/{older['items'][0]['id']}/read", {"next": "/notifications"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    assert header_count((await asker.get("/")).text) == "2"

    r = await asker.form("/notifications/read-all")
    assert r.status_code == 303
    page = (await asker.get(r.headers["location"])).text
    assert "All your notifications are marked read." in page
    assert header_count(page) is None
    r = await asker.api("POST", "/api/v1/notifications/read-all")
    assert r.status_code == 200 and r.json() == {"unread": 0}


async def test_the_header_says_99_plus_and_counting_stops_at_100(make_client, mentor, session):
    now = utcnow()
    await session.execute(
        insert(Notification),
        [
            {
                "user_id": mentor.id,
                "kind": "moderation",
                "message": f"notice {n}",
                "created_at": now,
            }
            for n in range(150)
        ],
    )
    await session.commit()
    c = await make_client(mentor)
    html = (await c.get("/groups")).text
    assert header_count(html) == "99+"
    assert (await c.get("/api/v1/notifications")).json()["unread"] == 100
    page = (await c.get("/notifications")).text
    assert "notice 149" in page and "Older notifications" in page


async def test_visitors_are_sent_to_sign_in(make_client):
    visitor = await make_client()
    r = await visitor.get("/notifications")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await visitor.get("/api/v1/notifications")).status_code == 401


async def test_moderation_notices_reach_the_author(
    make_client, make_user, moderator, group, session
):
    author = await make_user("author_ann", Role.mentor)
    c = await make_client(author)
    d = await start(c, group)
    p = await reply(c, d["id"], "An answer")
    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{p['id']}/delete", json={"reason": "off-topic"})
    assert r.status_code == 204, r.text
    items = (await c.get("/api/v1/notifications")).json()["items"]
    assert items[0]["kind"] == "moderation"
    assert "A moderator removed your post" in items[0]["text"] and "off-topic" in items[0]["text"]
    assert items[0]["url"] is None
    rows = await session.scalars(select(Notification.kind).where(Notification.user_id == author.id))
    assert list(rows) == ["moderation"]


async def test_the_signed_in_page_reads_the_count_with_the_session(
    make_client, make_user, mentor, group, count_queries
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    await reply(writer, d["id"], "@mentor_mo hello")
    await asker.get("/groups")
    with count_queries() as statements:
        r = await asker.get("/groups")
    assert header_count(r.text) == "1"
    first = statements[0]
    assert "FROM users JOIN user_sessions" in first and "notifications" in first
    assert not any("notifications" in s for s in statements[1:])
