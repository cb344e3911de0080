"""The composer pages' side of the safety checks, for forms without JavaScript: the
findings shown next to the text with "Remove it" and "Post anyway" buttons, a "Remove it"
applied by the server, the advice hint shown once before a reply that reads as
instructions, and the crisis resources carried to the next page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.safety.advice import HINT, instruction_phrases
from app.safety.personal_info import Finding, check_post, remove_findings
from app.safety.review import PersonalInformationFound, support_for

REMOVE_FIELD = "remove_finding"
# sent by a form that has shown the advice hint (templates/safety/findings.html, safety.js)
ADVICE_SEEN_FIELD = "advice_seen"
CONTEXT_CHARS = 40


@dataclass(frozen=True, slots=True)
class ShownFinding:
    """A finding as the form shows it: the words around it, and what removing puts there."""

    index: int
    label: str
    field: str
    text: str
    before: str
    after: str
    placeholder: str


def shown(title: str, body: str, findings: list[Finding]) -> list[ShownFinding]:
    out = []
    for i, f in enumerate(findings):
        source = title if f.field == "title" else body
        out.append(
            ShownFinding(
                index=i,
                label=f.label,
                field=f.field,
                text=f.text,
                before=source[max(0, f.start - CONTEXT_CHARS) : f.start],
                after=source[f.end : f.end + CONTEXT_CHARS],
                placeholder=f.placeholder,
            )
        )
    return out


def findings_context(values: dict[str, str], findings: list[Finding]) -> dict[str, Any]:
    body = values.get("body", "")
    advice = instruction_phrases(body)
    return {
        "findings": shown(values.get("title", ""), body, findings),
        "advice_hint": HINT if advice else None,
    }


def refused(values: dict[str, str], exc: PersonalInformationFound) -> dict[str, Any]:
    """The form's context when the server asks about personal information."""
    return findings_context(values, exc.findings)


async def removal(
    request: Request, values: dict[str, str], *, region: str | None
) -> dict[str, Any] | None:
    """When the form's "Remove it" was pressed: the form's values with that finding
    replaced by its placeholder (the text is checked again here, so a stale or altered
    index removes nothing it should not), and the findings left. None otherwise."""
    raw = (await request.form()).get(REMOVE_FIELD)
    if not isinstance(raw, str):
        return None
    title, body = values.get("title", ""), values.get("body", "")
    findings = check_post(title, body, region=region)
    if raw.isdigit() and int(raw) < len(findings):
        chosen = findings[int(raw)]
        if chosen.field == "title":
            title = remove_findings(title, [chosen])
        else:
            body = remove_findings(body, [chosen])
    new_values = dict(values, body=body)
    if "title" in values:
        new_values["title"] = title
    new_values.pop("confirm_personal_information", None)
    return {
        "values": new_values,
        **findings_context(new_values, check_post(title, body, region=region)),
    }


async def advice_pause(
    request: Request, values: dict[str, str], *, region: str | None
) -> dict[str, Any] | None:
    """A reply that reads as medical instructions, sent from a form that has not shown the
    hint (no JavaScript, or sent before the script's check came back): the form comes back
    once, with the hint and "Post as it is". Never a refusal: the form it answers carries
    `advice_seen`, so the next submit posts. None when there is nothing to say, and when
    the text holds personal information: the server's question about it shows the hint
    too, and its buttons carry `advice_seen`."""
    if (await request.form()).get(ADVICE_SEEN_FIELD):
        return None
    body = values.get("body", "")
    if not instruction_phrases(body) or check_post(None, body, region=region):
        return None
    return {"values": values, "findings": [], "advice_hint": HINT, "advice_pause": True}


def with_support(location: str, session: AsyncSession) -> str:
    """The next page's address, asking it to show the crisis resources when the post just
    written reads as a crisis (only its author is sent there; anyone may open the address,
    and all it shows is the resources for the viewer's own country)."""
    if support_for(session) is None:
        return location
    parts = urlsplit(location)
    query = f"{parts.query}&support=crisis" if parts.query else "support=crisis"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
