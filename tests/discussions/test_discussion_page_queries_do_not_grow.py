"""The discussion page costs the same few statements with 5 replies as with 200."""

from app.discussions import posting


async def seed_discussion(app, author, group, replies: int):
    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(s, author=author, group=group, title="Q", body="?")
        d = written.discussion
        parent = None
        for n in range(replies):
            # every third reply answers the previous one, building deep branches
            reply_to = parent if n % 3 else None
            w = await posting.reply(
                s, author=author, discussion=d, body=f"reply **{n}**", reply_to_id=reply_to
            )
            parent = w.post.id
        await s.commit()
        return d.id, d.slug


async def test_discussion_page_statement_count_is_constant(
    app, make_client, member, make_user, group, count_queries
):
    small = await seed_discussion(app, member, group, 5)
    large = await seed_discussion(app, member, group, 200)
    reader = await make_client(await make_user())
    urls = [
        f"/discussions/{small[0]}/{small[1]}",
        f"/discussions/{large[0]}/{large[1]}",
        f"/discussions/{large[0]}/{large[1]}?page=3",
    ]
    counts = []
    for url in urls:
        await reader.get(url)  # warm: a session touch happens at most once
        with count_queries() as statements:
            r = await reader.get(url)
        assert r.status_code == 200
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts
    # the sign-in look-up (session + member + unread count); the page (reading.
    # DISCUSSION_PAGE: discussion + group + follow level, and the posts + authors + the
    # reader's own reactions, in one statement)
    assert counts[0] == 2, counts


async def test_api_discussion_statement_count_is_constant(
    app, make_client, member, group, count_queries
):
    small = await seed_discussion(app, member, group, 5)
    large = await seed_discussion(app, member, group, 200)
    c = await make_client(member)
    counts = []
    for discussion_id, _slug in (small, large):
        await c.get(f"/api/v1/discussions/{discussion_id}")
        with count_queries() as statements:
            assert (await c.get(f"/api/v1/discussions/{discussion_id}")).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
