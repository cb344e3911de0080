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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    Boolean,
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
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import TableClause

from app.access.visibility import PostFacts, readable_posts, visible_library_pages
from app.accounts.models import Actor, User
from app.core.errors import Invalid
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
TSV: ColumnElement[Any] = literal_column("search_documents.tsv")
TITLE_TSV: ColumnElement[Any] = literal_column("search_documents.title_tsv")
# the partial GIN index on title_tsv covers the rows with a title (opening posts)
HAS_TITLE: ColumnElement[bool] = literal_column("search_documents.title <> ''", Boolean)
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0  # bm25 column weights; PostgreSQL: A=1.0, B=0.4
SNIPPET_WORDS = 24
COUNT_CAP = 1000
# candidates ranked by relevance: the newest matches (and the newest title matches)
WINDOW = 500
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
    posts (ix_posts_discussion_top_level): SQLite's planner, without statistics, would pick
    the (status, created_at) index and read every published post for each discussion
    (measured: 30 s for `status:unanswered lymphoma` over 210,000 posts, 300 ms for the
    five similar discussions)."""
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


async def _rows(session: AsyncSession, stmt: Any) -> list[Any]:
    """A SELECT's rows through the session's connection, as Core runs it: the same rows as
    `session.execute`, without the ORM's result machinery (a third of a search's Python
    time, measured on the bench's 210,000 posts). Pending changes are flushed first, as
    the session would."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    conn = await session.connection()
    return list((await conn.execute(stmt)).all())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def source_is(source: str, *, pg: bool) -> ColumnElement[bool]:
    """On SQLite the test is wrapped so that no index on it leads a plan (its planner would
    start from the (source, source_id) index and sort every row); PostgreSQL needs the plain
    column for its estimates."""
    return Doc.source == source if pg else func.lower(Doc.source) == source


def _filters(
    parsed: ParsedQuery, viewer: Actor | None, kind: str, *, pg: bool
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [source_is(POST, pg=pg), post_visibility(viewer)]
    if kind == "discussions" or parsed.in_title:
        filters.append(Doc.is_opening.is_(True))
    elif kind == "posts":
        filters.append(Doc.is_opening.is_(False))
    if parsed.author is not None:
        author = select(User.id).where(User.username_key == parsed.author.casefold())
        filters.append(Doc.author_id == author.scalar_subquery())
    if parsed.group is not None:
        # the index row's own group (kept by moves): tested before any join is made
        group_id = select(Group.id).where(Group.slug == parsed.group).scalar_subquery()
        filters.append(Doc.group_id == group_id)
    if parsed.after is not None:
        filters.append(Doc.created_at >= day_start(parsed.after))
    if parsed.before is not None:
        filters.append(Doc.created_at < day_start(parsed.before))
    if parsed.status is not None:
        discussion_answered = answered(Doc.discussion_id, Doc.discussion_author_id)
        filters.append(
            discussion_answered if parsed.status == "answered" else not_(discussion_answered)
        )
    return filters


def _library_filters(
    parsed: ParsedQuery, kind: str, *, pg: bool
) -> list[ColumnElement[bool]] | None:
    """The conditions on library pages, or None when the query cannot match one: a page has
    no author, group or answers, and is neither a discussion nor a reply."""
    if kind not in ("all", "library") or parsed.author or parsed.group or parsed.status:
        return None
    filters: list[ColumnElement[bool]] = [visible_library_pages()]
    if parsed.after is not None:
        filters.append(Doc.created_at >= day_start(parsed.after))
    if parsed.before is not None:
        filters.append(Doc.created_at < day_start(parsed.before))
    return filters


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


class _Match:
    """The text condition, score and snippet of one engine for a list of terms."""

    def __init__(self, pg: bool, terms: list[str], *, in_title: bool) -> None:
        self.pg = pg
        self.any_match = fts5_match(terms)
        self.table: Any = None  # SQLite: the full-text table `condition` is a MATCH on
        if pg:
            self.q = ts_query(terms, prefix="t")
            self.condition: ColumnElement[bool] = TSV.op("@@")(self.q)
            self.title_condition: ColumnElement[bool] = and_(HAS_TITLE, TITLE_TSV.op("@@")(self.q))
            if in_title:
                self.condition = and_(self.condition, self.title_condition)
            self.score: Any = -cast(func.ts_rank_cd(TSV, self.q), Float)
            self.title_score: Any = self.score
        else:
            self.title_condition = TITLES_NAME.op("MATCH")(
                bindparam("title_match", fts5_match(terms))
            )
            # bm25 over the titles alone, weighed as a title in `search_fts` is
            self.title_score = cast(func.bm25(TITLES_NAME) * TITLE_WEIGHT, Float)
            if in_title:
                self.table, self.condition = TITLES, self.title_condition
                self.score = self.title_score
            else:
                self.table = FTS
                self.condition = FTS_NAME.op("MATCH")(bindparam("match", fts5_match(terms)))
                self.score = cast(func.bm25(FTS_NAME, TITLE_WEIGHT, BODY_WEIGHT), Float)

    def snippet(self) -> Any:
        if self.pg:
            return func.ts_headline(
                literal_column("'english'::regconfig"),
                Doc.body,
                self.q,
                bindparam(
                    "hl",
                    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15, "
                    'MaxFragments=2, FragmentDelimiter=" ... "',
                ),
            )
        return func.snippet(FTS_NAME, 1, MARK_START, MARK_END, "...", SNIPPET_WORDS)


@dataclass(slots=True)
class _Key:
    doc_id: int
    exact: int = 1
    score: float = 0.0


def _documents(columns: list[Any], filters: list[Any], *, fts: TableClause | None) -> Select[Any]:
    """Documents alone (from a full-text table on SQLite): every filter, visibility
    included, reads the document's own row."""
    stmt = select(*columns)
    if fts is not None:
        return stmt.select_from(fts).join(Doc, Doc.id == fts.c.rowid).where(*filters)
    return stmt.select_from(Doc).where(*filters)


def _joined(
    columns: list[Any],
    filters: list[Any],
    *,
    fts: TableClause | None,
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
    terms = parsed.terms
    by_relevance = bool(terms) and parsed.order == "relevance"
    posts = kind != "library"
    filters = _filters(parsed, viewer, kind, pg=pg)
    library = _library_filters(parsed, kind, pg=pg)
    match = _Match(pg, terms, in_title=parsed.in_title) if terms else None
    fts = match is not None and not pg
    # SQLite: the full-text table the text condition reads (the titles' for `in:title`)
    table: TableClause | None = match.table if match is not None and fts else None
    library_ids: set[int] = set()

    if by_relevance:
        assert match is not None
        exact = case((func.lower(Doc.title) == parsed.text, 0), else_=1)

        def window_of(condition: Any, score: Any, source: TableClause | None) -> Select[Any]:
            if pg:
                # ranked once the window is chosen: PostgreSQL would rank every match
                # before keeping the newest (a phrase in 12,000 posts: a third of its time)
                newest = (
                    select(Doc.id, Doc.title, TSV.label("tsv"))
                    .where(*filters, condition)
                    .order_by(Doc.id.desc())
                    .limit(WINDOW)
                    .subquery("newest")
                )
                return select(
                    newest.c.id.label("doc_id"),
                    case((func.lower(newest.c.title) == parsed.text, 0), else_=1).label("exact"),
                    (-cast(func.ts_rank_cd(newest.c.tsv, match.q), Float)).label("score"),
                )
            columns = [Doc.id.label("doc_id"), exact.label("exact"), score.label("score")]
            return (
                _documents(columns, [*filters, condition], fts=source)
                .order_by((source.c.rowid if source is not None else Doc.id).desc())
                .limit(WINDOW)
            )

        windows = [window_of(match.condition, match.score, table)]
        if not parsed.in_title:
            windows.append(
                window_of(match.title_condition, match.title_score, TITLES if fts else None)
            )
        # the two windows merged and ranked here: two short indexed scans beat one compound
        best: dict[int, tuple[int, float, int]] = {}

        def keep(rows: Any) -> None:
            for doc_id, doc_exact, score in rows:
                key = (int(doc_exact), float(score), -int(doc_id))
                if doc_id not in best or key < best[doc_id]:
                    best[doc_id] = key

        for window in windows if posts else []:
            if len(best) >= WINDOW or window is windows[0]:
                keep(await _rows(session, window))
            else:
                break  # every match is in the first window already (title ones included)
        if library is not None:
            ranked_columns = [
                Doc.id.label("doc_id"),
                exact.label("exact"),
                match.score.label("score"),
            ]
            pages = _library_joined(ranked_columns, [*library, match.condition], fts=table)
            rows = await _rows(session, pages.limit(WINDOW))
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
        text = [match.condition] if match is not None else []
        conditions = [*filters, *text]
        newest = (table.c.rowid if table is not None else Doc.id).desc()
        before_cursor: list[Any] = []
        if cursor:
            (cid,) = decode_cursor(cursor, "id")
            before_cursor = [(table.c.rowid if table is not None else Doc.id) < cid]
        ids: list[int] = []
        if posts:
            page = _documents([Doc.id.label("doc_id")], [*conditions, *before_cursor], fts=table)
            ids = [
                row.doc_id for row in await _rows(session, page.order_by(newest).limit(limit + 1))
            ]
        library_total = 0
        if library is not None:
            found = await _rows(
                session, _library_joined([Doc.id], [*library, *text], fts=table).limit(COUNT_CAP)
            )
            library_total = len(found)
            if cursor:
                found = [row for row in found if row[0] < cid]
            library_ids.update(int(row[0]) for row in found)
            ids = sorted([*ids, *library_ids], reverse=True)[: limit + 1]
        keys = [_Key(doc_id) for doc_id in ids]
        total = len(keys)
        if cursor or len(keys) > limit:
            total = library_total
            if posts:
                counted = (
                    _documents([Doc.id], conditions, fts=table)
                    .order_by(newest)  # on SQLite: walk the full-text index newest first
                    .limit(COUNT_CAP + 1)
                    .subquery()
                )
                total += int(
                    (await _rows(session, select(func.count()).select_from(counted)))[0][0] or 0
                )
        capped = total > COUNT_CAP

    more = len(keys) > limit
    keys = keys[:limit]
    next_cursor = None
    if more and keys:
        last = keys[-1]
        next_cursor = (
            encode_cursor(["rel", int(last.exact), float(last.score), last.doc_id])
            if by_relevance
            else encode_cursor(["id", last.doc_id])
        )
    shown = [k.doc_id for k in keys]
    post_hits = await _details(session, [i for i in shown if i not in library_ids], match, fts=fts)
    page_hits = await _library_details(
        session, [i for i in shown if i in library_ids], match, fts=fts
    )
    by_id = {hit.document_id: hit for hit in [*post_hits, *page_hits]}
    hits = [by_id[i] for i in shown if i in by_id]
    return Results(hits, next_cursor, min(total, COUNT_CAP), capped)


async def _library_details(
    session: AsyncSession, ids: list[int], match: _Match | None, *, fts: bool
) -> list[Hit]:
    """The page's library results, with their snippets."""
    if not ids:
        return []
    snippet = match.snippet() if match is not None else func.substr(Doc.body, 1, 240)
    conditions: list[Any] = [Doc.id.in_(ids)]
    if fts and match is not None:
        conditions = [
            FTS.c.rowid.in_(ids),
            FTS_NAME.op("MATCH")(bindparam("match_any", match.any_match)),
        ]
    stmt = _library_joined(
        [
            Doc.id.label("doc_id"),
            Doc.created_at,
            LibraryPage.slug,
            LibraryPage.title,
            snippet.label("snippet"),
        ],
        [*conditions, visible_library_pages()],
        fts=FTS if fts and match is not None else None,
    )
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
        for row in await _rows(session, stmt)
    ]


async def _details(
    session: AsyncSession, ids: list[int], match: _Match | None, *, fts: bool
) -> list[Hit]:
    """The page's rows, in the order of `ids`, with their snippets."""
    if not ids:
        return []
    snippet = match.snippet() if match is not None else func.substr(Doc.body, 1, 240)
    conditions: list[Any] = [Doc.id.in_(ids)]
    if fts and match is not None:
        conditions = [FTS.c.rowid.in_(ids)]  # looked up by rowid, not found by scanning
        # snippet() needs the MATCH in its statement: the unrestricted one covers every hit
        conditions.append(FTS_NAME.op("MATCH")(bindparam("match_any", match.any_match)))
    stmt = _joined(
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
        conditions,
        fts=FTS if fts and match is not None else None,
    )
    rows = {row.doc_id: row for row in await _rows(session, stmt)}
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

    words = [w for w in parse_query(title[:200]).words if w.casefold() not in STOPWORDS]
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.casefold(), word)
    return list(seen.values())[:10]


async def similar_discussions(
    session: AsyncSession, *, title: str, viewer: Actor | None, limit: int = 5
) -> list[Similar]:
    """Discussions whose title shares words with a title being typed, best first (any word
    may match): the newest WINDOW such discussions the viewer may see, ranked by the engine,
    then the few shown are described."""
    words = title_words(title)
    if not words:
        return []
    pg = is_postgres(session)
    filters: list[ColumnElement[bool]] = [
        source_is(POST, pg=pg),
        Doc.is_opening.is_(True),
        post_visibility(viewer, marked=False),
    ]
    if pg:
        q = ts_query(words, prefix="w", any_term=True)
        filters.append(HAS_TITLE)
        filters.append(TITLE_TSV.op("@@")(q))
        score: Any = -cast(func.ts_rank_cd(TSV, q), Float)
    else:
        match = fts5_match(words, any_term=True)
        filters.append(TITLES_NAME.op("MATCH")(bindparam("match", match)))
        score = cast(func.bm25(TITLES_NAME), Float)
    candidates = (
        _documents([Doc.id, score], filters, fts=None if pg else TITLES)
        .order_by((Doc.id if pg else TITLES.c.rowid).desc())
        .limit(WINDOW)
    )
    ranked = sorted(
        (float(found_score), -int(doc_id))
        for doc_id, found_score in await _rows(session, candidates)
    )
    ids = [-neg_id for _score, neg_id in ranked[:limit]]
    if not ids:
        return []
    stmt = (
        select(
            Doc.id,
            Discussion.id.label("discussion_id"),
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Group.name.label("group_name"),
            answered().label("answered"),
        )
        .select_from(Doc)
        .join(Post, Post.id == Doc.source_id)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(Group, Group.id == Discussion.group_id)
        .where(Doc.id.in_(ids))
    )
    rows = {row.id: row for row in await _rows(session, stmt)}
    return [
        Similar(
            discussion_id=row.discussion_id,
            title=row.title,
            url=f"/discussions/{row.discussion_id}/{row.slug}",
            group_name=row.group_name,
            reply_count=row.reply_count,
            answered=bool(row.answered),
        )
        for row in (rows[i] for i in ids if i in rows)
    ]


__all__ = [
    "KINDS",
    "Hit",
    "Results",
    "Similar",
    "search",
    "similar_discussions",
]
