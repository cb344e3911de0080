"""A post's Markdown made into sanitized HTML once, on write, with its @mentions resolved
against the members that exist (linked, and remembered for the notifications that follow).
Posting renders; the notification hooks reuse the result within the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Invalid
from app.core.markdown import off_the_loop, render_with_mentions, summarize
from app.core.mentions import name_variants
from app.notifications import mentions

# session.info key: bodies rendered in this transaction, so publishing a post just written
# does not parse it again
_RENDERED = "kindred.rendered_bodies"


@dataclass(slots=True)
class RenderedBody:
    html: str
    mentioned_user_ids: list[int] = field(default_factory=list)
    mentioned_usernames: list[str] = field(default_factory=list)
    # unknown @names with the closest existing usernames ("did you mean")
    unknown_mentions: dict[str, list[str]] = field(default_factory=dict)
    # mentioned members who are suspended: linked, never notified
    suspended_user_ids: list[int] = field(default_factory=list)

    @property
    def notifiable_user_ids(self) -> list[int]:
        suspended = set(self.suspended_user_ids)
        return [i for i in self.mentioned_user_ids if i not in suspended]


async def render_body(
    session: AsyncSession, body: str, *, enforce_limit: bool = True
) -> RenderedBody:
    """Markdown to sanitized HTML, with @mentions of existing members linked (one query for
    the names, one more only when some name is unknown, for "did you mean").

    Refuses (422) a post that mentions more than `mentions.MAX_MENTIONS` members, before
    anything is written."""
    # a long text is parsed and rendered in a worker process (core.markdown.off_the_loop).
    # Without an @ there is no mention to find (core.mentions looks for the character
    # itself; an entity such as &#64; never makes one): one parse, not two (for a long
    # text, one round trip to the worker process, not two)
    candidates: list[str] = []
    names: list[str] = []
    if "@" in body:
        candidates, names = await off_the_loop(len(body), summarize, body)
    members = await mentions.members_named(session, candidates) if candidates else {}
    known = {key: m.username for key, m in members.items()}
    rendered = RenderedBody(html=await off_the_loop(len(body), render_with_mentions, body, known))
    unknown: dict[str, str] = {}  # casefolded -> as typed
    seen: set[int] = set()
    for raw in names:
        variants = name_variants(raw)
        member = next((members[v.lower()] for v in variants if v.lower() in members), None)
        if member is None:
            unknown.setdefault(variants[-1].lower(), variants[-1])
        elif member.id not in seen:
            seen.add(member.id)
            rendered.mentioned_user_ids.append(member.id)
            rendered.mentioned_usernames.append(member.username)
            if member.suspended:
                rendered.suspended_user_ids.append(member.id)
    if enforce_limit and len(rendered.mentioned_user_ids) > mentions.MAX_MENTIONS:
        raise Invalid(
            f"A post can mention at most {mentions.MAX_MENTIONS} members; this one mentions "
            f"{len(rendered.mentioned_user_ids)}. Please remove some @names.",
            code="too_many_mentions",
            field="body",
        )
    if unknown:
        rendered.unknown_mentions = await mentions.closest_usernames(
            session, list(unknown.values())
        )
    cache: dict[str, RenderedBody] = session.info.setdefault(_RENDERED, {})
    if len(cache) > 8:
        cache.clear()
    cache[body] = rendered
    return rendered


def rendered_for(session: AsyncSession, body: str) -> RenderedBody | None:
    """The result of `render_body` for this text earlier in the transaction, if any."""
    cached: dict[str, RenderedBody] = session.info.get(_RENDERED, {})
    return cached.get(body)


async def rendered_or_render(session: AsyncSession, body: str) -> RenderedBody:
    """This text's rendering from earlier in the transaction, or a new one."""
    return rendered_for(session, body) or await render_body(session, body, enforce_limit=False)
