"""One search over two engines: SQLite FTS5 and PostgreSQL full-text search.

The engine query is built here from parsed tokens, every term quoted (FTS5) or passed as a
bound parameter to `phraseto_tsquery` (PostgreSQL), so nothing a person types is engine
syntax. Who may see a result is decided in the same statement, by joining each document's
post and discussion (see `post_visibility`), so results, snippets and counts hold only what
the searcher may see.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.permissions import Action, can, visible_discussions
from app.accounts.models import Actor, User
from app.core.errors import Invalid
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.search.index import POST
from app.search.models import SearchDocument as Doc
from app.search.query import ParsedQuery
from app.search.text import MARK_END, MARK_START

FTS = table("search_fts", column("rowid"), column("title"), column("body"))
FTS_NAME: ColumnElement[Any] = literal_column("search_fts")
TSV: ColumnElement[Any] = literal_column("search_documents.tsv")
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0  # bm25 column weights; PostgreSQL: A=1.0, B=0.4
SNIPPET_WORDS = 24
COUNT_CAP = 1000
KINDS = ("all", "discussions", "posts")

Reply = aliased(Post)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# -- who may see what ------------------------------------------------------------------------


def post_visibility(viewer: Actor | None) -> ColumnElement[bool]:
    """The SQL form of `can_see_post` and `can_see_discussion` together, for a post and its
    discussion: everybody sees visible ones; authors their own held or hidden ones (but not
    deleted); moderators everything, marked in the results."""
    if can(viewer, Action.see_hidden_content):
        return true()
    everybody = and_(
        visible_discussions(),
        Post.status == Visibility.visible.value,
        Post.deleted_at.is_(None),
    )
    if viewer is None:
        return everybody
    return or_(
        everybody,
        and_(
            Post.deleted_at.is_(None),
            Discussion.deleted_at.is_(None),
            or_(Post.status == Visibility.visible.value, Post.author_id == viewer.id),
            or_(Discussion.status == Visibility.visible.value, Discussion.author_id == viewer.id),
        ),
    )


def answered() -> ColumnElement[bool]:
    """A discussion is answered once someone other than its author replied where everybody
    can read it."""
    return exists(
        select(literal(1))
        .select_from(Reply)
        .where(
            Reply.discussion_id == Discussion.id,
            Reply.is_opening.is_(False),
            Reply.author_id != Discussion.author_id,
            Reply.status == Visibility.visible.value,
            Reply.deleted_at.is_(None),
        )
    )


# -- engine match expressions ------------------------------------------------------------------


def fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def fts5_match(terms: list[str], *, in_title: bool = False, any_term: bool = False) -> str:
    """An FTS5 query made only of quoted strings: each term a phrase, all required (or any,
    for similar titles); `in:title` restricts them to the title column."""
    joined = (" OR " if any_term else " AND ").join(fts5_quote(t) for t in terms)
    return f"{{title}} : ({joined})" if in_title else joined


def ts_query(terms: list[str], *, prefix: str, any_term: bool = False) -> Any:
    """A tsquery from bound parameters: phraseto_tsquery per term (a phrase or a word with
    its punctuation, parsed as the index was), joined with && (or ||)."""
    parts = [
        func.phraseto_tsquery(literal_column("'english'::regconfig"), bindparam(f"{prefix}{i}", t))
        for i, t in enumerate(terms)
    ]
    combined: Any = parts[0]
    for part in parts[1:]:
        combined = combined.op("||" if any_term else "&&")(part)
    return combined


# -- results -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Hit:
    kind: str  # "discussion" | "post"
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
        elif shape == "new" and len(values) == 3:
            when, ident = datetime.fromisoformat(values[1]), int(values[2])
            if when.tzinfo is not None and 0 < ident < 2**62:
                return [when, ident]
    except (TypeError, ValueError):
        pass
    raise bad


# -- the search ---------------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def search(
    session: AsyncSession,
    *,
    parsed: ParsedQuery,
    viewer: Actor | None,
    kind: str = "all",
    cursor: str | None = None,
    limit: int = 20,
) -> Results:
    pg = is_postgres(session)
    terms = parsed.terms
    by_relevance = bool(terms) and parsed.order == "relevance"

    filters: list[ColumnElement[bool]] = [Doc.source == POST, post_visibility(viewer)]
    if kind == "discussions" or parsed.in_title:
        filters.append(Post.is_opening.is_(True))
    elif kind == "posts":
        filters.append(Post.is_opening.is_(False))
    if parsed.author is not None:
        filters.append(User.username_key == parsed.author.casefold())
    if parsed.group is not None:
        filters.append(Group.slug == parsed.group)
    if parsed.after is not None:
        filters.append(Doc.created_at >= day_start(parsed.after))
    if parsed.before is not None:
        filters.append(Doc.created_at < day_start(parsed.before))
    if parsed.status == "answered":
        filters.append(answered())
    elif parsed.status == "unanswered":
        filters.append(not_(answered()))

    score: Any = literal(0.0)
    snippet: Any = func.substr(Doc.body, 1, 240)
    exact: Any = literal(1)
    if terms:
        exact = case((func.lower(Doc.title) == parsed.text, 0), else_=1)
        if pg:
            q = ts_query(terms, prefix="t")
            filters.append(TSV.op("@@")(q))
            if parsed.in_title:
                filters.append(func.ts_filter(TSV, literal_column("'{a}'::\"char\"[]")).op("@@")(q))
            score = -cast(func.ts_rank_cd(TSV, q), Float)
            snippet = func.ts_headline(
                literal_column("'english'::regconfig"),
                Doc.body,
                q,
                bindparam(
                    "hl",
                    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15, "
                    'MaxFragments=2, FragmentDelimiter=" ... "',
                ),
            )
        else:
            filters.append(
                literal_column("search_fts").op("MATCH")(
                    bindparam("match", fts5_match(terms, in_title=parsed.in_title))
                )
            )
            score = cast(func.bm25(FTS_NAME, TITLE_WEIGHT, BODY_WEIGHT), Float)
            snippet = func.snippet(FTS_NAME, 1, MARK_START, MARK_END, "...", SNIPPET_WORDS)

    def base(columns: list[Any]) -> Select[Any]:
        stmt = select(*columns).select_from(Doc)
        if terms and not pg:
            stmt = stmt.join(FTS, FTS.c.rowid == Doc.id)
        return (
            stmt.join(Post, Post.id == Doc.source_id)
            .join(Discussion, Discussion.id == Post.discussion_id)
            .join(Group, Group.id == Discussion.group_id)
            .join(User, User.id == Post.author_id)
            .where(*filters)
        )

    inner = base(
        [
            Doc.id.label("doc_id"),
            Doc.created_at,
            Doc.body,
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
            exact.label("exact"),
            score.label("score"),
            snippet.label("snippet"),
        ]
    ).subquery("hits")
    outer = select(inner)
    if by_relevance:
        outer = outer.order_by(inner.c.exact, inner.c.score, inner.c.doc_id.desc())
        if cursor:
            ce, cs, cid = decode_cursor(cursor, "rel")
            outer = outer.where(
                or_(
                    inner.c.exact > ce,
                    and_(inner.c.exact == ce, inner.c.score > cs),
                    and_(inner.c.exact == ce, inner.c.score == cs, inner.c.doc_id < cid),
                )
            )
    else:
        outer = outer.order_by(inner.c.created_at.desc(), inner.c.doc_id.desc())
        if cursor:
            when, cid = decode_cursor(cursor, "new")
            outer = outer.where(
                or_(
                    inner.c.created_at < when,
                    and_(inner.c.created_at == when, inner.c.doc_id < cid),
                )
            )
    rows = (await session.execute(outer.limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]

    hits = [
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
        for row in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        if by_relevance:
            next_cursor = encode_cursor(["rel", int(last.exact), float(last.score), last.doc_id])
        else:
            next_cursor = encode_cursor(["new", last.created_at.isoformat(), last.doc_id])

    total = len(rows)
    if cursor or more:
        counted = base([Doc.id]).limit(COUNT_CAP + 1).subquery()
        total = int(await session.scalar(select(func.count()).select_from(counted)) or 0)
    capped = total > COUNT_CAP
    return Results(hits, next_cursor, min(total, COUNT_CAP), capped)


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

    words = [w for w in parse_query(title[:200]).words if w.casefold() not in STOPWORDS]
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.casefold(), word)
    return list(seen.values())[:10]


async def similar_discussions(
    session: AsyncSession, *, title: str, viewer: Actor | None, limit: int = 5
) -> list[Similar]:
    """Discussions whose title or question shares words with a title being typed, best
    first: any word may match, titles count most."""
    words = title_words(title)
    if not words:
        return []
    filters: list[ColumnElement[bool]] = [
        Doc.source == POST,
        Post.is_opening.is_(True),
        post_visibility(viewer),
    ]
    if is_postgres(session):
        q = ts_query(words, prefix="w", any_term=True)
        filters.append(TSV.op("@@")(q))
        score: Any = -cast(func.ts_rank_cd(TSV, q), Float)
        stmt = select(Doc.id, score.label("score")).select_from(Doc)
    else:
        filters.append(
            literal_column("search_fts").op("MATCH")(
                bindparam("match", fts5_match(words, any_term=True))
            )
        )
        score = cast(func.bm25(FTS_NAME, TITLE_WEIGHT, BODY_WEIGHT), Float)
        stmt = select(Doc.id, score.label("score")).select_from(Doc)
        stmt = stmt.join(FTS, FTS.c.rowid == Doc.id)
    stmt = (
        stmt.add_columns(
            Discussion.id.label("discussion_id"),
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Group.name.label("group_name"),
            answered().label("answered"),
        )
        .join(Post, Post.id == Doc.source_id)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(Group, Group.id == Discussion.group_id)
        .where(*filters)
        .order_by(score, Doc.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [
        Similar(
            discussion_id=row.discussion_id,
            title=row.title,
            url=f"/discussions/{row.discussion_id}/{row.slug}",
            group_name=row.group_name,
            reply_count=row.reply_count,
            answered=bool(row.answered),
        )
        for row in rows
    ]


__all__ = [
    "KINDS",
    "Hit",
    "Results",
    "Similar",
    "search",
    "similar_discussions",
]
