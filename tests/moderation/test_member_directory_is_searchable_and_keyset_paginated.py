"""Moderators have a member directory: search by name, filter by role, a page at a time
(keyset on the name), with each member's role, joining date, posts and status."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from app.accounts.models import Role, User
from app.db import utcnow
from app.moderation import members


def names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/mod/users/[^"]+">([^<]+)</a></th>', html)


async def test_directory_lists_name_role_joined_posts_and_status(
    app, make_client, make_user, moderator, group
):
    poster = await make_user("Zed_poster")
    suspended = await make_user("zed_suspended")
    c = await make_client(poster)
    await c.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
    )
    async with app.state.db.sessionmaker() as s:
        await s.execute(
            update(User)
            .where(User.id == suspended.id)
            .values(suspended_at=utcnow(), suspended_until=utcnow() + timedelta(days=3))
        )
        await s.commit()
    mod = await make_client(moderator)
    html = (await mod.get("/mod/users?q=ZED")).text
    assert names(html) == ["Zed_poster", "zed_suspended"]  # case-insensitive, name order
    row = html[html.index(">Zed_poster<") :].split("</tr>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[0] == "Member" and "<time datetime=" in cells[1]
    assert cells[2] == "1" and cells[3] == "Active"
    row = html[html.index(">zed_suspended<") :].split("</tr>", 1)[0]
    assert "Suspended until" in row
    # each name leads to the member's moderation page
    assert 'href="/mod/users/Zed_poster"' in html


async def test_directory_filters_by_role_and_treats_like_wildcards_as_text(
    make_client, make_user, moderator
):
    await make_user("pct_mentor", Role.mentor)
    await make_user("pct_member")
    mod = await make_client(moderator)
    assert names((await mod.get("/mod/users?q=pct&role=mentor")).text) == ["pct_mentor"]
    # "_" and "%" are letters here, not patterns
    assert names((await mod.get("/mod/users?q=%25")).text) == []
    assert names((await mod.get("/mod/users?q=t_m")).text) == ["pct_member", "pct_mentor"]
    assert (await mod.get("/mod/users?role=wizard")).status_code == 422
    assert (await mod.get("/mod/users?q=" + "x" * 31)).status_code == 422
    assert (await mod.get("/mod/users?q=%00")).status_code == 422


async def test_directory_pages_by_name_without_repeats_or_gaps(
    app, make_client, make_user, moderator, monkeypatch
):
    created = [await make_user(f"pager_{n:03d}") for n in range(7)]
    mod = await make_client(moderator)
    async with app.state.db.sessionmaker() as s:
        seen: list[str] = []
        after = ""
        while True:
            page = await members.list_members(
                s, moderator=moderator, query="pager_", after=after, limit=3
            )
            seen += [m.username for m in page.members]
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == [u.username for u in created]
    # the pages' "next" links carry the search and the cursor, and reach everyone
    html = (await mod.get("/mod/users?q=pager_")).text
    assert names(html) == [u.username for u in created] and 'rel="next"' not in html
    monkeypatch.setattr(members, "PAGE_SIZE", 3)
    url, shown = "/mod/users?q=pager_", []
    while url:
        html = (await mod.get(url)).text
        shown += names(html)
        link = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = link.group(1).replace("&amp;", "&") if link else ""
        assert not link or "q=pager_" in url
    assert shown == [u.username for u in created]


async def test_directory_is_for_moderators(make_client, member, mentor):
    assert (await (await make_client(member)).get("/mod/users")).status_code == 403
    assert (await (await make_client(mentor)).get("/mod/users")).status_code == 403
    r = await (await make_client()).get("/mod/users")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
