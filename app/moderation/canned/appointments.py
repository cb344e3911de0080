"""Appointment destinations: the only addresses `{appointment:KEY}` ever links to.

Administrators configure them (key, name, https address, description). Canned responses refer
to them by key, and a post gets the address the moment the template is filled in; there is no
redirecting route anywhere (nothing like `/go?to=`), so no request can send a reader to an
address that is not in this table.

Addresses are held to a narrow shape: `https://`, a real domain name (not an IP address or a
local name), no user name or password, plain printable ASCII, and nothing in the path that
browsers or servers read as "go somewhere else" (`//`, `..`, encoded slashes, backslashes or
dots, a second `scheme://`). A real appointment page never needs any of that.

A destination's key cannot change once it exists: templates refer to it. Deleting a
destination is allowed (an administrator must be able to take a bad link down at once);
templates that still name it then refuse to fill in (409) until it is configured again or the
template is edited, so a post never gets a link to an address that is not configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Conflict, Invalid, NotFound
from app.core.validation import is_storable
from app.db import dialect_insert, utcnow
from app.moderation import audit
from app.moderation.canned.placeholders import appointment_keys
from app.moderation.models import AppointmentDestination, CannedResponse

KEY_MAX = 40
URL_MAX = 500
KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
KEY_RULE = "use 1 to 40 lowercase letters, digits and hyphens (not at the start or end)"

# RFC 3986 characters only: no spaces, quotes, angle brackets, backslashes or non-ASCII
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_BAD_ESCAPES = re.compile(r"%(?:2f|5c|2e|[01][0-9a-f]|7f)", re.IGNORECASE)
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_key(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError(KEY_RULE)
    return value


def check_destination_url(url: str) -> str:
    """The address as typed, if it is a plain https address of a named website; otherwise a
    ValueError saying what is wrong. Never rewrites the address."""
    if len(url) > URL_MAX:
        raise ValueError(f"use at most {URL_MAX} characters")
    if not url.startswith("https://"):
        raise ValueError("must be a secure web address starting with https://")
    if not _URL_CHARS.match(url):
        raise ValueError(
            "contains characters a web address cannot have (spaces, quotes, backslashes or "
            "non-ASCII letters); copy it from the browser's address bar"
        )
    rest = url[len("https://") :]
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    authority, tail = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
    if "@" in authority:
        raise ValueError("must not contain a user name or password")
    host, _, port = authority.partition(":")
    if ":" in authority and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ValueError("has a port that is not a number from 1 to 65535")
    host = host.lower()
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_DNS_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(
            "must name a website by its domain (such as www.example.org), "
            "not an IP address or a local name"
        )
    if _ESCAPE.search(tail) or _BAD_ESCAPES.search(tail):
        raise ValueError(
            "must not contain encoded slashes, backslashes, dots or control characters"
        )
    path = re.split(r"[?#]", tail, maxsplit=1)[0]
    if "//" in path or any(segment in (".", "..") for segment in path.split("/")):
        raise ValueError("must not contain '//', '.' or '..' in its path")
    if "://" in tail:
        raise ValueError("must not contain a second web address")
    return url


def markdown_link(destination: AppointmentDestination) -> str:
    """`[name](url)`: the name with Markdown's inline characters escaped; the address in
    angle brackets when it has parentheses (it never has spaces or angle brackets)."""
    url = destination.url
    target = f"<{url}>" if "(" in url or ")" in url else url
    return f"[{escape_markdown(destination.name)}]({target})"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")


def escape_markdown(text: str) -> str:
    """Text shown literally in a post (a group's or a destination's name). Line breaks
    become spaces: a name is one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


# -- reading ------------------------------------------------------------------------------


async def list_destinations(session: AsyncSession) -> list[AppointmentDestination]:
    rows = await session.scalars(
        select(AppointmentDestination).order_by(AppointmentDestination.key)
    )
    return list(rows.all())


async def destinations_by_key(
    session: AsyncSession, keys: Iterable[str]
) -> dict[str, AppointmentDestination]:
    wanted = sorted({k for k in keys if is_storable(k) and len(k) <= KEY_MAX})
    if not wanted:
        return {}
    rows = await session.scalars(
        select(AppointmentDestination).where(AppointmentDestination.key.in_(wanted))
    )
    return {row.key: row for row in rows.all()}


async def access_destination(
    session: AsyncSession, key: str, *, admin: User
) -> AppointmentDestination:
    check_permission(admin, Action.manage_appointments)
    found = await destinations_by_key(session, [key])
    if key not in found:
        raise NotFound("There is no appointment link with that key.")
    return found[key]


@dataclass(slots=True)
class DestinationUse:
    destination: AppointmentDestination
    used_by: list[str]  # titles of canned responses in use that link to it


async def list_destinations_with_use(session: AsyncSession, *, admin: User) -> list[DestinationUse]:
    """Every destination and the canned responses (not retired) that link to it, so an
    administrator sees what a change or a deletion affects."""
    check_permission(admin, Action.manage_appointments)
    destinations = await list_destinations(session)
    responses = (
        await session.execute(
            select(CannedResponse.title, CannedResponse.body_md)
            .where(CannedResponse.retired_at.is_(None))
            .order_by(CannedResponse.title)
        )
    ).all()
    used: dict[str, list[str]] = {}
    for title, body in responses:
        for key in appointment_keys(body):
            used.setdefault(key, []).append(title)
    return [DestinationUse(d, used.get(d.key, [])) for d in destinations]


# -- writing ------------------------------------------------------------------------------


def _checked(field: str, value: str, check: Callable[[str], str]) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}", field=field) from None


async def create_destination(
    session: AsyncSession, *, admin: User, key: str, name: str, url: str, description: str = ""
) -> AppointmentDestination:
    check_permission(admin, Action.manage_appointments)
    _checked("key", key, check_key)
    _checked("url", url, check_destination_url)
    now = utcnow()
    # the unique key decides, so two administrators adding the same key at once get one row
    new_id = (
        await session.execute(
            dialect_insert(session, AppointmentDestination)
            .values(
                key=key,
                name=name,
                url=url,
                description=description,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[AppointmentDestination.key])
            .returning(AppointmentDestination.id)
        )
    ).scalar_one_or_none()
    if new_id is None:
        raise Conflict(
            f"There is already an appointment link with the key “{key}”.",
            field="key",
            code="key_taken",
        )
    destination = await session.get_one(AppointmentDestination, new_id)
    await audit.record(
        session,
        actor=admin,
        action="create_appointment",
        target_type="appointment",
        target_id=destination.id,
        target_label=f"{key}: {url}",
        reason=f"name: {name}",
    )
    return destination


async def update_destination(
    session: AsyncSession,
    *,
    admin: User,
    destination: AppointmentDestination,
    name: str | None = None,
    url: str | None = None,
    description: str | None = None,
) -> AppointmentDestination:
    check_permission(admin, Action.manage_appointments)
    changes: list[str] = []
    if url is not None and url != destination.url:
        _checked("url", url, check_destination_url)
        changes.append(f"url: {destination.url} → {url}")
        destination.url = url
    if name is not None and name != destination.name:
        changes.append(f"name: {destination.name} → {name}")
        destination.name = name
    if description is not None and description != destination.description:
        changes.append("description")
        destination.description = description
    if changes:
        destination.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=admin,
            action="update_appointment",
            target_type="appointment",
            target_id=destination.id,
            target_label=f"{destination.key}: {destination.url}",
            reason="; ".join(changes),
        )
    return destination


async def responses_using(session: AsyncSession, *, key: str) -> list[str]:
    """Titles of the canned responses in use (not retired) that link to `key`."""

    rows = await session.execute(
        select(CannedResponse.title, CannedResponse.body_md)
        .where(CannedResponse.retired_at.is_(None))
        .order_by(CannedResponse.title)
    )
    return [title for title, body in rows if key in appointment_keys(body)]


async def delete_destination(
    session: AsyncSession, *, admin: User, destination: AppointmentDestination
) -> None:
    """Delete a destination no canned response in use links to; one still in use is
    refused (409) with the names of those responses, so none is left with a dead link."""
    check_permission(admin, Action.manage_appointments)
    used_by = await responses_using(session, key=destination.key)
    if used_by:
        names = ", ".join(f"“{title}”" for title in used_by)
        noun = "response uses" if len(used_by) == 1 else "responses use"
        raise Conflict(
            f"The appointment link “{destination.key}” cannot be deleted: the canned {noun} "
            f"it: {names}. Edit or retire {'it' if len(used_by) == 1 else 'them'} first.",
            code="appointment_in_use",
            extra={"used_by": used_by},
        )
    label = f"{destination.key}: {destination.url}"
    destination_id = destination.id
    await session.execute(
        delete(AppointmentDestination).where(AppointmentDestination.id == destination_id)
    )
    session.expunge(destination)
    await audit.record(
        session,
        actor=admin,
        action="delete_appointment",
        target_type="appointment",
        target_id=destination_id,
        target_label=label,
    )
