"""One search over two engines: SQLite FTS5 and PostgreSQL full-text search.

The engine query is built here from parsed tokens, every term quoted (FTS5) or passed as a
bound parameter to `phraseto_tsquery` (PostgreSQL), so nothing a person types is engine
syntax. Who may see a result is decided in the same statement, by the access layer's rule
over the facts each document keeps of its post (see `post_visibility`), so results,
snippets and counts hold only what the searcher may see.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property, lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from markupsafe import Markup, escape
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    TypeDecorator,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    not_,
    select,
    table,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FromClause, TableClause

from app.access.visibility import PostFacts, readable_posts, visible_library_pages
from app.accounts.models import Actor, User
from app.core.errors import Invalid
from app.core.rows import Query, fetch_raw
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.library.models import LibraryPage
from app.search.index import POST
from app.search.library import LIBRARY
from app.search.models import SearchDocument as Doc
from app.search.query import ParsedQuery
from app.search.text import MARK_END, MARK_START

FTS = table("search_fts", column("rowid"), column("title"), column("body"))
FTS_NAME: ColumnElement[Any] = literal_column("search_fts")
# SQLite: the titles alone (opening posts, library pages), so that a title search pays for
# the titles that say a word, not for every body that does (bm25 counts them all: its IDF)
TITLES = table("search_fts_titles", column("rowid"), column("title"))
TITLES_NAME: ColumnElement[Any] = literal_column("search_fts_titles")
# SQLite: the newest RECENT_DOCUMENTS documents alone, kept by triggers (migration s5window),
# so that ranking the newest matches of a common word counts its matches among those (bm25's
# IDF), not among every document: the cost of a search stays as the index grows
RECENT = table("search_fts_recent", column("rowid"), column("title"), column("body"))
RECENT_NAME: ColumnElement[Any] = literal_column("search_fts_recent")
# SQLite: the library's pages alone (migration s5window), ranked there: in `search_fts` bm25
# counted every post that says the word before ranking the few pages that do
LIBRARY_FTS = table("search_fts_library", column("rowid"), column("title"), column("body"))
LIBRARY_NAME: ColumnElement[Any] = literal_column("search_fts_library")
# PostgreSQL: the newest documents' words, kept by triggers (migration r21pgrecent), with a
# GIN index of their own: the newest matches are chosen there, whatever the forum's size
RECENT_WORDS = table("search_recent", column("id", Integer), column("tsv"))
TSV: ColumnElement[Any] = literal_column("search_documents.tsv")
TITLE_TSV: ColumnElement[Any] = literal_column("search_documents.title_tsv")
# the partial GIN index on title_tsv covers the rows with a title (opening posts)
HAS_TITLE: ColumnElement[bool] = literal_column("search_documents.title <> ''", Boolean)
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0  # bm25 column weights; PostgreSQL: A=1.0, B=0.4


class _Score(TypeDecorator[float]):
    """A rank, a float on either database: the drivers return one already (asyncpg's
    float8, SQLite's REAL), so no conversion is looked up from the column's type code,
    which a statement run on the driver (`_rows`) does not have."""

    impl = Float
    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return None


SCORE = _Score()
SNIPPET_WORDS = 24
# PostgreSQL: a snippet is made from this many characters of the text (`snippet_window`),
# starting this many before the first place it says the first term
SNIPPET_CHARS, SNIPPET_BEFORE = 320, 50
COUNT_CAP = 1000
# SQLite: ids of a page's rows this close together have their snippets made in one walk
SNIPPET_GAP = 1000
# PostgreSQL: how many of the newest documents are searched first for the newest matches
# (SQLite's `search_fts_recent` holds as many: the number is written in its triggers)
RECENT_DOCUMENTS = 20_000
# PostgreSQL: how many of the newest documents `search_recent` keeps (migration r21pgrecent):
# the newest matches older than the newest RECENT_DOCUMENTS are looked for there next, so
# that a word in one post of 400 finds its newest WINDOW among them whatever the forum's
# size; only a word rarer still is looked for among the documents older than these
RECENT_KEPT = 200_000
# SQLite: the newest matches looked for in `search_fts_recent` first (the tests compare)
RECENT_FIRST = True
# candidates ranked by relevance: the newest matches (and the newest title matches)
WINDOW = 500
# PostgreSQL: titles (a search's title window, similar discussions) are looked for among
# this many of the newest documents, the range tested inside the index (migration s19pg),
# so that their cost does not grow with the forum; a search finds a title that is the
# query as typed at any age
TITLE_DOCUMENTS = 50_000
KINDS = ("all", "discussions", "posts", "library")

Reply = aliased(Post)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# -- who may see what ------------------------------------------------------------------------


# what the access layer's rule reads, from the document's own row (kept by triggers)
DOC_FACTS = PostFacts(
    post_status=Doc.post_status,
    post_author_id=Doc.author_id,
    discussion_status=Doc.discussion_status,
    discussion_author_id=Doc.discussion_author_id,
    alive=Doc.deleted.is_(False),
    in_public_group=Doc.public_group.is_(True),
)


def post_visibility(viewer: Actor | None, *, marked: bool = True) -> ColumnElement[bool]:
    """The access layer's rule for posts and their discussions (app/access/visibility.py)
    over the document's copy of their facts: everybody sees published ones; authors their
    own held or hidden ones; moderators everything, marked in the results (`marked`: a
    listing that does not mark, such as similar discussions, shows no deleted post)."""
    return readable_posts(viewer, DOC_FACTS, marked=marked)


def answered(
    discussion_id: Any = Discussion.id, author_id: Any = Discussion.author_id
) -> ColumnElement[bool]:
    """A discussion is answered once someone other than its author replied where everybody
    can read it. The status test is wrapped so that the lookup goes by the discussion's
    posts: SQLite's planner, without statistics, would pick the (status, created_at) index
    and read every published post for each discussion (measured: 30 s for
    `status:unanswered lymphoma` over 210,000 posts, 300 ms for the five similar
    discussions). On SQLite those posts' facts are read from `ix_posts_answers` (migration
    q22sqlite), not from their rows, after two bodies (that search at 1,050,000 posts:
    21 -> 9 ms)."""
    return exists(
        select(literal(1))
        .select_from(Reply)
        .where(
            Reply.discussion_id == discussion_id,
            Reply.is_opening.is_(False),
            Reply.author_id != author_id,
            func.lower(Reply.status) == Visibility.visible.value,
            Reply.deleted_at.is_(None),
        )
    )


# -- engine match expressions ------------------------------------------------------------------


def fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts5_match(terms: list[str], *, any_term: bool = False) -> str:
    """An FTS5 query made only of quoted strings: each term a phrase, all required (or any,
    for similar titles). Titles alone are searched in their own table (`TITLES`)."""
    return (" OR " if any_term else " AND ").join(fts5_quote(t) for t in terms)


# -- results -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Hit:
    kind: str  # "discussion" | "post" | "library"
    document_id: int
    post_id: int
    discussion_id: int
    title: str
    url: str
    group_slug: str
    group_name: str
    author: str
    created_at: datetime
    snippet: Markup
    reply_count: int
    # for moderators: why others cannot see it (None when everybody can)
    marker: str | None


@dataclass(slots=True)
class Results:
    hits: list[Hit]
    next_cursor: str | None
    total: int
    total_capped: bool


def snippet_html(text: str | None) -> Markup:
    """Escape the engine's snippet, then turn its markers into <mark>: no markup from the
    text can survive, and the only tags are ours."""
    escaped = str(escape(text or ""))
    escaped = escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    # a snippet cut inside a match leaves a tag open or closed alone: balance them
    opened = escaped.count("<mark>") - escaped.count("</mark>")
    if opened > 0:
        escaped += "</mark>" * opened
    return Markup(escaped)  # noqa: S704 (escaped text and our own <mark> tags)


def _marker(row: Any) -> str | None:
    if row.deleted_at is not None or row.d_deleted_at is not None:
        return "deleted"
    if Visibility.hidden.value in (row.status, row.d_status):
        return "hidden"
    if Visibility.pending.value in (row.status, row.d_status):
        return "held for review"
    return None


# -- cursors -----------------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: str) -> list[Any]:
    """A cursor from a page link, checked value by value: a bad one is a 422, never a 500."""
    bad = Invalid("The page link is not valid.", field="cursor", code="bad_cursor")
    if len(cursor) > 200:
        raise bad
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or not values or values[0] != shape:
        raise bad
    try:
        if shape == "rel" and len(values) == 4:
            exact, score, ident = int(values[1]), float(values[2]), int(values[3])
            if exact in (0, 1) and score == score and abs(score) < 1e300 and 0 < ident < 2**62:
                return [exact, score, ident]
        elif shape == "id" and len(values) == 2:
            ident = int(values[1])
            if 0 < ident < 2**62:
                return [ident]
        elif shape == "new" and len(values) == 3:
            when, ident = datetime.fromisoformat(values[1]), int(values[2])
            if when.tzinfo is not None and 0 < ident < 2**62:
                return [when, ident]
    except (TypeError, ValueError):
        pass
    raise bad


# -- the search ---------------------------------------------------------------------------------


# each statement's compiled form, kept beside the statement (which the plan caches keep)
_QUERIES: WeakKeyDictionary[Any, Query[Any]] = WeakKeyDictionary()


def _query(stmt: Any) -> Query[Any]:
    found = _QUERIES.get(stmt)
    if found is None:
        names = [column.key for column in stmt.selected_columns]
        found = _QUERIES[stmt] = Query(stmt, namedtuple("Row", names, rename=True))  # type: ignore[misc]
    return found


async def _rows(
    session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None, *, named: bool = False
) -> list[Any]:
    """A SELECT's rows, compiled once and run by `core.rows.fetch_raw` (the process's
    reader outside a transaction, else the driver under the session's connection), the
    columns converted by their types; a statement SQLAlchemy must render for its values
    (an expanding `IN` list, a value written into the text) goes through Core instead.
    SQLAlchemy's execution and result layers were a third of a search's Python time, and
    on SQLite each statement took three hand-offs to aiosqlite's thread. Rows are read by
    position, or also by name when `named` (a named tuple a row cost 1.3 µs: 1.4 ms for
    a search's 1,000 window rows)."""
    values = params or {}
    query = _query(stmt)
    found = await fetch_raw(session, query, values)
    if found is None:
        conn = await session.connection()
        return list((await conn.execute(stmt, values)).all())
    compiled, raw = found
    if named:
        return query.rows(compiled, raw)
    if not compiled.results:
        return list(raw)
    return [_converted(compiled.results, row) for row in raw]


def _converted(results: tuple[tuple[int, Any], ...], row: Any) -> list[Any]:
    values = list(row)
    for i, convert in results:
        values[i] = convert(values[i])
    return values


CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def _plan_for_the_words(session: AsyncSession) -> None:
    """PostgreSQL: plan each search's statements for the words it is given. asyncpg
    prepares every statement, and after five runs PostgreSQL may keep one generic plan for
    any words: a bitmap of every match, right for a word in 600 posts (1.4 ms), 91 ms for
    one in 135,000, whose newest 500 the primary key finds in 4.5 ms. For the rest of
    this transaction only (the request's)."""
    conn = await session.connection()
    await conn.execute(CUSTOM_PLANS)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def source_is(source: str, *, pg: bool) -> ColumnElement[bool]:
    """On SQLite the test is wrapped so that no index on it leads a plan (its planner would
    start from the (source, source_id) index and sort every row); PostgreSQL needs the plain
    column for its estimates."""
    return Doc.source == source if pg else func.lower(Doc.source) == source


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a search's statements depend on, apart from the values they are given: the
    statements are built once per shape (`_plan`), every typed value and the viewer's id
    bound at execution. Building them was 6 ms of a search's 8 ms of Python."""

    pg: bool
    kind: str
    role: str | None  # the viewer's role (None: a visitor); the rule reads no more of them
    terms: int
    in_title: bool
    author: bool
    group: bool
    after: bool
    before: bool
    status: str | None
    by_relevance: bool
    limit: int


@dataclass(frozen=True, slots=True)
class _ViewerParam:
    """A viewer whose id is a bound parameter, so the rule's statement serves every viewer
    of a role (`app.access.visibility.readable_posts` reads `role` and `id`)."""

    role: str
    id: Any


def _shape(parsed: ParsedQuery, viewer: Actor | None, kind: str, *, pg: bool, limit: int) -> _Shape:
    terms = len(parsed.terms)
    return _Shape(
        pg=pg,
        kind=kind,
        role=viewer.role if viewer is not None else None,
        terms=terms,
        in_title=parsed.in_title,
        author=parsed.author is not None,
        group=parsed.group is not None,
        after=parsed.after is not None,
        before=parsed.before is not None,
        status=parsed.status,
        by_relevance=bool(terms) and parsed.order == "relevance",
        limit=limit,
    )


def _params(parsed: ParsedQuery, viewer: Actor | None, *, pg: bool) -> dict[str, Any]:
    """The values a shape's statements are given."""
    params: dict[str, Any] = {}
    if viewer is not None:
        params["viewer_id"] = viewer.id
    if parsed.author is not None:
        params["author_key"] = parsed.author.casefold()
    if parsed.group is not None:
        params["group_slug"] = parsed.group
    if parsed.after is not None:
        params["after_at"] = day_start(parsed.after)
    if parsed.before is not None:
        params["before_at"] = day_start(parsed.before)
    terms = parsed.terms
    if terms:
        params["exact_text"] = parsed.text
        if pg:
            params.update({f"t{i}": term for i, term in enumerate(terms)})
            params["probe"] = snippet_probe(terms)
        else:
            params["fts_match"] = fts5_match(terms)
    return params


def _filters(shape: _Shape, viewer: Any) -> list[ColumnElement[bool]]:
    pg = shape.pg
    filters: list[ColumnElement[bool]] = [source_is(POST, pg=pg), post_visibility(viewer)]
    if shape.kind == "discussions" or shape.in_title:
        filters.append(Doc.is_opening.is_(True))
    elif shape.kind == "posts":
        filters.append(Doc.is_opening.is_(False))
    if shape.author:
        # the author's id, looked up first (`search`): given as a subquery, an unknown name
        # made SQLite walk every match of the words to find none (270 ms for `@nobody word`)
        filters.append(Doc.author_id == bindparam("author_id", type_=Integer))
    if shape.group and pg:
        # the group's id, looked up first and written into the statement: PostgreSQL then
        # reads its statistics for that group, and walks the (group_id, id) index newest
        # first; given a parameter it assumed a sixth of the documents and walked them all
        # newest first (`#digestive-health`: 17 ms -> 1.3 ms; with a word: 106 ms -> 2 ms).
        # Written as a range of one group, the statements ordered by (group_id, id)
        # (`_Plan._newest`): as an equality PostgreSQL drops the group from the order and
        # may walk the primary key newest first instead, reading every group's documents
        # (16,500 rows for `#caregivers fatigue`) rather than the group's own (2,500)
        the_group = bindparam("group_id", type_=Integer, literal_execute=True)
        filters.extend([Doc.group_id >= the_group, Doc.group_id <= the_group])
    elif shape.group:
        # the index row's own group (kept by moves): tested before any join is made
        group_id = (
            select(Group.id).where(Group.slug == bindparam("group_slug", type_=String))
        ).scalar_subquery()
        filters.append(Doc.group_id == group_id)
    filters.extend(_date_filters(shape))
    if shape.status is not None:
        discussion_answered = answered(Doc.discussion_id, Doc.discussion_author_id)
        filters.append(
            discussion_answered if shape.status == "answered" else not_(discussion_answered)
        )
    return filters


def _date_filters(shape: _Shape) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if shape.after:
        filters.append(Doc.created_at >= bindparam("after_at"))
    if shape.before:
        filters.append(Doc.created_at < bindparam("before_at"))
    return filters


def _library_filters(shape: _Shape) -> list[ColumnElement[bool]] | None:
    """The conditions on library pages, or None when the query cannot match one: a page has
    no author, group or answers, and is neither a discussion nor a reply."""
    if shape.kind not in ("all", "library") or shape.author or shape.group or shape.status:
        return None
    return [visible_library_pages(), *_date_filters(shape)]


LIBRARY_DOCS = aliased(Doc, name="library_docs")


def _library_joined(
    columns: list[Any], filters: list[Any], *, fts: TableClause | None
) -> Select[Any]:
    """Library documents with their page (whose published flag the access layer reads).
    The few library rows are listed first (the (source, source_id) index) and the text
    engine tests only those: a common word never walks every post that says it."""
    pages = select(LIBRARY_DOCS.id).where(LIBRARY_DOCS.source == LIBRARY)
    stmt = select(*columns)
    if fts is not None:
        stmt = stmt.select_from(fts).join(Doc, Doc.id == fts.c.rowid)
        filters = [fts.c.rowid.in_(pages), *filters]
    else:
        stmt = stmt.select_from(Doc)
        filters = [Doc.id.in_(pages), *filters]
    return stmt.join(LibraryPage, LibraryPage.id == Doc.source_id).where(*filters)


def _newest_titles() -> Any:
    """PostgreSQL: the id after which documents are among the newest TITLE_DOCUMENTS."""
    return select(func.max(Doc.id) - TITLE_DOCUMENTS).scalar_subquery()


def _ts_query_params(count: int, *, name: str = "t", join: str = "&&") -> Any:
    """The tsquery of `count` terms bound as t0, t1, ... (`name`): phraseto_tsquery per
    term (a phrase or a word with its punctuation, parsed as the index was), joined with
    `join` (&&: every term; ||: any, for similar titles)."""
    parts = [
        func.phraseto_tsquery(
            literal_column("'english'::regconfig"), bindparam(f"{name}{i}", type_=String)
        )
        for i in range(count)
    ]
    combined: Any = parts[0]
    for part in parts[1:]:
        combined = combined.op(join)(part)
    return combined


class _Match:
    """The text condition, score and snippet of one engine for a number of terms, bound
    at execution (`_params`: t0... on PostgreSQL, fts_match on SQLite)."""

    def __init__(self, pg: bool, terms: int, *, in_title: bool) -> None:
        self.pg = pg
        self.table: Any = None  # SQLite: the full-text table `condition` is a MATCH on
        # SQLite: the same test and score in `search_fts_recent` (None for in:title)
        self.recent_condition: ColumnElement[bool] | None = None
        self.recent_score: Any = None
        # SQLite: the same in `search_fts_library` (None for in:title)
        self.library_condition: ColumnElement[bool] | None = None
        self.library_score: Any = None
        self.exact_text = bindparam("exact_text", type_=String)
        if pg:
            self.q = _ts_query_params(terms)
            self.condition: ColumnElement[bool] = TSV.op("@@")(self.q)
            self.title_condition: ColumnElement[bool] = and_(HAS_TITLE, TITLE_TSV.op("@@")(self.q))
            if in_title:
                self.condition = and_(self.condition, self.title_condition)
            self.score: Any = -cast(func.ts_rank_cd(TSV, self.q), SCORE)
            self.title_score: Any = self.score
        else:
            self.fts_match = bindparam("fts_match", type_=String)
            self.title_condition = TITLES_NAME.op("MATCH")(self.fts_match)
            # bm25 over the titles alone, weighed as a title in `search_fts` is
            self.title_score = cast(func.bm25(TITLES_NAME) * TITLE_WEIGHT, SCORE)
            if in_title:
                self.table, self.condition = TITLES, self.title_condition
                self.score = self.title_score
            else:
                self.table = FTS
                self.condition = FTS_NAME.op("MATCH")(self.fts_match)
                self.score = cast(func.bm25(FTS_NAME, TITLE_WEIGHT, BODY_WEIGHT), SCORE)
                self.recent_condition = RECENT_NAME.op("MATCH")(self.fts_match)
                self.recent_score = cast(func.bm25(RECENT_NAME, TITLE_WEIGHT, BODY_WEIGHT), SCORE)
                self.library_condition = LIBRARY_NAME.op("MATCH")(self.fts_match)
                self.library_score = cast(func.bm25(LIBRARY_NAME, TITLE_WEIGHT, BODY_WEIGHT), SCORE)

    def exact(self, title: Any = Doc.title) -> Any:
        """0 for a title that is the query as typed (those come first), else 1."""
        return case((func.lower(title) == self.exact_text, 0), else_=1)

    def snippet(self, fts_name: ColumnElement[Any] = FTS_NAME) -> Any:
        """The snippet of a row; on SQLite from the full-text table `fts_name` names (the
        statement's MATCH must be on that table)."""
        if self.pg:
            return func.ts_headline(
                literal_column("'english'::regconfig"),
                snippet_window(Doc.body),
                self.q,
                bindparam(
                    "hl",
                    # one fragment, as SQLite's snippet(): MaxFragments=2 chose among
                    # every cover of the text, three times the cost (0.8 ms a row)
                    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15",
                ),
            )
        return func.snippet(fts_name, 1, MARK_START, MARK_END, "...", SNIPPET_WORDS)


def snippet_window(body: Any) -> Any:
    """PostgreSQL: the part of a text its snippet is made from: SNIPPET_CHARS characters
    from a little before the first place the first term's stem appears (from the start when
    it does not: a document found by its title alone), cut at whole words. ts_headline
    parses and stems every word of the text it is given, then looks for the best cover:
    given the whole body it cost 0.3-0.4 ms a row here, growing with the body (a library
    page is many times a post), for a snippet of 35 words at most. The stem (`probe`: the
    first word of the first term, typed; its english stem, less a last e or i, which the
    stemmer may add or turn a y into) finds where the text says it, in any of its forms
    (appointments, appointed). Where it finds another word that begins the same, or the
    best cover of several terms lies elsewhere, the snippet is the window's best: text of
    the document either way, and marked wherever it says a term."""
    typed = bindparam("probe", type_=String)
    lexemes = func.ts_lexize(literal_column("'english_stem'::regdictionary"), typed)
    stem = func.rtrim(func.array_to_string(lexemes, ""), "ei")
    found = func.strpos(func.lower(body), func.coalesce(func.nullif(stem, ""), typed))
    start = func.greatest(found - SNIPPET_BEFORE, 1)
    window = func.substr(body, start, SNIPPET_CHARS)
    # a word cut at either end of the window is left out
    head = case((start > 1, func.regexp_replace(window, r"^\S*\s+", "")), else_=window)
    return case(
        (start + SNIPPET_CHARS <= func.length(body), func.regexp_replace(head, r"\s+\S*$", "")),
        else_=head,
    )


def snippet_probe(terms: list[str]) -> str:
    """The word `snippet_window` looks for: the first term's first word, lower case."""
    words = terms[0].lower().split() if terms else []
    return words[0] if words else ""


@dataclass(slots=True)
class _Key:
    doc_id: int
    exact: int = 1
    score: float = 0.0


# SQLite: every column of a document but its body, keyed by id, and the same of the
# documents with a title alone (migration q22sqlite)
FACTS_INDEX = "ix_search_documents_facts"
TITLE_FACTS_INDEX = "ix_search_documents_title_facts"
# SQLite: the titles by lower(title), for a title that is the query as typed (q22sqlite)
EXACT_TITLE_INDEX = "ix_search_documents_exact_title"


def _sqlite_from_hint(compiler: SQLiteCompiler, table: FromClause, text: str | None) -> str | None:
    """A table's hint for SQLite (`INDEXED BY`), written after its name: SQLAlchemy's
    SQLite compiler drops every hint (`get_from_hint_text` returns None). Only the
    statements that give one (`with_hint(..., "sqlite")`: `_documents`) change."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


def _documents(columns: list[Any], filters: list[Any], *, fts: TableClause | None) -> Select[Any]:
    """Documents alone (from a full-text table on SQLite): every filter, visibility
    included, reads the document's own row. On SQLite each match's facts are read from
    a covering index (migration q22sqlite), named, since the planner looks a rowid up in
    the table whatever else would serve: there they lie after the body, past its overflow
    pages (1.8 us a row; 0.3 us from the index for the close ids of a common word's
    matches). A title match's come from the index of the titled documents alone (a
    twentieth of the rows): the matches of a word in titles lie far apart, each on a page
    of its own in the index of every document (4,000 titles walked for `#caregivers
    fatigue` at 1,050,000 posts: 7.2 ms from the table, 5.0 from FACTS_INDEX, 2.4 from
    TITLE_FACTS_INDEX). The columns and filters must be ones the index holds."""
    stmt = select(*columns)
    if fts is None:
        return stmt.select_from(Doc).where(*filters)
    index = FACTS_INDEX
    if fts is TITLES:
        # the partial index's own condition, written as a value, not a parameter, so
        # that SQLite may read it (every row of the titles' index has a title)
        index, filters = TITLE_FACTS_INDEX, [*filters, Doc.title != literal_column("''")]
    return (
        stmt.select_from(fts)
        .join(Doc, Doc.id == fts.c.rowid)
        .where(*filters)
        .with_hint(Doc, f"INDEXED BY {index}", "sqlite")
    )


def _joined(
    columns: list[Any],
    filters: list[Any],
    *,
    fts: FromClause | None,
    group: bool = True,
    user: bool = True,
) -> Select[Any]:
    """Documents with their post and discussion (whose rows decide visibility); the group
    and the author are joined when a filter or the columns need them (foreign keys: the
    inner joins drop nothing). `fts` is the SQLite full-text table the rows come from
    (`FTS`, `TITLES`), or None."""
    stmt = select(*columns)
    if fts is not None:
        stmt = stmt.select_from(fts).join(Doc, Doc.id == fts.c.rowid)
    else:
        stmt = stmt.select_from(Doc)
    stmt = stmt.join(Post, Post.id == Doc.source_id).join(
        Discussion, Discussion.id == Post.discussion_id
    )
    if group:
        stmt = stmt.join(Group, Group.id == Discussion.group_id)
    if user:
        stmt = stmt.join(User, User.id == Post.author_id)
    return stmt.where(*filters)


GROUP_BY_SLUG = select(Group.id).where(Group.slug == bindparam("group_slug", type_=String))
AUTHOR_BY_KEY = select(User.id).where(User.username_key == bindparam("author_key", type_=String))


def in_page(column: Any, *, pg: bool) -> ColumnElement[bool]:
    """`column` is one of the page's document ids, given as one value (`page_ids`), not an
    expanding list SQLAlchemy must render anew for each count: so the statement runs on
    the driver (`_rows`), and PostgreSQL prepares it once."""
    if pg:
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam("ids", type_=String))
    )
    return column.in_(listed.scalar_subquery())


def page_ids(ids: list[int], *, pg: bool) -> Any:
    """The value of `in_page`'s parameter: a list for PostgreSQL, JSON text for SQLite."""
    return list(ids) if pg else json.dumps(ids)


class _Plan:
    """A shape's statements, each built on first use and kept (`_plan`)."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        pg = shape.pg
        viewer = (
            _ViewerParam(shape.role, bindparam("viewer_id", type_=Integer))
            if shape.role is not None
            else None
        )
        self.filters = _filters(shape, viewer)
        self.library = _library_filters(shape)
        self.match = _Match(pg, shape.terms, in_title=shape.in_title) if shape.terms else None
        # SQLite: the full-text table the text condition reads (the titles' for `in:title`)
        self.table: TableClause | None = (
            self.match.table if self.match is not None and not pg else None
        )
        self.posts = shape.kind != "library"

    # -- by relevance

    def _window(
        self, condition: Any, score: Any, source: TableClause | None, where: tuple[Any, ...] = ()
    ) -> Select[Any]:
        assert self.match is not None
        columns = [Doc.id.label("doc_id"), self.match.exact().label("exact"), score.label("score")]
        return (
            _documents(columns, [*self.filters, condition, *where], fts=source)
            .order_by((source.c.rowid if source is not None else Doc.id).desc())
            .limit(WINDOW)
        )

    def _pg_window(self, condition: Any, where: list[Any]) -> Select[Any]:
        # ranked once the window is chosen: PostgreSQL would rank every match before
        # keeping the newest (a phrase in 12,000 posts: a third of its time)
        assert self.match is not None
        return self._pg_ranked(
            select(Doc.id, Doc.title, TSV.label("tsv"))
            .where(*self.filters, condition, *where)
            .order_by(*self._newest())
            .limit(WINDOW)
        )

    def _pg_recent_window(self, recent: Any, *, older_to: Any = None) -> Select[Any]:
        """PostgreSQL: the newest WINDOW matches among the newest RECENT_DOCUMENTS
        documents, chosen by the words of those alone (`RECENT_WORDS`: their own GIN
        index, or their ids newest first for a common word), each joined to its document
        by id, whose row the filters read (the access layer's facts, group, author,
        dates). In `search_documents` the GIN index read every match of the word before
        the range of ids applied, or the planner walked all 20,000 newest rows for a word
        few of them say (16 ms for `disease` at 1,050,000 posts, 1.9 ms at 210,000).
        The same rows, and the same tsvector ranked (a copy)."""
        assert self.match is not None
        words = RECENT_WORDS.c.tsv
        title = [self.match.title_condition] if self.shape.in_title else []
        ids = [RECENT_WORDS.c.id > recent]
        if older_to is not None:
            # the older ones it keeps: tests of the GIN index's matches (`+ 0`), not a
            # range of 180,000 ids of its primary key to intersect with them (10 ms)
            ids = [RECENT_WORDS.c.id + 0 > recent, RECENT_WORDS.c.id + 0 <= older_to]
        # each match's document looked up by its id (`OFFSET 0` keeps the subquery whole,
        # so a lookup it stays): joined, the planner merged the two tables' ids newest
        # first, reading every document down to the 500th match of a common word (32 ms
        # for `fatigue`, 14,800 rows at 210,000 posts)
        document = (
            select(Doc.id, Doc.title)
            .where(Doc.id == RECENT_WORDS.c.id, *self.filters, *title)
            .offset(0)
            .lateral("document")
        )
        return self._pg_ranked(
            select(document.c.id, document.c.title, words.label("tsv"))
            .select_from(RECENT_WORDS)
            .join(document, true())
            .where(words.op("@@")(self.match.q), *ids)
            .order_by(RECENT_WORDS.c.id.desc())
            .limit(WINDOW)
        )

    def _pg_ranked(self, chosen: Select[Any]) -> Select[Any]:
        """The chosen documents (id, title, tsv) ranked."""
        assert self.match is not None
        newest = chosen.subquery("newest")
        return select(
            newest.c.id.label("doc_id"),
            self.match.exact(newest.c.title).label("exact"),
            (-cast(func.ts_rank_cd(newest.c.tsv, self.match.q), SCORE)).label("score"),
        )

    @cached_property
    def recent_window(self) -> Select[Any] | None:
        """SQLite: the newest matches among the newest documents (`RECENT`), or None when
        the text is searched in titles alone (their index is the titles') or a filter
        keeps few documents (a group, an author, an answer status, opening posts alone):
        the newest documents then seldom hold WINDOW matches, and walking all of theirs
        before every document is searched cost more than it saved (`#heart-rhythm
        fatigue`: 10.4 -> 16.8 ms of CPU)."""
        assert self.match is not None
        shape = self.shape
        selective = shape.group or shape.author or shape.status or shape.kind == "discussions"
        if self.match.recent_condition is None or selective:
            return None
        return self._window(self.match.recent_condition, self.match.recent_score, RECENT)

    @cached_property
    def body_window(self) -> Select[Any]:
        assert self.match is not None
        return self._window(self.match.condition, self.match.score, self.table)

    @cached_property
    def recent_windows(self) -> tuple[Select[Any], Select[Any], Select[Any], Select[Any]]:
        """PostgreSQL: the newest matches among the newest RECENT_DOCUMENTS documents (in
        `search_recent`; for `in:title` in the GIN index of titles and ages, s19pg); among
        the rest of those `search_recent` keeps, up to older_to; among the documents older
        than those, in a range of ids (older_from, older_to]; and among all of them up to
        older_to (see `search` and `_older_matches`)."""
        assert self.match is not None
        recent = select(func.max(Doc.id) - RECENT_DOCUMENTS).scalar_subquery()
        kept = select(func.max(Doc.id) - RECENT_KEPT).scalar_subquery()
        older_from = bindparam("older_from", type_=Integer)
        older_to = bindparam("older_to", type_=Integer)
        # `+ 0` in the last: not a range of the primary key to intersect (190,000
        # entries for a word in 600 posts), a test of the GIN index's few matches
        return (
            self._pg_window(self.match.condition, [Doc.id > recent])
            if self.shape.in_title
            else self._pg_recent_window(recent),
            self._pg_recent_window(kept, older_to=older_to),
            self._pg_window(self.match.condition, [Doc.id > older_from, Doc.id <= older_to]),
            self._pg_window(self.match.condition, [(Doc.id + 0) <= older_to]),
        )

    @cached_property
    def recent_from(self) -> Select[Any]:
        """PostgreSQL: the id after which documents are among the newest."""
        return select(func.max(Doc.id) - RECENT_DOCUMENTS)

    @cached_property
    def group_window(self) -> Select[Any]:
        assert self.match is not None
        return self._pg_window(self.match.condition, [])

    @cached_property
    def title_window(self) -> Any:
        assert self.match is not None
        if self.shape.pg:
            # the newest title matches among the newest TITLE_DOCUMENTS documents (the GIN
            # index over (title_tsv, id) reads those alone: migration s19pg), and the titles
            # that are the query as typed at any age (the b-tree on lower(title)), which
            # come first. Every title match was read and sorted before, a cost growing with
            # the forum (7 -> 19 ms for `appointment` from 210,000 to 1,050,000 posts).
            match = self.match
            exact = self._pg_ranked(
                select(Doc.id, Doc.title, TSV.label("tsv"))
                .where(
                    *self.filters,
                    HAS_TITLE,
                    func.lower(Doc.title) == match.exact_text,
                    # tested on the row: the b-tree on lower(title) leads
                    match.title_condition.is_(True),
                )
                .limit(WINDOW)
            )
            return union_all(
                self._pg_window(match.title_condition, [Doc.id > _newest_titles()]), exact
            )
        # SQLite: the same two, ranked over the titles alone. The newest title matches
        # among the newest TITLE_DOCUMENTS documents: FTS5 walks the titles' index from
        # its newest entry down to that bound. The newest WINDOW title matches of all were
        # read before, as far back as they lay: for `#group word` a title window walked
        # 1,443 titles at 210,000 posts and 4,000 at 1,050,000 (0.8 -> 3.6 ms for
        # `#caregivers fatigue`). And the titles that are the query as typed, at any age,
        # by the b-tree on lower(title) (migration q22sqlite, as s19pg's on PostgreSQL),
        # each sought in the titles' index by its id.
        match = self.match
        newest = self._window(
            match.title_condition,
            match.title_score,
            TITLES,
            (TITLES.c.rowid > _newest_titles(),),
        ).subquery("newest_titles")
        exact_ids = (
            select(Doc.id)
            .where(func.lower(Doc.title) == match.exact_text, Doc.title != literal_column("''"))
            .with_hint(Doc, f"INDEXED BY {EXACT_TITLE_INDEX}", "sqlite")
        )
        exact = _documents(
            [
                Doc.id.label("doc_id"),
                match.exact().label("exact"),
                match.title_score.label("score"),
            ],
            [*self.filters, match.title_condition, TITLES.c.rowid.in_(exact_ids)],
            fts=TITLES,
        ).limit(WINDOW)
        return union_all(select(*newest.c), select(*exact.subquery("exact_titles").c))

    @cached_property
    def library_ranked(self) -> Select[Any]:
        assert self.match is not None and self.library is not None
        if self.match.library_condition is not None:
            # SQLite: in the library's own index (see LIBRARY_FTS)
            return (
                select(
                    Doc.id.label("doc_id"),
                    self.match.exact().label("exact"),
                    self.match.library_score.label("score"),
                )
                .select_from(LIBRARY_FTS)
                .join(Doc, Doc.id == LIBRARY_FTS.c.rowid)
                .join(LibraryPage, LibraryPage.id == Doc.source_id)
                .where(self.match.library_condition, *self.library)
                .limit(WINDOW)
            )
        columns = [
            Doc.id.label("doc_id"),
            self.match.exact().label("exact"),
            self.match.score.label("score"),
        ]
        return _library_joined(
            columns, [*self.library, self.match.condition], fts=self.table
        ).limit(WINDOW)

    # -- by date

    def _newest(self) -> list[Any]:
        """Newest first: by the full-text table's rowid on SQLite; on PostgreSQL by id, or
        within one group by (group_id, id), its index's order (see `_filters`)."""
        if self.table is not None:
            return [self.table.c.rowid.desc()]
        if self.shape.pg and self.shape.group:
            return [Doc.group_id.desc(), Doc.id.desc()]
        return [Doc.id.desc()]

    def _conditions(self) -> list[Any]:
        text = [self.match.condition] if self.match is not None else []
        return [*self.filters, *text]

    @cached_property
    def latest_page(self) -> Select[Any]:
        """The page's ids, and on the first page the next ones up to the count's bound:
        one walk counts and lists them."""
        return (
            _documents([Doc.id.label("doc_id")], self._conditions(), fts=self.table)
            .order_by(*self._newest())
            .limit(COUNT_CAP + 1)
        )

    @cached_property
    def latest_page_after(self) -> Select[Any]:
        before = (self.table.c.rowid if self.table is not None else Doc.id) < bindparam(
            "before_id", type_=Integer
        )
        return (
            _documents([Doc.id.label("doc_id")], [*self._conditions(), before], fts=self.table)
            .order_by(*self._newest())
            .limit(self.shape.limit + 1)
        )

    @cached_property
    def latest_count(self) -> Select[Any]:
        counted = (
            _documents([Doc.id], self._conditions(), fts=self.table)
            .order_by(*self._newest())  # on SQLite: walk the full-text index newest first
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        return select(func.count()).select_from(counted)

    @cached_property
    def library_latest(self) -> Select[Any]:
        assert self.library is not None
        text = [self.match.condition] if self.match is not None else []
        return _library_joined([Doc.id], [*self.library, *text], fts=self.table).limit(COUNT_CAP)

    # -- the page's rows

    def details(self, *, span: bool) -> Select[Any]:
        """The page's rows with their snippets; SQLite: those of the newest documents
        made in their own index (`_split_snippets`), unless the text is searched in titles
        alone; then, `span`: made in one walk of the range the ids span (`_fts_snippets`)."""
        if self.match is not None and self.match.recent_condition is not None:
            return self._details_split
        return self._details_span if span else self._details_ids

    @cached_property
    def _details_span(self) -> Select[Any]:
        return self._build_details(span=True)

    @cached_property
    def _details_ids(self) -> Select[Any]:
        return self._build_details(span=False)

    @cached_property
    def _details_split(self) -> Select[Any]:
        return self._build_details(span=False, split=True)

    def _build_details(self, *, span: bool, split: bool = False) -> Select[Any]:
        match = self.match
        snippet: Any = match.snippet() if match is not None else func.substr(Doc.body, 1, 240)
        source: Any = None
        if match is not None and not self.shape.pg:
            source = _split_snippets(match) if split else _fts_snippets(match, span=span)
            snippet = source.c.snippet
        return _joined(
            [
                Doc.id.label("doc_id"),
                Doc.created_at,
                Post.id.label("post_id"),
                Post.is_opening,
                Post.status,
                Post.deleted_at,
                Discussion.id.label("discussion_id"),
                Discussion.title,
                Discussion.slug,
                Discussion.status.label("d_status"),
                Discussion.deleted_at.label("d_deleted_at"),
                Discussion.reply_count,
                Group.slug.label("group_slug"),
                Group.name.label("group_name"),
                User.username,
                snippet.label("snippet"),
            ],
            [in_page(Doc.id, pg=self.shape.pg)],
            fts=source,
        )

    @cached_property
    def library_details(self) -> Select[Any]:
        match = self.match
        fts = match is not None and not self.shape.pg
        snippet = match.snippet() if match is not None else func.substr(Doc.body, 1, 240)
        conditions: list[Any] = [in_page(Doc.id, pg=self.shape.pg)]
        if fts:
            assert match is not None
            conditions = [in_page(FTS.c.rowid, pg=False), FTS_NAME.op("MATCH")(match.fts_match)]
        return _library_joined(
            [
                Doc.id.label("doc_id"),
                Doc.created_at,
                LibraryPage.slug,
                LibraryPage.title,
                snippet.label("snippet"),
            ],
            [*conditions, visible_library_pages()],
            fts=FTS if fts else None,
        )


@lru_cache(maxsize=512)
def _plan(shape: _Shape) -> _Plan:
    return _Plan(shape)


async def search(
    session: AsyncSession,
    *,
    parsed: ParsedQuery,
    viewer: Actor | None,
    kind: str = "all",
    cursor: str | None = None,
    limit: int = 20,
) -> Results:
    """One page of results. By relevance, the candidates are the newest WINDOW matching
    documents the viewer may see (and the newest WINDOW whose title matches, so an old
    discussion named as typed still comes first), plus the matching library pages, ranked
    by the engine; by date, the newest first. Snippets are built for the page's rows only."""
    pg = is_postgres(session)
    shape = _shape(parsed, viewer, kind, pg=pg, limit=limit)
    plan = _plan(shape)
    params = _params(parsed, viewer, pg=pg)
    library_ids: set[int] = set()
    if pg:
        await _plan_for_the_words(session)
    if shape.group and pg:
        found_group = await _rows(session, GROUP_BY_SLUG, params)
        if not found_group:
            return Results([], None, 0, False)  # no such group: nothing is in it
        params["group_id"] = int(found_group[0][0])
    if shape.author:
        found_author = await _rows(session, AUTHOR_BY_KEY, params)
        if not found_author:
            return Results([], None, 0, False)  # no such member: nothing is by them
        params["author_id"] = int(found_author[0][0])

    if shape.by_relevance:
        # the two windows merged and ranked here: two short indexed scans beat one compound
        best: dict[int, tuple[int, float, int]] = {}

        def keep(rows: Any) -> None:
            for doc_id, doc_exact, score in rows:
                key = (int(doc_exact), float(score), -int(doc_id))
                if doc_id not in best or key < best[doc_id]:
                    best[doc_id] = key

        if plan.posts:
            if pg and shape.group:
                # the group's index leads (see `_filters`)
                keep(await _rows(session, plan.group_window, params))
            elif pg:
                # the newest WINDOW matches, looked for among the newest documents first,
                # in their own table and GIN index (`search_recent`), so a phrase in 12,000
                # posts rechecks the ~1,200 of them that are recent, not all; only when the
                # recent documents hold too few matches are the older ones searched as
                # well (`_older_matches`). The same WINDOW rows either way.
                rows = await _rows(session, plan.recent_windows[0], params)
                if len(rows) < WINDOW:
                    rows += await _older_matches(session, plan, params, found=len(rows))
                keep(rows)
            else:
                # the newest WINDOW matches, looked for among the newest documents first
                # (`RECENT`: their bm25 counts a word's matches there, 13,000 for a word in
                # 135,000 posts, not all of them: 2.9 ms -> 0.8 ms); only when those hold
                # too few is every document searched, and the window ranked there alone,
                # so that the scores of one window are always of one index
                rows = []
                if RECENT_FIRST and plan.recent_window is not None:
                    rows = await _rows(session, plan.recent_window, params)
                if len(rows) < WINDOW:
                    rows = await _rows(session, plan.body_window, params)
                keep(rows)
            # every match is in the first window already (title ones included) unless it
            # is full: only then may an older title match be missing
            if not shape.in_title and len(best) >= WINDOW:
                keep(await _rows(session, plan.title_window, params))
        if plan.library is not None:
            rows = await _rows(session, plan.library_ranked, params)
            library_ids.update(int(row[0]) for row in rows)
            keep(rows)
        ranked = sorted(best.values())
        total = len(ranked)
        if cursor:
            ce, cs, cid = decode_cursor(cursor, "rel")
            ranked = [k for k in ranked if k > (ce, cs, -cid)]
        keys = [_Key(-k[2], k[0], k[1]) for k in ranked[: limit + 1]]
        capped = total >= WINDOW
    else:
        ids: list[int] = []
        counted: int | None = None
        cid = decode_cursor(cursor, "id")[0] if cursor else 0
        if plan.posts:
            if cursor:
                ids = [
                    row[0]
                    for row in await _rows(
                        session, plan.latest_page_after, {**params, "before_id": cid}
                    )
                ]
            else:
                found = [row[0] for row in await _rows(session, plan.latest_page, params)]
                counted, ids = len(found), found[: limit + 1]
        library_total = 0
        if plan.library is not None:
            found_pages = await _rows(session, plan.library_latest, params)
            library_total = len(found_pages)
            if cursor:
                found_pages = [row for row in found_pages if row[0] < cid]
            library_ids.update(int(row[0]) for row in found_pages)
            ids = sorted([*ids, *library_ids], reverse=True)[: limit + 1]
        keys = [_Key(doc_id) for doc_id in ids]
        total = len(keys)
        if cursor or len(keys) > limit:
            total = library_total
            if plan.posts:
                if counted is None:
                    counted = int((await _rows(session, plan.latest_count, params))[0][0] or 0)
                total += counted
        capped = total > COUNT_CAP

    more = len(keys) > limit
    keys = keys[:limit]
    next_cursor = None
    if more and keys:
        last = keys[-1]
        next_cursor = (
            encode_cursor(["rel", int(last.exact), float(last.score), last.doc_id])
            if shape.by_relevance
            else encode_cursor(["id", last.doc_id])
        )
    shown = [k.doc_id for k in keys]
    post_hits = await _details(session, plan, [i for i in shown if i not in library_ids], params)
    page_hits = await _library_details(
        session, plan, [i for i in shown if i in library_ids], params
    )
    by_id = {hit.document_id: hit for hit in [*post_hits, *page_hits]}
    hits = [by_id[i] for i in shown if i in by_id]
    return Results(hits, next_cursor, min(total, COUNT_CAP), capped)


# PostgreSQL: how many ranges of older documents are searched before all the rest are
OLDER_STEPS = 3


async def _older_matches(
    session: AsyncSession, plan: _Plan, params: dict[str, Any], *, found: int
) -> list[Any]:
    """PostgreSQL: the newest WINDOW - `found` matches older than the newest
    RECENT_DOCUMENTS documents: first among the rest of the RECENT_KEPT newest, in
    `search_recent` (its GIN index's matches, whose number does not grow with the forum:
    `EBV` 28 -> 4 ms, `disease` 13 -> 5.6 ms at 1,050,000 posts); then, for a word rarer
    still, among the documents older than those, in ranges of ids going back, each as
    wide as the newer documents' share of matches says should hold what is missing (twice
    that, then four times wider each step), the GIN index's matches intersected with the
    range before a row is read; after OLDER_STEPS ranges, or when the newer documents held
    no match (a rare word: its few matches are read at once), or for `in:title`, among all
    the older ones. The same rows either way: the newest matches, newest first."""
    newest = (await _rows(session, plan.recent_from, {}))[0][0]
    if newest is None or newest <= 0:
        return []
    wanted, older_to = WINDOW - found, int(newest)
    _, kept, in_range, rest = plan.recent_windows
    # first among the rest of the newest documents `search_recent` keeps: in its own GIN
    # index, whose size is the same whatever the forum's
    rows = sorted(
        await _rows(session, kept, {**params, "older_to": older_to}), key=lambda row: -int(row[0])
    )[:wanted]
    older_to = older_to + RECENT_DOCUMENTS - RECENT_KEPT
    if len(rows) >= wanted or older_to <= 0:
        return rows
    found, searched = found + len(rows), RECENT_KEPT
    span = 2 * searched * (WINDOW - found) // found if found else 0
    if plan.shape.in_title:
        # PostgreSQL misjudges how many titles say a word (a twentieth of the documents
        # have one): given a range it walked the primary key through all of it (61 ms
        # for `in:title pacemaker` at 1,050,000 posts)
        span = 0
    for _ in range(OLDER_STEPS if span else 0):
        older_from = max(older_to - span, 0)
        step = await _rows(
            session, in_range, {**params, "older_from": older_from, "older_to": older_to}
        )
        rows += sorted(step, key=lambda row: -int(row[0]))[: wanted - len(rows)]
        if len(rows) >= wanted or older_from == 0:
            return rows
        older_to, span = older_from, span * 4
    step = await _rows(session, rest, {**params, "older_to": older_to})
    return rows + sorted(step, key=lambda row: -int(row[0]))[: wanted - len(rows)]


async def _library_details(
    session: AsyncSession, plan: _Plan, ids: list[int], params: dict[str, Any]
) -> list[Hit]:
    """The page's library results, with their snippets."""
    if not ids:
        return []
    return [
        Hit(
            kind="library",
            document_id=row.doc_id,
            post_id=0,
            discussion_id=0,
            title=row.title,
            url=f"/library/{row.slug}",
            group_slug="",
            group_name="",
            author="",
            created_at=row.created_at,
            snippet=snippet_html(row.snippet),
            reply_count=0,
            marker=None,
        )
        for row in await _rows(
            session,
            plan.library_details,
            {**params, "ids": page_ids(ids, pg=plan.shape.pg)},
            named=True,
        )
    ]


def _id_ranges(ids: list[int], gap: int | None = None) -> list[tuple[int, int]]:
    """The ids as runs of near neighbours (no further apart than `gap`, by default
    SNIPPET_GAP): (first, last) of each."""
    gap = SNIPPET_GAP if gap is None else gap
    ranges: list[tuple[int, int]] = []
    for ident in sorted(ids):
        if ranges and ident - ranges[-1][1] <= gap:
            ranges[-1] = (ranges[-1][0], ident)
        else:
            ranges.append((ident, ident))
    return ranges


def _fts_snippets(match: _Match, *, span: bool) -> Any:
    """SQLite: the page's snippets, as rows (rowid, snippet). snippet() needs its MATCH in
    the statement; FTS5 then either walks the term's doclist or, given `rowid = ?`, seeks
    in it, once per id of an IN list (0.2 ms a seek for a word in 135,000 posts: 4 ms a
    page). When the page's ids lie close together (`span`: the newest matches; the best
    of a window of them) the range they span is walked once instead (0.9 ms), `rowid + 0`
    keeping the ids a filter, not twenty seeks; scattered ones are still sought."""
    stmt = select(FTS.c.rowid.label("rowid"), match.snippet().label("snippet")).select_from(FTS)
    matched = FTS_NAME.op("MATCH")(match.fts_match)
    if span:
        first, last = bindparam("first_id", type_=Integer), bindparam("last_id", type_=Integer)
        walk = [FTS.c.rowid >= first, FTS.c.rowid <= last, in_page(FTS.c.rowid + 0, pg=False)]
        return stmt.where(matched, *walk).subquery("snippets")
    return stmt.where(matched, in_page(FTS.c.rowid, pg=False)).subquery("snippets")


def _split_snippets(match: _Match) -> Any:
    """SQLite: the page's snippets, as rows (rowid, snippet): those of the newest
    RECENT_DOCUMENTS documents sought in their own index (`search_fts_recent` holds every
    one of them: its trigger takes out only ids that many older than the newest), the
    others in the index of every document. The same text and tokenizer, so the same
    snippets. The newest documents' index is merged into one segment every 4096th
    document (migration s18sqlite); the index of every document has segments of every
    age, more of them as the forum grows, and a seek reads each (20 seeks of a common
    word: 2.8 ms on the bench's 210,000 posts, 0.4 ms merged). The ids are divided before
    any is sought."""
    bound = select(func.max(Doc.id) - RECENT_DOCUMENTS).scalar_subquery()
    listed = column("value", Integer)
    ids = func.json_each(bindparam("ids", type_=String))
    newest = select(listed).select_from(ids).where(listed > bound).scalar_subquery()
    older = select(listed).select_from(ids).where(listed <= bound).scalar_subquery()
    return union_all(
        select(RECENT.c.rowid.label("rowid"), match.snippet(RECENT_NAME).label("snippet"))
        .select_from(RECENT)
        .where(RECENT_NAME.op("MATCH")(match.fts_match), RECENT.c.rowid.in_(newest)),
        select(FTS.c.rowid.label("rowid"), match.snippet().label("snippet"))
        .select_from(FTS)
        .where(FTS_NAME.op("MATCH")(match.fts_match), FTS.c.rowid.in_(older)),
    ).subquery("snippets")


async def _details(
    session: AsyncSession, plan: _Plan, ids: list[int], params: dict[str, Any]
) -> list[Hit]:
    """The page's rows, in the order of `ids`, with their snippets."""
    if not ids:
        return []
    ranges = _id_ranges(ids)
    span = len(ranges) == 1
    values = {**params, "ids": page_ids(ids, pg=plan.shape.pg)}
    if span:
        values.update(first_id=ranges[0][0], last_id=ranges[0][1])
    rows = {
        row.doc_id: row
        for row in await _rows(
            session,
            plan.details(span=span and not plan.shape.pg),
            values,
            named=True,
        )
    }
    return [
        Hit(
            kind="discussion" if row.is_opening else "post",
            document_id=row.doc_id,
            post_id=row.post_id,
            discussion_id=row.discussion_id,
            title=row.title,
            url=f"/discussions/{row.discussion_id}/{row.slug}"
            + ("" if row.is_opening else f"#post-{row.post_id}"),
            group_slug=row.group_slug,
            group_name=row.group_name,
            author=row.username,
            created_at=row.created_at,
            snippet=snippet_html(row.snippet),
            reply_count=row.reply_count,
            marker=_marker(row),
        )
        for row in (rows[i] for i in ids if i in rows)
    ]


# -- similar discussions -----------------------------------------------------------------------


@dataclass(slots=True)
class Similar:
    discussion_id: int
    title: str
    url: str
    group_name: str
    reply_count: int
    answered: bool


STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "anyone",
        "anybody",
        "someone",
        "else",
        "get",
        "got",
        "know",
    ]
)


def title_words(title: str) -> list[str]:
    from app.search.query import parse_query

    # PostgreSQL takes no NUL in text (a 500 for a title typed with one)
    typed = title[:200].replace("\x00", " ")
    words = [w for w in parse_query(typed).words if w.casefold() not in STOPWORDS]
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.casefold(), word)
    return list(seen.values())[:10]


# SQLite: a word as the title index holds it (its Porter stem) from `search_fts_tokens`
# (fts3tokenize), and how many titles say it (migration v20similar, kept by triggers);
# PostgreSQL: the same table, its words the lexemes of `title_tsv`
TITLE_WORDS = table("search_fts_title_words", column("word"), column("titles"))
# (word as above, document id) of every title, kept by the same triggers: a word's newest
# titles read backwards from the primary key alone
TITLE_POSTINGS = table("search_fts_title_postings", column("word"), column("doc_id"))
# similar discussions: the typed words matched, the fewest titles first (the rest add little
# and cost most); the newest titles each of them finds; the best so many of those whose
# rows are read to test who may see them
SIMILAR_WORDS = 4
SIMILAR_PER_WORD = 100
SIMILAR_CANDIDATES = 50


@lru_cache(maxsize=2)
def _similar_word_counts(pg: bool) -> Any:
    """How many titles say each typed word (bound as `words`: a list on PostgreSQL, JSON
    text on SQLite), one row a word that some title says: its position among the words,
    the count (the least of its parts', for a word the engine splits, such as "Crohn's"),
    the number of titles (kept as the word ''), and the word as the index holds it (its
    rarest part). A primary-key read a word, whatever the forum's size."""
    if pg:
        sql = """SELECT typed.position - 1, min(counted.titles),
                (SELECT titles FROM search_fts_title_words WHERE word = ''),
                (array_agg(counted.word ORDER BY counted.titles, counted.word))[1]
            FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS typed(word, position)
            CROSS JOIN LATERAL unnest(tsvector_to_array(
                to_tsvector('english'::regconfig, typed.word))) AS stem(word)
            JOIN search_fts_title_words AS counted ON counted.word = stem.word
            GROUP BY typed.position"""
    else:
        # SQLite gives the bare column of the row whose count is the least
        sql = """SELECT typed.key, min(counted.titles),
                (SELECT titles FROM search_fts_title_words WHERE word = ''), counted.word
            FROM json_each(:words) AS typed
            JOIN search_fts_tokens AS stem ON stem.input = typed.value
            JOIN search_fts_title_words AS counted ON counted.word = stem.token
            GROUP BY typed.key"""
    return text(sql).columns(
        column("position", Integer),
        column("titles", Integer),
        column("every", Integer),
        column("word", String),
    )


@lru_cache(maxsize=256)
def _similar_statement(pg: bool, role: str | None, words: int, limit: int) -> Any:
    """The similar-discussions statement of a shape (built once; the words, their weights
    and the viewer's id bound at execution): for each of `words` words (w0, w1, ...) the
    newest SIMILAR_PER_WORD titles saying it, each scored by the sum of the weights of
    the words that found it; of the best SIMILAR_CANDIDATES, the best `limit` the viewer
    may see, ranked in the database, and described. (Described apart, by a list of ids,
    PostgreSQL planned the description anew on every run: 0.3 of its 0.38 ms.)

    A word's titles come from an index alone, the postings (its rarest part as the engine
    indexes it; migration v20similar): SQLite's titles' FTS5 index read a term's newest 100
    in 31 µs at 210,000 posts, 42 µs at 1,050,000 (walking its doclist backwards).
    Document rows are read for the few best only, where visibility is tested (more than
    SIMILAR_CANDIDATES - `limit` of them hidden from the viewer would leave fewer than
    `limit`). One plan serves every word: nothing is planned for each title typed."""
    viewer = _ViewerParam(role, bindparam("viewer_id", type_=Integer)) if role is not None else None
    per_word = []
    for i in range(words):
        weight = cast(bindparam(f"weight{i}", type_=Float), Float).label("weight")
        newest = (
            select(TITLE_POSTINGS.c.doc_id, weight)
            .where(TITLE_POSTINGS.c.word == bindparam(f"w{i}", type_=String))
            .order_by(TITLE_POSTINGS.c.doc_id.desc())
            .limit(SIMILAR_PER_WORD)
            .subquery(f"word{i}")
        )
        per_word.append(select(newest.c.doc_id, newest.c.weight))
    candidates = union_all(*per_word).subquery("candidates")
    score = func.sum(candidates.c.weight).label("score")
    best = (
        select(candidates.c.doc_id, score)
        .group_by(candidates.c.doc_id)
        .order_by(score.desc(), candidates.c.doc_id.desc())
        .limit(SIMILAR_CANDIDATES)
        .subquery("best")
    )
    ranked = (
        select(Doc.id.label("doc_id"), Doc.source_id, best.c.score)
        .select_from(best)
        .join(Doc, Doc.id == best.c.doc_id)
        .where(
            source_is(POST, pg=pg),
            Doc.is_opening.is_(True),
            post_visibility(viewer, marked=False),
        )
        .order_by(best.c.score.desc(), Doc.id.desc())
        .limit(limit)
        .subquery("ranked")
    )
    return (
        select(
            Discussion.id.label("discussion_id"),
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Group.name.label("group_name"),
            answered().label("answered"),
        )
        .select_from(ranked)
        .join(Post, Post.id == ranked.c.source_id)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(Group, Group.id == Discussion.group_id)
        .order_by(ranked.c.score.desc(), ranked.c.doc_id.desc())
    )


async def similar_discussions(
    session: AsyncSession, *, title: str, viewer: Actor | None, limit: int = 5
) -> list[Similar]:
    """Discussions whose title shares words with a title being typed, best first.

    Each typed word is weighed by how many titles say it (`_similar_word_counts`: its IDF,
    ln(1 + titles / titles saying it)), and the SIMILAR_WORDS saying the fewest are matched,
    each finding the newest SIMILAR_PER_WORD titles that say it: a title naming the rare
    word typed (the condition) is found at any age, however many newer titles say a
    common one ("after", "blood"), where OR-matching every word ranked the newest 500
    titles saying any of them. A title scores the weights of the words that found it, so
    one saying more of the rare words comes first, then the newest. When every word is
    common this is still the newest titles saying them, those saying more of them first.
    A word no title says (a half-typed one) is not looked for. Two statements whatever
    the words: the counts, and the ranking (in the database, visibility included) with
    the description of the few shown."""
    words = title_words(title)
    if not words:
        return []
    pg = is_postgres(session)
    counted = await _rows(
        session, _similar_word_counts(pg), {"words": words if pg else json.dumps(words)}
    )
    # the rarest first; one word a stem ("test", "tests"); PostgreSQL keeps a word whose
    # titles all went, at 0
    rarest: dict[str, int] = {}
    for _position, titles, _every, stem in sorted(counted, key=lambda row: (row[1], row[0])):
        if titles and titles > 0:
            rarest.setdefault(stem, int(titles))
    if not rarest:
        return []
    every = max(int(counted[0][2] or 0), 1)
    chosen = list(rarest.items())[:SIMILAR_WORDS]
    statement = _similar_statement(
        pg, viewer.role if viewer is not None else None, len(chosen), limit
    )
    params: dict[str, Any] = {"viewer_id": viewer.id} if viewer is not None else {}
    for i, (stem, titles) in enumerate(chosen):
        params[f"w{i}"] = stem
        params[f"weight{i}"] = math.log(1 + every / titles)
    return [
        Similar(
            discussion_id=row.discussion_id,
            title=row.title,
            url=f"/discussions/{row.discussion_id}/{row.slug}",
            group_name=row.group_name,
            reply_count=row.reply_count,
            answered=bool(row.answered),
        )
        for row in await _rows(session, statement, params, named=True)
    ]


__all__ = [
    "KINDS",
    "Hit",
    "Results",
    "Similar",
    "search",
    "similar_discussions",
]
