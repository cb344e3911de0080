"""The data export: a ZIP whose files hold what the member did (and nothing of others),
streamed in constant memory and rate limited."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
import zipfile

from sqlalchemy import insert

from app.db import utcnow
from app.discussions.models import Discussion, Post
from app.notifications.models import DiscussionFollow
from app.safety.export import export_zip


async def _unzip(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


async def test_the_export_holds_what_the_member_did(
    app, make_client, make_user, member, moderator, group
):
    c = await make_client(member)
    other = await make_client(await make_user("someone_else"))
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "My question", "body": "=SUM(A1) first text"},
    )
    d = r.json()
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    await c.api("PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "second text"})
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "gone soon"})
    gone = r.json()
    await c.api("DELETE", f"/api/v1/posts/{gone['id']}")
    r = await other.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "theirs"})
    theirs = r.json()
    await c.api("POST", f"/api/v1/posts/{theirs['id']}/reactions", json={"kind": "hug"})
    await c.api("POST", f"/api/v1/posts/{theirs['id']}/reactions", json={"kind": "helpful"})
    await c.api(
        "POST", f"/api/v1/posts/{theirs['id']}/flags", json={"reason": "spam", "note": "ads"}
    )
    await c.api("PATCH", "/api/v1/me", json={"bio": "caregiver", "country": "GB"})
    r = await c.api("POST", f"/api/v1/groups/{group.slug}/follow", json={"level": "watching"})
    assert r.status_code in (200, 201, 204), r.text
    r = await c.api("POST", "/api/v1/saved", json={"kind": "discussion", "discussion_id": d["id"]})
    assert r.status_code in (200, 201), r.text
    mod = await make_client(moderator)
    await mod.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "third text", "reason": "tidied"},
    )
    r = await mod.api(
        "PATCH", f"/api/v1/mod/discussions/{d['id']}", json={"locked": True, "reason": "done"}
    )
    assert r.status_code == 204, r.text

    files = await _unzip(await c.get("/api/v1/me/export"))
    assert set(files) == {
        "README.txt",
        "profile.json",
        "posts.json",
        "posts.csv",
        "reactions.json",
        "follows.json",
        "flags.json",
        "notifications.json",
        "sessions.json",
        "tokens.json",
        "moderation.json",
        "saved.json",
    }
    profile = json.loads(files["profile.json"])
    assert profile["username"] == member.username and profile["email"] == member.email
    assert profile["bio"] == "caregiver" and profile["country"] == "GB"
    posts = json.loads(files["posts.json"])
    assert [p["id"] for p in posts] == [opening["id"], gone["id"]]
    assert posts[0]["body"] == "third text"
    assert [v["body"] for v in posts[0]["earlier_versions"]] == [
        "=SUM(A1) first text",
        "second text",
    ]
    assert posts[0]["earlier_versions"][1]["edited_by"] == moderator.username
    assert posts[1]["deleted_at"] is not None and posts[1]["body"] == "gone soon"
    rows = list(csv.DictReader(io.StringIO(files["posts.csv"].decode())))
    assert [r["id"] for r in rows] == [str(opening["id"]), str(gone["id"])]
    reactions = json.loads(files["reactions.json"])
    assert sorted(r["kind"] for r in reactions) == ["helpful", "hug"]
    assert {r["post_id"] for r in reactions} == {theirs["id"]}
    flags = json.loads(files["flags.json"])
    assert [(f["post_id"], f["reason"], f["note"]) for f in flags] == [
        (theirs["id"], "spam", "ads")
    ]
    follows = json.loads(files["follows.json"])
    assert [f["discussion_id"] for f in follows["discussions"]] == [d["id"]]
    assert follows["groups"] == [{"group": group.slug, "name": group.name, "level": "watching"}]
    notifications = json.loads(files["notifications.json"])
    assert any("tidied" in (n["message"] or "") for n in notifications)
    sessions = json.loads(files["sessions.json"])
    assert len(sessions) == 1 and "id" not in sessions[0] and "key" not in sessions[0]
    moderation = json.loads(files["moderation.json"])
    assert [(m["moderator"], m["action"], m["reason"]) for m in moderation] == [
        (moderator.username, "edit_post", "tidied"),
        (moderator.username, "lock", "done"),  # their discussion
    ]
    assert [s["discussion_id"] for s in json.loads(files["saved.json"])] == [d["id"]]
    everything = b"".join(files.values()).decode()
    assert "theirs" not in everything and "someone_else@" not in everything
    assert "token_hash" not in everything and "password" not in everything.replace(
        "password_changed_at", ""
    )


async def test_the_settings_button_downloads_it_and_it_is_rate_limited(
    app, make_client, member, client
):
    c = await make_client(member)
    page = await c.get("/settings")
    assert 'href="/settings/export"' in page.text and "Download my data" in page.text
    files = await _unzip(await c.get("/settings/export"))
    assert json.loads(files["profile.json"])["username"] == member.username
    assert (await client.get("/api/v1/me/export")).status_code == 401
    app.state.rate_limiter.enabled = True
    try:
        codes = [(await c.get("/api/v1/me/export")).status_code for _ in range(4)]
    finally:
        app.state.rate_limiter.enabled = False
    assert codes[-1] == 429 and 200 in codes


async def _peak_while_exporting(app, user_id: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        size = 0
        async for chunk in export_zip(app.state.db.sessionmaker, user_id=user_id):
            size += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, size


async def test_an_export_of_ten_thousand_posts_streams_in_constant_memory(
    app, make_client, make_user, member, group
):
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Diary", "body": "day 0"},
        )
    ).json()
    small, big = await make_user("small_writer"), await make_user("big_writer")
    body = "A day with neutropenia: ANC 310, tired, a walk in the park. " * 8
    async with app.state.db.sessionmaker() as s:
        for user, count in ((small, 1_000), (big, 10_000)):
            rows = [
                dict(
                    discussion_id=d["id"],
                    author_id=user.id,
                    depth=0,
                    body_md=f"{n} {body}",
                    body_html="<p>x</p>",
                    created_at=utcnow(),
                    status="visible",
                )
                for n in range(count)
            ]
            for start in range(0, count, 2_000):
                await s.execute(insert(Post), rows[start : start + 2_000])
        await s.commit()
    small_peak, small_size = await _peak_while_exporting(app, small.id)
    big_peak, big_size = await _peak_while_exporting(app, big.id)
    assert big_size > 5 * small_size  # ten times the posts, much more output...
    assert big_peak < 2 * small_peak  # ...in the same memory
    assert big_peak < 16 * 1024 * 1024


async def test_an_export_of_ten_thousand_follows_streams_in_constant_memory(
    app, make_user, member, group
):
    """Replying follows a discussion: a member's follows grow with what they wrote, and are
    read in batches like the posts."""
    small, big = await make_user("small_follower"), await make_user("big_follower")
    now = utcnow()
    async with app.state.db.sessionmaker() as s:
        ids = list(
            (
                await s.scalars(
                    insert(Discussion).returning(Discussion.id),
                    [
                        dict(
                            group_id=group.id,
                            author_id=member.id,
                            title=f"Counts after chemo, week {n}",
                            slug=f"counts-after-chemo-week-{n}",
                            created_at=now,
                            last_activity_at=now,
                            status="visible",
                        )
                        for n in range(10_000)
                    ],
                )
            ).all()
        )
        for user, count in ((small, 1_000), (big, 10_000)):
            rows = [
                dict(user_id=user.id, discussion_id=i, level="watching", created_at=now)
                for i in ids[:count]
            ]
            for start in range(0, count, 2_000):
                await s.execute(insert(DiscussionFollow), rows[start : start + 2_000])
        await s.commit()
    small_peak, small_size = await _peak_while_exporting(app, small.id)
    big_peak, big_size = await _peak_while_exporting(app, big.id)
    assert big_size > 5 * small_size
    assert big_peak < 2 * small_peak
    chunks = [c async for c in export_zip(app.state.db.sessionmaker, user_id=big.id)]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    files = json.loads(archive.read("follows.json"))
    assert [f["discussion_id"] for f in files["discussions"]] == ids
    assert files["discussions"][0] == {
        "discussion_id": ids[0],
        "title": "Counts after chemo, week 0",
        "level": "watching",
    }
    assert files["groups"] == []
