"""Search, the unanswered queue and the private search log: the rules behind the pages and
the API (both call these)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.permissions import Action, check_permission
from app.access.visibility import visible_discussions
from app.accounts.models import Actor, User
from app.core.errors import Invalid
from app.core.validation import is_storable
from app.db import dialect_insert, utcnow
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.search import engine
from app.search.engine import Results, decode_cursor, encode_cursor
from app.search.models import SearchTermDay
from app.search.query import ParsedQuery, parse_query

LOG_DAYS = 30
_TERMS_CHARS = 200  # the search log's key: a query's words, cut to this length
MEDIAN_DAYS = 30


@dataclass(slots=True)
class SearchForm:
    """What the search page's form controls add to the typed query."""

    q: str = ""
    kind: str = "all"
    group: str = ""
    author: str = ""
    after: str = ""
    before: str = ""
    cursor: str | None = None


def _form_date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("Dates are written YYYY-MM-DD.", field=name, code="bad_date") from None


def merge(form: SearchForm) -> ParsedQuery:
    """The typed query, then the form's controls (a control set wins over an operator)."""
    if form.kind not in engine.KINDS:
        raise Invalid(
            "type is one of all, discussions, posts, library.", field="type", code="bad_type"
        )
    for name, value in (("q", form.q), ("group", form.group), ("author", form.author),
                        ("after", form.after), ("before", form.before)):  # fmt: skip
        if not is_storable(value):  # a NUL: PostgreSQL takes none, FTS5 stops at it
            raise Invalid(
                f"{name} holds a character that cannot be searched for.",
                field=name,
                code="bad_character",
            )
    parsed = parse_query(form.q)
    if form.group:
        parsed.group = form.group.strip().lstrip("#").lower()[:80]
    if form.author:
        parsed.author = form.author.strip().lstrip("@")[:40]
    parsed.after = _form_date(form.after, "after") or parsed.after
    parsed.before = _form_date(form.before, "before") or parsed.before
    return parsed


def is_empty(parsed: ParsedQuery) -> bool:
    return not (
        parsed.terms
        or parsed.author
        or parsed.group
        or parsed.status
        or parsed.before
        or parsed.after
    )


async def search(
    session: AsyncSession, *, form: SearchForm, viewer: Actor | None, limit: int = 20
) -> tuple[ParsedQuery, Results | None]:
    check_permission(viewer, Action.read)
    parsed = merge(form)
    if is_empty(parsed):
        return parsed, None
    results = await engine.search(
        session, parsed=parsed, viewer=viewer, kind=form.kind, cursor=form.cursor, limit=limit
    )
    if viewer is not None and not form.cursor and parsed.terms:
        await log_search(session, terms=parsed.text, found=results.total)
    return parsed, results


# -- the private search log -----------------------------------------------------------------


async def log_search(session: AsyncSession, *, terms: str, found: int) -> None:
    """Count one signed-in member's search under its words and the day: no user id, no
    time of day, no operators (an @name would say whom someone looked for)."""
    terms = terms[:_TERMS_CHARS]
    zero = 1 if found == 0 else 0
    stmt = dialect_insert(session, SearchTermDay).values(
        day=utcnow().date(), terms=terms, searches=1, zero_results=zero
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[SearchTermDay.day, SearchTermDay.terms],
        set_={
            "searches": SearchTermDay.searches + 1,
            "zero_results": SearchTermDay.zero_results + zero,
        },
    )
    await session.execute(stmt)


async def forget_identity(session: AsyncSession, *, username: str, email: str) -> int:
    """A deleted account's old name and address leave the search log: the days' terms that
    say the username as a word (an @mention included, any case) or hold the address (or the
    start of it, where the 200-character key cut it off) are deleted; how many rows went.
    The log holds no user id, so it is read by its text: a few rows say the name at all
    (LIKE finds them), and the word rule is applied to those."""
    name, address = username.lower(), email.lower()
    said = func.lower(SearchTermDay.terms)
    like = [said.contains(name, autoescape=True)]
    if address:  # the whole address, or its start where the key was cut
        like.append(said.contains(address.split("@", 1)[0] + "@", autoescape=True))
    candidates = await session.execute(
        select(SearchTermDay.day, SearchTermDay.terms).where(or_(*like))
    )
    word = re.compile(r"(?<![a-z0-9_])" + re.escape(name) + r"(?![a-z0-9_])")
    doomed = [
        (day, terms)
        for day, terms in candidates.all()
        if word.search(terms.lower()) or (address and _holds_address(terms.lower(), address))
    ]
    for day, terms in doomed:
        await session.execute(
            delete(SearchTermDay).where(SearchTermDay.day == day, SearchTermDay.terms == terms)
        )
    return len(doomed)


def _holds_address(terms: str, address: str) -> bool:
    if address in terms:
        return True
    # cut at the key's length: its end is the start of the address, past the "@"
    tail = terms[terms.rfind(" ") + 1 :]
    return len(terms) >= _TERMS_CHARS and "@" in tail and address.startswith(tail)


@dataclass(slots=True)
class TermCount:
    terms: str
    searches: int
    zero_results: int


async def search_log(
    session: AsyncSession, *, viewer: Actor, limit: int = 25
) -> tuple[list[TermCount], list[TermCount]]:
    """Top searches and searches that found nothing, over the last 30 days."""
    check_permission(viewer, Action.moderate)
    since = utcnow().date() - timedelta(days=LOG_DAYS)
    searches = func.sum(SearchTermDay.searches)
    zero = func.sum(SearchTermDay.zero_results)
    base = (
        select(SearchTermDay.terms, searches.label("s"), zero.label("z"))
        .where(SearchTermDay.day >= since)
        .group_by(SearchTermDay.terms)
    )
    top = (
        await session.execute(base.order_by(searches.desc(), SearchTermDay.terms).limit(limit))
    ).all()
    missing = (
        await session.execute(
            base.having(zero > 0).order_by(zero.desc(), SearchTermDay.terms).limit(limit)
        )
    ).all()
    return (
        [TermCount(r.terms, int(r.s), int(r.z)) for r in top],
        [TermCount(r.terms, int(r.s), int(r.z)) for r in missing],
    )


# -- the unanswered queue -------------------------------------------------------------------


@dataclass(slots=True)
class Waiting:
    discussion_id: int
    title: str
    url: str
    group_slug: str
    group_name: str
    author: str
    created_at: datetime
    waited: timedelta


@dataclass(slots=True)
class GroupMedian:
    group_slug: str
    group_name: str
    answered: int
    asked: int
    median: timedelta | None


@dataclass(slots=True)
class Unanswered:
    items: list[Waiting]
    next_cursor: str | None
    medians: list[GroupMedian] = field(default_factory=list)


def waited_label(waited: timedelta) -> str:
    minutes = int(waited.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


async def unanswered(
    session: AsyncSession,
    *,
    viewer: Actor | None,
    group: str | None = None,
    cursor: str | None = None,
    limit: int = 30,
    now: datetime | None = None,
    with_medians: bool = True,
) -> Unanswered:
    """Discussions nobody but their author has answered, oldest waiting first."""
    now = now or utcnow()
    filters: list[Any] = [visible_discussions(viewer), not_(engine.answered())]
    if group:
        if not is_storable(group):  # a NUL: PostgreSQL takes none
            raise Invalid("group holds a character no group's name has.", field="group")
        filters.append(Group.slug == group)
    if cursor:
        when, ident = decode_cursor(cursor, "new")
        filters.append(
            or_(
                Discussion.created_at > when,
                and_(Discussion.created_at == when, Discussion.id > ident),
            )
        )
    rows = (
        await session.execute(
            select(
                Discussion.id,
                Discussion.title,
                Discussion.slug,
                Discussion.created_at,
                Group.slug.label("group_slug"),
                Group.name.label("group_name"),
                User.username,
            )
            .join(Group, Group.id == Discussion.group_id)
            .join(User, User.id == Discussion.author_id)
            .where(*filters)
            .order_by(Discussion.created_at, Discussion.id)
            .limit(limit + 1)
        )
    ).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(["new", rows[-1].created_at.isoformat(), rows[-1].id])
    items = [
        Waiting(
            discussion_id=r.id,
            title=r.title,
            url=f"/discussions/{r.id}/{r.slug}",
            group_slug=r.group_slug,
            group_name=r.group_name,
            author=r.username,
            created_at=r.created_at,
            waited=now - r.created_at,
        )
        for r in rows
    ]
    medians = await first_response_medians(session, viewer=viewer, now=now) if with_medians else []
    return Unanswered(items, next_cursor, medians)


async def first_response_medians(
    session: AsyncSession, *, viewer: Actor | None, now: datetime, days: int = MEDIAN_DAYS
) -> list[GroupMedian]:
    """Per group, the median time from a question to its first reply by someone else, over
    the discussions started in the last `days` days (those still waiting are counted as
    asked, not in the median)."""
    reply = aliased(Post)
    first = (
        select(func.min(reply.created_at))
        .where(
            reply.discussion_id == Discussion.id,
            reply.is_opening.is_(False),
            reply.author_id != Discussion.author_id,
            reply.status == Visibility.visible.value,
            reply.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(
                Group.slug,
                Group.name,
                Discussion.created_at,
                first.label("first_reply"),
            )
            .join(Group, Group.id == Discussion.group_id)
            .where(visible_discussions(viewer), Discussion.created_at >= now - timedelta(days=days))
            .order_by(Group.name)
        )
    ).all()
    groups: dict[str, tuple[str, list[timedelta], list[int]]] = {}
    for slug, name, created_at, first_reply in rows:
        _, waits, asked = groups.setdefault(slug, (name, [], [0]))
        asked[0] += 1
        if first_reply is not None:
            if isinstance(first_reply, str):  # SQLite hands an aggregate back as text
                first_reply = datetime.fromisoformat(first_reply)
            if first_reply.tzinfo is None:
                first_reply = first_reply.replace(tzinfo=created_at.tzinfo)
            waits.append(first_reply - created_at)
    return [
        GroupMedian(
            group_slug=slug,
            group_name=name,
            answered=len(waits),
            asked=asked[0],
            median=timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
            if waits
            else None,
        )
        for slug, (name, waits, asked) in groups.items()
    ]
