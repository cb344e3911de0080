from datetime import timedelta

from sqlalchemy import update

from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion


async def test_group_lists_discussions_by_latest_activity_with_keyset_pages(
    app, make_client, member, group, session
):
    async with app.state.db.sessionmaker() as s:
        ids = []
        for n in range(7):
            w = await posting.start_discussion(
                s, author=member, group=group, title=f"D{n}", body="b"
            )
            ids.append(w.discussion.id)
        await s.commit()
    base = utcnow()
    for n, discussion_id in enumerate(ids):
        # equal timestamps for two of them: the id breaks the tie
        stamp = base - timedelta(minutes=n if n != 4 else 3)
        await session.execute(
            update(Discussion).where(Discussion.id == discussion_id).values(last_activity_at=stamp)
        )
    await session.commit()
    c = await make_client(member)
    seen, cursor = [], None
    while True:
        url = f"/api/v1/groups/{group.slug}/discussions?limit=3"
        if cursor:
            url += f"&cursor={cursor}"
        page = (await c.get(url)).json()
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["D0", "D1", "D2", "D4", "D3", "D5", "D6"]
    # a reply moves its discussion to the top
    await c.api("POST", f"/api/v1/discussions/{ids[6]}/posts", json={"body": "bump"})
    first = (await c.get(f"/api/v1/groups/{group.slug}/discussions?limit=1")).json()
    assert first["items"][0]["title"] == "D6"
    html = await c.get(f"/groups/{group.slug}")
    assert html.status_code == 200 and "D6" in html.text


async def test_empty_group_shows_a_helpful_empty_state(client, group):
    r = await client.get(f"/groups/{group.slug}")
    assert r.status_code == 200 and "No discussions here yet" in r.text


async def test_only_admins_create_groups(make_client, member, admin):
    m = await make_client(member)
    r = await m.api("POST", "/api/v1/groups", json={"slug": "caregivers", "name": "Caregivers"})
    assert r.status_code == 403
    a = await make_client(admin)
    r = await a.api("POST", "/api/v1/groups", json={"slug": "caregivers", "name": "Caregivers"})
    assert r.status_code == 201
    r = await a.api("POST", "/api/v1/groups", json={"slug": "caregivers", "name": "Again"})
    assert r.status_code == 409
    r = await a.api("POST", "/api/v1/groups", json={"slug": "Bad Slug", "name": "x"})
    assert r.status_code == 422
