"""A search's statements are built once per shape of query (`engine._plan`): the words,
the operators' values and the viewer's id are bound when they run. So one statement
serves every member of a role, each seeing their own held posts and nobody else's; and
the ways the engines are spared work (PostgreSQL's newest documents first, SQLite's
snippets made in one walk) find what the plain statements found."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from app.discussions.posting import reply, start_discussion
from app.groups.models import Group
from app.search import engine
from app.search.query import parse_query


async def search(session: Any, q: str, viewer: Any, **kw: Any) -> Any:
    return await engine.search(session, parsed=parse_query(q), viewer=viewer, **kw)


@pytest.mark.hold_first_posts
async def test_one_statement_serves_every_member_each_seeing_their_own_held_posts(
    app, session, make_user, group, mentor
):
    ann = await make_user("held_ann")
    bob = await make_user("held_bob")
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        opened = await start_discussion(
            s, author=await s.merge(mentor), group=g, title="Shape question", body="sharedqz"
        )
        for author in (ann, bob):
            held = await reply(
                s,
                author=await s.merge(author),
                discussion=opened.discussion,
                body=f"sharedqz held by {author.username}",
            )
            assert held.pending
        await s.commit()

    engine._plan.cache_clear()
    seen = {}
    for viewer in (ann, bob):
        hits = (await search(session, "sharedqz", viewer)).hits
        seen[viewer.username] = sorted((h.snippet.striptags(), h.marker) for h in hits)
    # one plan for both members (same role, same shape): their ids were bound, not built in
    assert engine._plan.cache_info().currsize == 1
    for name, other in (("held_ann", "held_bob"), ("held_bob", "held_ann")):
        texts = " ".join(text for text, _ in seen[name])
        assert f"held by {name}" in texts and f"held by {other}" not in texts, seen
        assert "held for review" in [marker for _, marker in seen[name]], seen
    # a visitor's shape is another plan, and finds neither held reply
    hits = (await search(session, "sharedqz", None)).hits
    assert [h.marker for h in hits] == [None]
    assert engine._plan.cache_info().currsize == 2


@pytest.fixture
async def many(app: Any, group: Any, mentor: Any) -> None:
    """Nine posts saying `windowqz`, between posts that do not."""
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        opened = await start_discussion(
            s, author=author, group=g, title="windowqz question", body="windowqz first"
        )
        for i in range(8):
            await reply(s, author=author, discussion=opened.discussion, body=f"other {i}")
            await reply(s, author=author, discussion=opened.discussion, body=f"windowqz reply {i}")
        await s.commit()


def _seen(results: Any) -> Any:
    return (
        [(h.document_id, str(h.snippet)) for h in results.hits],
        results.total,
        results.total_capped,
    )


async def test_newest_documents_first_finds_the_same_window(session, many, monkeypatch):
    """Both engines look for the newest WINDOW matches among the newest documents first
    (PostgreSQL a range of the primary key; SQLite the index of the newest documents,
    `search_fts_recent`), then among all of them when too few are recent: the same window
    either way."""
    pg = engine.is_postgres(session)
    # PostgreSQL: how many documents are recent; SQLite: whether its recent index is read
    first, others = (10**9, (3, 0)) if pg else (True, (False,))
    found = {}
    for window in (500, 4):
        for recent in (first, *others):
            monkeypatch.setattr(engine, "WINDOW", window)
            monkeypatch.setattr(engine, "RECENT_DOCUMENTS" if pg else "RECENT_FIRST", recent)
            engine._plan.cache_clear()
            found[window, recent] = _seen(await search(session, "windowqz", None))
    engine._plan.cache_clear()
    assert len(found[500, first][0]) == 9
    # a window of 4: the newest four matches, and (the window being full) the older one
    # whose title says the word, found whichever documents were recent
    snippets = [snippet for _, snippet in found[4, first][0]]
    assert len(snippets) == 5 and "<mark>windowqz</mark> first" in snippets
    for recent in others:
        assert found[500, recent] == found[500, first]
        assert found[4, recent] == found[4, first]


async def test_snippets_made_in_one_walk_equal_those_sought_one_by_one(session, many, monkeypatch):
    if engine.is_postgres(session):
        pytest.skip("PostgreSQL makes each snippet from its row")
    found = {}
    for gap in (10**9, 0):  # every id in one run; each id a run of its own
        monkeypatch.setattr(engine, "SNIPPET_GAP", gap)
        for q in ("windowqz", "order:latest windowqz"):
            found[gap, q] = _seen(await search(session, q, None, limit=5))
    for q in ("windowqz", "order:latest windowqz"):
        assert found[10**9, q] == found[0, q]
        assert all("<mark>windowqz</mark>" in snippet for _, snippet in found[0, q][0])


async def test_snippets_of_the_newest_documents_equal_those_of_every_document(
    session, many, monkeypatch
):
    """SQLite makes the snippets of the newest RECENT_DOCUMENTS documents in their own
    index (`search_fts_recent`), the others in the index of every document: the same
    snippets whichever index a row's come from."""
    if engine.is_postgres(session):
        pytest.skip("PostgreSQL makes each snippet from its row")
    found = {}
    # every document counted among the newest; none of them; the newest four
    for recent in (10**9, 0, 4):
        monkeypatch.setattr(engine, "RECENT_DOCUMENTS", recent)
        engine._plan.cache_clear()
        for q in ("windowqz", "order:latest windowqz", '"windowqz reply"'):
            found[recent, q] = _seen(await search(session, q, None))
    engine._plan.cache_clear()
    for q in ("windowqz", "order:latest windowqz", '"windowqz reply"'):
        assert found[10**9, q] == found[0, q] == found[4, q], q
        assert all("<mark>windowqz" in snippet for _, snippet in found[0, q][0])
        assert len(found[0, q][0]) >= 8


async def test_a_group_is_looked_up_first_and_an_unknown_one_holds_nothing(session, many, group):
    """PostgreSQL writes the group's id into the statement (its statistics then lead the
    plan); SQLite reads it by a subquery. Either way a group finds its own posts and a
    group that does not exist finds nothing, whatever the words."""
    slug = group.slug
    found = await search(session, f"#{slug} windowqz", None)
    assert len(found.hits) == 9 and found.total == 9
    latest = await search(session, f"#{slug} order:latest", None)
    assert latest.total >= 17 and all(h.group_slug == slug for h in latest.hits)
    for q in ("#no-such-group windowqz", "#no-such-group"):
        nothing = await search(session, q, None)
        assert (nothing.hits, nothing.total, nothing.total_capped) == ([], 0, False), q


async def test_an_author_is_looked_up_first_and_an_unknown_one_holds_nothing(
    app, session, many, mentor, make_user
):
    """`@name` is read before the words are searched: a name nobody has ends the search
    there (given as a subquery, SQLite walked every match of the words to find none)."""
    await make_user("quiet_quinn")
    found = await search(session, f"@{mentor.username} windowqz", None)
    assert len(found.hits) == 9 and found.total == 9
    assert (await search(session, f"@{mentor.username.upper()} windowqz", None)).total == 9
    assert (await search(session, "@quiet_quinn windowqz", None)).total == 0
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine_ = session.bind.sync_engine
    event.listen(engine_, "before_cursor_execute", seen)
    try:
        for q in ("@no_such_member windowqz", "@no_such_member"):
            statements.clear()
            nothing = await search(session, q, None)
            assert (nothing.hits, nothing.total, nothing.total_capped) == ([], 0, False), q
            searched = [s for s in statements if "search" in s.lower()]
            assert not searched, (q, statements)
    finally:
        event.remove(engine_, "before_cursor_execute", seen)


async def test_older_matches_found_range_by_range_are_the_same_window(session, many, monkeypatch):
    """PostgreSQL looks for the older matches in ranges of ids going back (as wide as the
    recent documents' share of matches says, then wider) before all the rest: ranges of
    one document each, a few or none at all find the same window."""
    if not engine.is_postgres(session):
        pytest.skip("SQLite searches every document at once when the recent hold too few")
    monkeypatch.setattr(engine, "WINDOW", 4)
    found = {}
    for recent, steps in ((10**9, 3), (3, 0), (3, 3), (3, 50), (1, 50)):
        monkeypatch.setattr(engine, "RECENT_DOCUMENTS", recent)
        monkeypatch.setattr(engine, "OLDER_STEPS", steps)
        engine._plan.cache_clear()
        found[recent, steps] = _seen(await search(session, "windowqz", None))
    engine._plan.cache_clear()
    assert len(found[10**9, 3][0]) == 5
    for key, seen in found.items():
        assert seen == found[10**9, 3], key
