"""The canned-response library: well-worded standard answers that volunteer mentors and
moderators start a reply from.

A template is Markdown with four kinds of placeholder, filled in for one discussion:

- `{member}`: the member being answered, as an @mention (the author of the post answered, or
  of the discussion's question);
- `{group}`: the discussion's group;
- `{moderator}`: the name of whoever uses the template;
- `{appointment:KEY}`: a Markdown link to the configured appointment destination KEY
  (see `app.moderation.canned.appointments`; nothing else is ever linked).

A placeholder is `{name}` or `{name:argument}` with a name made of letters, digits, `_` and
`-`; other braces (`{ }`, `{"a": 1}`, `{1,2}`) are ordinary text. Saving a template with an
unknown placeholder, or an appointment key that is not configured, is refused (422) naming
them. If a destination is deleted later, filling in a template that links to it is refused
(409): it never falls back to some other address, and the moderator sees why.

Moderators create, edit and retire templates; a retired one is no longer offered, stays in the
library's history with its usage count, and can be put back in use.

**Usage is counted when a reply that started from the template is posted** (not when it is
filled in, which may be a preview or abandoned): the composer sends the template's id in the
hidden `canned_response_id` field, and `record_use` adds one in the same transaction as the
new post, with `UPDATE ... SET usage_count = usage_count + 1`. A repeated submit of the same
form (same client key) is not counted twice; an id sent by somebody who may not use
templates, or for a template that does not exist, is ignored (the post itself is fine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.fetch import access_discussion, access_reply_target
from app.access.permissions import Action, can, check_permission
from app.accounts.models import Actor, User
from app.core.errors import Conflict, Invalid, NotFound
from app.core.validation import is_storable
from app.db import utcnow
from app.moderation import audit
from app.moderation.canned.appointments import (
    destinations_by_key,
    escape_markdown,
    list_destinations,
    markdown_link,
)
from app.moderation.canned.placeholders import (
    KNOWN_LIST,
    PLACEHOLDER_RE,
    appointment_keys,
    placeholders,
)
from app.moderation.models import CannedResponse

SEARCH_MAX = 200
SEARCH_WORDS = 10


async def check_template(session: AsyncSession, body: str) -> None:
    """Refuse (422) a template with placeholders that do not exist, naming each of them."""
    unknown = list(dict.fromkeys(p.text for p in placeholders(body) if not p.is_known_form))
    if unknown:
        noun = "placeholder" if len(unknown) == 1 else "placeholders"
        hint = ""
        if any(u in ("{appointment}", "{appointment:}") for u in unknown):
            hint = " An appointment link needs its key, as in {appointment:request}."
        raise Invalid(
            f"unknown {noun} {', '.join(unknown)}. The placeholders are {KNOWN_LIST}.{hint}",
            field="body",
            code="unknown_placeholder",
            extra={"placeholders": unknown},
        )
    keys = appointment_keys(body)
    configured = await destinations_by_key(session, keys)
    missing = [key for key in keys if key not in configured]
    if missing:
        named = ", ".join("{appointment:" + key + "}" for key in missing)
        noun = "link" if len(missing) == 1 else "links"
        available = ", ".join(d.key for d in await list_destinations(session))
        raise Invalid(
            f"unknown appointment {noun} {named}: only configured appointment links can be "
            f"used (configured keys: {available or 'none yet'}).",
            field="body",
            code="unknown_appointment",
            extra={"keys": missing},
        )


# -- reading ------------------------------------------------------------------------------


def _search(query: Select[CannedResponse], q: str) -> Select[CannedResponse]:
    """Every word of `q` appears in the title, the category or the text (any case)."""
    for word in q.split()[:SEARCH_WORDS]:
        query = query.where(
            or_(
                CannedResponse.title.icontains(word, autoescape=True),
                CannedResponse.category.icontains(word, autoescape=True),
                CannedResponse.body_md.icontains(word, autoescape=True),
            )
        )
    return query


async def list_responses(
    session: AsyncSession,
    *,
    viewer: Actor | None,
    q: str | None = None,
    include_retired: bool = False,
) -> list[CannedResponse]:
    """The library in category and title order; retired ones (moderators only) last."""
    check_permission(viewer, Action.use_canned_responses)
    if include_retired:
        check_permission(viewer, Action.manage_canned_responses)
    query = select(CannedResponse)
    if not include_retired:
        query = query.where(CannedResponse.retired_at.is_(None))
    if q:
        if len(q) > SEARCH_MAX or not is_storable(q):
            raise Invalid(
                f"Search for at most {SEARCH_MAX} characters of ordinary text.", field="q"
            )
        query = _search(query, q)
    query = query.order_by(
        CannedResponse.retired_at.is_not(None),
        CannedResponse.category,
        CannedResponse.title,
        CannedResponse.id,
    )
    return list((await session.scalars(query)).all())


async def access_response(
    session: AsyncSession, canned_id: int, *, viewer: Actor | None
) -> CannedResponse:
    """A template the viewer may use (mentors: in use; moderators: retired ones too)."""
    check_permission(viewer, Action.use_canned_responses)
    response = await session.get(CannedResponse, canned_id)
    if response is None or (
        response.retired_at is not None and not can(viewer, Action.manage_canned_responses)
    ):
        raise NotFound("There is no canned response with that number.")
    return response


async def missing_destinations(
    session: AsyncSession, responses: list[CannedResponse]
) -> dict[int, list[str]]:
    """For each template, the appointment keys it names that are no longer configured."""
    wanted = {r.id: appointment_keys(r.body_md) for r in responses}
    configured = await destinations_by_key(session, {k for ks in wanted.values() for k in ks})
    return {
        canned_id: missing
        for canned_id, keys in wanted.items()
        if (missing := [k for k in keys if k not in configured])
    }


# -- writing ------------------------------------------------------------------------------


async def create_response(
    session: AsyncSession, *, moderator: User, title: str, category: str, body: str
) -> CannedResponse:
    check_permission(moderator, Action.manage_canned_responses)
    await check_template(session, body)
    now = utcnow()
    response = CannedResponse(
        title=title,
        category=category,
        body_md=body,
        created_by_id=moderator.id,
        created_at=now,
        updated_at=now,
        usage_count=0,
    )
    session.add(response)
    await session.flush()
    await audit.record(
        session,
        actor=moderator,
        action="create_canned",
        target_type="canned_response",
        target_id=response.id,
        target_label=title,
        reason=f"category: {category}",
    )
    return response


async def update_response(
    session: AsyncSession,
    *,
    moderator: User,
    response: CannedResponse,
    title: str | None = None,
    category: str | None = None,
    body: str | None = None,
    retired: bool | None = None,
) -> CannedResponse:
    """Edit, retire (retired=True) or put back in use (retired=False); each kind of change
    is one audit entry. Usage counts are never touched here."""
    check_permission(moderator, Action.manage_canned_responses)
    changed: list[str] = []
    if body is not None and body != response.body_md:
        await check_template(session, body)
        response.body_md = body
        changed.append("text")
    if title is not None and title != response.title:
        changed.append(f"title: {response.title} → {title}")
        response.title = title
    if category is not None and category != response.category:
        changed.append(f"category: {response.category} → {category}")
        response.category = category
    if changed:
        response.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=moderator,
            action="update_canned",
            target_type="canned_response",
            target_id=response.id,
            target_label=response.title,
            reason="; ".join(changed),
        )
    if retired is True and response.retired_at is None:
        response.retired_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=moderator,
            action="retire_canned",
            target_type="canned_response",
            target_id=response.id,
            target_label=response.title,
            reason=f"used {response.usage_count} times",
        )
    elif retired is False and response.retired_at is not None:
        await check_template(session, response.body_md)  # its links must still exist
        response.retired_at = None
        await session.flush()
        await audit.record(
            session,
            actor=moderator,
            action="restore_canned",
            target_type="canned_response",
            target_id=response.id,
            target_label=response.title,
        )
    return response


async def retire_response(
    session: AsyncSession, *, moderator: User, response: CannedResponse
) -> CannedResponse:
    return await update_response(session, moderator=moderator, response=response, retired=True)


# -- using --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilledResponse:
    canned_response_id: int
    title: str
    markdown: str


async def render_response(
    session: AsyncSession,
    *,
    user: User,
    response: CannedResponse,
    discussion_id: int,
    reply_to: int | None = None,
) -> FilledResponse:
    """The template filled in for a reply in this discussion (to `reply_to`, or to the
    question). Nothing is written: the text goes into the composer, still editable."""
    check_permission(user, Action.use_canned_responses)
    if response.retired_at is not None:
        raise Conflict(
            f"“{response.title}” is retired; choose another response.", code="canned_retired"
        )
    discussion, group = await access_discussion(session, discussion_id, viewer=user)
    answered_id = discussion.author_id
    if reply_to is not None:
        post = await access_reply_target(session, reply_to, discussion=discussion, viewer=user)
        answered_id = post.author_id
    member = await session.scalar(select(User.username).where(User.id == answered_id))

    keys = appointment_keys(response.body_md)
    destinations = await destinations_by_key(session, keys)
    missing = [key for key in keys if key not in destinations]
    if missing:
        raise Conflict(
            f"“{response.title}” links to the appointment link “{missing[0]}”, which is no "
            "longer configured. An administrator can add it again on the appointment links "
            "page, or a moderator can edit this response.",
            code="appointment_not_configured",
            extra={"keys": missing},
        )

    def fill(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        if argument is None and name == "member":
            return f"@{member}" if member else ""
        if argument is None and name == "group":
            return escape_markdown(group.name)
        if argument is None and name == "moderator":
            return user.username
        if name == "appointment" and argument in destinations:
            return markdown_link(destinations[argument])
        return match.group(0)  # saved before a rule existed: left as typed

    return FilledResponse(
        canned_response_id=response.id,
        title=response.title,
        markdown=PLACEHOLDER_RE.sub(fill, response.body_md),
    )


async def record_use(session: AsyncSession, *, user: Actor, canned_response_id: int) -> bool:
    """Count one use (a reply that started from the template was posted). Called by the
    discussions service in the new post's transaction."""
    if not can(user, Action.use_canned_responses):
        return False
    result = await session.execute(
        update(CannedResponse)
        .where(CannedResponse.id == canned_response_id)
        .values(usage_count=CannedResponse.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class CannedSummary:
    id: int
    title: str
    category: str
    usage_count: int
    updated_at: datetime


async def composer_options(session: AsyncSession, *, viewer: Actor | None) -> list[CannedSummary]:
    """What the composer offers this viewer: nothing (and no query) for members."""
    if not can(viewer, Action.use_canned_responses):
        return []
    rows = await session.execute(
        select(
            CannedResponse.id,
            CannedResponse.title,
            CannedResponse.category,
            CannedResponse.usage_count,
            CannedResponse.updated_at,
        )
        .where(CannedResponse.retired_at.is_(None))
        .order_by(CannedResponse.category, CannedResponse.title, CannedResponse.id)
    )
    return [CannedSummary(**row._mapping) for row in rows.all()]
