"""One corpus, one table of queries and what each must find: the suite runs on SQLite and on
PostgreSQL (KINDRED_TEST_DATABASE_URL), so both engines agree on what is found (ranks may
differ). Rendered text is indexed, not Markdown; stemming in English; lab values and short
medical terms are found as typed."""

from __future__ import annotations

from typing import Any

import pytest

from app.accounts.models import Role
from app.discussions.posting import reply, start_discussion
from app.groups.models import Group
from app.search import engine
from app.search.query import parse_query

CORPUS = [
    ("ANC of 310 after chemo", "Her **ANC** was 310 on Monday, then 1,500 after G-CSF."),
    (
        "Filgrastim side effects",
        "Bone pain from filgrastim (a G-CSF) is common; ask about loratadine.",
    ),
    ("EBV and CMV positive", "Both EBV and CMV IgG came back positive. What does that mean?"),
    ("Bone marrow biopsy tips", "My first bone marrow biopsy is next week. Any tips for the day?"),
    ("Marrow donors", "How do bone donors and marrow registries work?"),
    ("Hemoglobin 10.5 g/dL", "Is a hemoglobin of 10.5 low for a toddler?"),
    ("Appointments by video", "Can I have **virtual appointments** with the hematologist?"),
    ("Fevers and infections", "He keeps getting infected: three infections this winter."),
    ("Markdown syntax", "A [link text](https://example.org/page) and `inline code` and *stars*"),
]

EXPECTED = {
    "310": {"ANC of 310 after chemo"},
    "1,500": {"ANC of 310 after chemo"},
    "ANC": {"ANC of 310 after chemo"},
    "anc": {"ANC of 310 after chemo"},
    "G-CSF": {"ANC of 310 after chemo", "Filgrastim side effects"},
    "EBV": {"EBV and CMV positive"},
    "CMV": {"EBV and CMV positive"},
    "10.5": {"Hemoglobin 10.5 g/dL"},
    '"bone marrow"': {"Bone marrow biopsy tips"},
    "bone marrow": {"Bone marrow biopsy tips", "Marrow donors"},
    "appointment": {"Appointments by video"},  # stemmed: appointments
    "virtual appointment": {"Appointments by video"},
    "infection": {"Fevers and infections"},  # infections
    "biopsies": {"Bone marrow biopsy tips"},
    "hematologist": {"Appointments by video"},
    "example.org": set(),  # a link's address is markup: its text is indexed, not its target
    "link text": {"Markdown syntax"},
    "marrow in:title": {"Bone marrow biopsy tips", "Marrow donors"},
    "pain in:title": set(),
    "https": set(),  # Markdown syntax and link targets are not in the rendered text
    "zzzz": set(),
}


@pytest.fixture
async def corpus(app: Any, make_user: Any, group: Any) -> None:
    author = await make_user("corpus_carla", Role.mentor)
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        carla = await s.merge(author)
        for title, body in CORPUS:
            await start_discussion(s, author=carla, group=g, title=title, body=body)
        await s.commit()


async def titles(session: Any, q: str, kind: str = "all") -> set[str]:
    results = await engine.search(session, parsed=parse_query(q), viewer=None, kind=kind, limit=50)
    return {h.title for h in results.hits}


async def test_both_engines_find_the_same_documents(session, corpus):
    found = {q: await titles(session, q) for q in EXPECTED}
    wrong = {q: (found[q], want) for q, want in EXPECTED.items() if found[q] != want}
    assert not wrong, wrong


async def test_replies_are_found_as_posts_in_their_discussion(app, session, corpus, make_user):
    helper = await make_user("reply_rick", Role.mentor)
    async with app.state.db.sessionmaker() as s:
        from sqlalchemy import select

        from app.discussions.models import Discussion

        d = await s.scalar(select(Discussion).where(Discussion.title == "Marrow donors"))
        await reply(s, author=await s.merge(helper), discussion=d, body="Try the *registry* site.")
        await s.commit()
    hits = (await engine.search(session, parsed=parse_query("registry"), viewer=None)).hits
    assert [(h.kind, h.title, h.author) for h in hits] == [
        ("discussion", "Marrow donors", "corpus_carla"),
        ("post", "Marrow donors", "reply_rick"),
    ] or [(h.kind, h.title, h.author) for h in hits] == [
        ("post", "Marrow donors", "reply_rick"),
        ("discussion", "Marrow donors", "corpus_carla"),
    ]
    assert await titles(session, "registry", "posts") == {"Marrow donors"}
    posts = (
        await engine.search(session, parsed=parse_query("registry"), viewer=None, kind="posts")
    ).hits
    assert [h.author for h in posts] == ["reply_rick"] and "#post-" in posts[0].url
