async def test_member_starts_discussion_and_replies_threaded(make_client, member, group, make_user):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Low neutrophils at 1 year", "body": "My son is **310**."},
    )
    assert r.status_code == 201, r.text
    d = r.json()
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "first"})
    assert r.status_code == 201, r.text
    first = r.json()
    other = await make_client(await make_user())
    r = await other.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "nested", "reply_to": first["id"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["depth"] == 1
    page = await c.get(d["url"])
    assert page.status_code == 200
    assert "nested" in page.text and "<strong>310</strong>" in page.text
    r = await c.get(f"/discussions/{d['id']}")
    assert r.status_code == 301 and r.headers["location"] == d["url"]
