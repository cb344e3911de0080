"""A locked discussion tells everyone it is locked and by whom, instead of inviting a
signed-in member to "sign in or join to reply"."""

from __future__ import annotations


async def start(c, group, title="Is this normal?"):
    r = await c.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": title, "body": "?"}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_locked_discussion_says_locked_by_whom_to_members_and_visitors(
    make_client, member, make_user, moderator, group, count_queries
):
    d = await start(await make_client(member), group)
    mod = await make_client(moderator)
    r = await mod.form(f"/mod/discussions/{d['id']}/lock", {"reason": "heated"})
    assert r.status_code == 303, r.text

    reader = await make_client(await make_user("reader_rae"))
    html = (await reader.get(d["url"])).text
    assert "This discussion is locked by the moderator mod_colleen" in html
    assert "Replies are closed" in html
    assert "Sign in</a> or" not in html and "to reply." not in html
    assert 'id="composer"' not in html
    # visitors are told the same, not asked to sign in to a discussion nobody can answer
    visitor_html = (await (await make_client()).get(d["url"])).text
    assert "locked by the moderator" in visitor_html and "Sign in</a> or" not in visitor_html
    # moderators keep their composer on a locked discussion
    assert 'id="composer"' in (await mod.get(d["url"])).text

    # the name rides on the page's discussion read: no statement added for members
    await reader.get(d["url"])
    with count_queries() as statements:
        assert (await reader.get(d["url"])).status_code == 200
    assert len(statements) == 2, statements  # sign-in look-up; the page (DISCUSSION_PAGE)


async def test_unlocked_again_the_notice_goes_and_the_composer_returns(
    make_client, member, moderator, group
):
    author = await make_client(member)
    d = await start(author, group)
    mod = await make_client(moderator)
    await mod.form(f"/mod/discussions/{d['id']}/lock")
    await mod.form(f"/mod/discussions/{d['id']}/unlock")
    html = (await author.get(d["url"])).text
    assert "is locked" not in html and 'id="composer"' in html
