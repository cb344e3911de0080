"""A group whose only discussion is pinned does not say "No discussions here yet"."""

from __future__ import annotations


async def test_pinned_only_group_is_not_empty(make_client, member, moderator, group):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Read this first", "body": "Welcome."},
    )
    d = r.json()
    mod = await make_client(moderator)
    assert (await mod.form(f"/mod/discussions/{d['id']}/pin")).status_code == 303
    html = (await c.get(f"/groups/{group.slug}")).text
    assert "Pinned by moderators" in html and "Read this first" in html
    assert "No discussions here yet" not in html
    assert "No other discussions yet" in html


async def test_really_empty_group_still_invites_the_first_question(make_client, group):
    html = (await (await make_client()).get(f"/groups/{group.slug}")).text
    assert "No discussions here yet" in html and "Ask the first question" in html
