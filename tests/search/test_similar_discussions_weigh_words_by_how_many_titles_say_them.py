"""Similar discussions weigh each typed word by how many titles say it (migration
v20similar keeps the counts with the titles): the rare word typed (the condition) finds
an older discussion however many newer titles share a common word with the title, titles
saying more of the rare words come first, and a word no title says is not looked for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.discussions.posting import start_discussion
from app.groups.models import Group
from app.search import engine


async def _open(app: Any, group: Any, mentor: Any, titles: list[str]) -> None:
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        author = await s.merge(mentor)
        for title in titles:
            await start_discussion(s, author=author, group=g, title=title, body="x")
        await s.commit()


async def _titles(session: Any, typed: str) -> list[str]:
    return [s.title for s in await engine.similar_discussions(session, title=typed, viewer=None)]


async def test_a_rare_word_finds_an_older_discussion_past_newer_common_titles(
    app, session, group, mentor
):
    """More newer titles say the common word than the old code's window of 500 held: it
    ranked only those, and missed the one naming the condition."""
    await _open(app, group, mentor, ["Living with zebrapox"])
    newer = engine.WINDOW + 10
    await _open(app, group, mentor, [f"Living well, week {i}" for i in range(newer)])
    found = await _titles(session, "Living with zebrapox at work")
    assert found[0] == "Living with zebrapox", found
    # the common word alone still finds the newest titles saying it
    assert await _titles(session, "Living alone") == [
        f"Living well, week {i}" for i in range(newer - 1, newer - 6, -1)
    ]


async def test_titles_saying_more_of_the_rare_words_come_first(app, session, group, mentor):
    await _open(app, group, mentor, ["Quokkitis and zebrapox together"])
    await _open(app, group, mentor, ["Zebrapox travel", "Quokkitis travel"])
    await _open(app, group, mentor, [f"Blood results, week {i}" for i in range(8)])
    found = await _titles(session, "zebrapox with quokkitis, blood results?")
    assert found[0] == "Quokkitis and zebrapox together", found
    assert set(found[1:3]) == {"Zebrapox travel", "Quokkitis travel"}, found
    # the common words, both said: the newest titles saying them
    assert found[3:] == ["Blood results, week 7", "Blood results, week 6"], found


async def test_a_half_typed_word_is_not_looked_for(app, session, group, mentor):
    await _open(app, group, mentor, ["Zebrapox diet"])
    assert await _titles(session, "zebrap") == []
    assert await _titles(session, "Zebrapox di") == ["Zebrapox diet"]


async def test_the_counts_follow_the_titles(app, session, group, mentor):
    """Triggers count a title's words as it comes, changes and goes (the words as the
    engine indexes them: Porter stems on SQLite, english lexemes on PostgreSQL)."""
    counts = text(
        "SELECT word, titles FROM search_fts_title_words WHERE word IN ('zebrapox', 'diet')"
    )
    every = text("SELECT titles FROM search_fts_title_words WHERE word = ''")
    before = (await session.execute(every)).scalar() or 0
    await _open(app, group, mentor, ["Zebrapox diet", "Zebrapox, zebrapox again"])
    assert dict((await session.execute(counts)).all()) == {"zebrapox": 2, "diet": 1}
    assert (await session.execute(every)).scalar() == before + 2
    document = text("SELECT id FROM search_documents WHERE title = 'Zebrapox diet'")
    doc_id = (await session.execute(document)).scalar_one()
    await session.execute(
        text("UPDATE search_documents SET title = 'Quokkitis diet' WHERE id = :id"), {"id": doc_id}
    )
    assert dict((await session.execute(counts)).all()) == {"zebrapox": 1, "diet": 1}
    await session.execute(text("DELETE FROM search_documents WHERE id = :id"), {"id": doc_id})
    left = dict((await session.execute(counts)).all())
    assert left.get("zebrapox") == 1 and not left.get("diet"), left
    assert (await session.execute(every)).scalar() == before + 1
    # and each word's postings (the titles saying it, read newest first)
    postings = text(
        "SELECT count(*) FROM search_fts_title_postings WHERE word IN ('zebrapox', 'diet')"
    )
    assert (await session.execute(postings)).scalar() == 1


async def test_the_statements_are_the_same_whatever_the_words(
    app, session, group, mentor, monkeypatch
):
    """The counts, then the ranking with the descriptions: two statements, however many words
    are typed and titles say them; each word finds at most SIMILAR_PER_WORD titles."""
    monkeypatch.setattr(engine, "SIMILAR_PER_WORD", 3)
    engine._similar_statement.cache_clear()
    real = engine._rows
    fetched: list[int] = []

    async def counted(s: Any, stmt: Any, params: Any = None, **kw: Any) -> list[Any]:
        rows = await real(s, stmt, params, **kw)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(engine, "_rows", counted)
    await _open(app, group, mentor, [f"Growqz flarqz title {i}" for i in range(12)])
    try:
        found = {}
        for typed in ("growqz", "growqz flarqz title"):
            fetched.clear()
            found[typed] = await engine.similar_discussions(session, title=typed, viewer=None)
            assert len(fetched) == 2, (typed, fetched)
    finally:
        engine._similar_statement.cache_clear()
    # the newest three titles each word finds
    assert [s.title for s in found["growqz"]] == [f"Growqz flarqz title {i}" for i in (11, 10, 9)]
    assert fetched == [3, 3]
