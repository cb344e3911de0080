"""Whatever is typed into the search box is a valid search: engine syntax characters, the
bad-input corpora (naughty strings, XSS, SQL injection) as queries, bad dates and cursors.
No 5xx, no engine error, the query shown back escaped, snippets with <mark> as their only tag."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markupsafe import escape

from app.discussions.posting import reply, start_discussion
from app.search import engine
from app.search.query import parse_query
from tests.core.test_bad_input_corpora import audit, corpus_files, load_corpus

ENGINE_SYNTAX = [
    '"',
    '""',
    '"unbalanced',
    'a"b',
    "*",
    "neutro*",
    "NEAR(a b)",
    "NEAR",
    "a NEAR b",
    "a:b",
    "title:x",
    "{title}: x",
    "-",
    "-neutrophil",
    "a - b",
    "(",
    ")",
    "((a)",
    "a OR b",
    "AND",
    "NOT",
    "a AND NOT b",
    "^a",
    "a + b",
    "!a & b | c",
    "<->",
    "a <-> b",
    "'",
    "':*",
    "\\",
    "%",
    "_",
    "@",
    "#",
    "@@",
    "##",
    "in:",
    "before:",
    "after:2026-02-30",
    "before:2026-13-01",
    "before:yesterday",
    "after:99999-01-01",
    "status:maybe",
    "order:random",
    "\u0000",
    "\ue000mark\ue001",
    "1,500",
    "G-CSF",
]
MARK_ONLY = re.compile(r"</?(?!mark>)[a-zA-Z]")


@pytest.fixture
async def corpus_posts(app: Any, member: Any, group: Any) -> None:
    """A few posts made of corpus strings, so queries from the corpora find something."""
    async with app.state.db.sessionmaker() as s:
        author = await s.merge(member)
        from app.groups.models import Group

        g = await s.get_one(Group, group.id)
        written = await start_discussion(
            s, author=author, group=g, title="<script>alert(1)</script> title", body="x"
        )
        for name in corpus_files():
            strings = load_corpus(name)
            await reply(
                s,
                author=author,
                discussion=written.discussion,
                body="\n\n".join(strings[:40]),
                confirm_personal_information=True,  # the corpora hold addresses (app/safety)
            )
        await s.commit()


def check_snippet(snippet: str) -> None:
    assert not MARK_ONLY.search(snippet), snippet
    assert snippet.count("<mark>") == snippet.count("</mark>"), snippet


@pytest.mark.parametrize("q", ENGINE_SYNTAX)
async def test_engine_syntax_is_never_an_engine_error(q, app, session, corpus_posts, moderator):
    for viewer in (None, moderator):
        for order in ("", " order:latest"):
            results = await engine.search(session, parsed=parse_query(q + order), viewer=viewer)
            for hit in results.hits:
                check_snippet(str(hit.snippet))
    similar = await engine.similar_discussions(session, title=q, viewer=None)
    assert len(similar) <= 5


@pytest.mark.parametrize("name", corpus_files())
async def test_corpora_as_queries_answer_without_error_and_escaped(
    name, app, session, corpus_posts, make_client
):
    strings = load_corpus(name)
    found = 0
    for q in strings:  # every string straight through the engine, as a visitor
        results = await engine.search(session, parsed=parse_query(q[:500]), viewer=None)
        found += len(results.hits)
        for hit in results.hits:
            check_snippet(str(hit.snippet))
    assert found > 0, "the corpus posts are found by their own strings"
    client = await make_client()
    for q in strings[::10]:  # a sample through the page and the API
        q = q[:500]
        page = await client.get("/search", params={"q": q})
        assert page.status_code in (200, 422), (q, page.status_code)
        if page.status_code == 200:
            assert not audit(page.text).problems, (q, audit(page.text).problems)
            assert f'value="{escape(q)}"' in page.text or "\x00" in q or "\r" in q, q
        api = await client.get("/api/v1/search", params={"q": q})
        assert api.status_code in (200, 422), (q, api.status_code)
        if api.status_code == 200:
            for r in api.json()["results"]:
                check_snippet(r["snippet_html"])
        similar = await client.get("/api/v1/discussions/similar", params={"title": q})
        assert similar.status_code in (200, 422), (q, similar.status_code)


async def test_long_queries_bad_dates_and_bad_cursors_are_4xx_never_5xx(client):
    long = "neutrophil " * 1000  # 11 KB
    for url in ("/search", "/api/v1/search"):
        r = await client.get(url, params={"q": long})
        assert r.status_code == 422, url
    r = await client.get("/api/v1/discussions/similar", params={"title": long})
    assert r.status_code == 422
    r = await client.get("/api/v1/search", params={"q": long})
    assert set(r.json()) >= {"detail", "code"}
    for bad in ("x", "eyJ4Ijox", "W10", "WyJyZWwiLDEsIm5hbiIsMV0", "%%%", "WyJuZXciLCJ4IiwxXQ"):
        for url in ("/search", "/api/v1/search"):
            r = await client.get(url, params={"q": "neutrophil", "cursor": bad})
            assert r.status_code == 422, (url, bad, r.status_code)
    for field in ("after", "before"):
        r = await client.get("/api/v1/search", params={"q": "x", field: "2026-02-30"})
        assert r.status_code == 422 and r.json()["code"] == "bad_date"
    r = await client.get("/api/v1/search", params={"q": "x", "type": "nope"})
    assert r.status_code == 422
    r = await client.get("/api/v1/search", params={"q": "before:2026-02-30 after:nonsense"})
    assert r.status_code == 200  # bad dates typed as operators are words


def test_parser_reads_operators_and_treats_the_unknown_as_words():
    p = parse_query(
        'neutrophil "bone  marrow" @dsm #Blood-Cancers in:title status:unanswered '
        "before:2026-01-31 after:2025-12-01 order:latest foo:bar before:2026-02-30"
    )
    assert p.words == ["neutrophil", "foo:bar", "2026-02-30"]
    assert p.phrases == ["bone marrow"]
    assert (p.author, p.group, p.in_title, p.status, p.order) == (
        "dsm",
        "blood-cancers",
        True,
        "unanswered",
        "latest",
    )
    assert str(p.before) == "2026-01-31" and str(p.after) == "2025-12-01"
    assert parse_query("@").words == [] and parse_query("").terms == []
