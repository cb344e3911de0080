"""The placeholders of a canned response (`{member}`, `{group}`, `{moderator}`,
`{appointment:KEY}`), read from its Markdown: what the library and the appointment links
both need, so neither imports the other for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)(?::([^{}\n]*))?\}")
SIMPLE_PLACEHOLDERS = ("member", "group", "moderator")
KNOWN_LIST = "{member}, {group}, {moderator} and {appointment:KEY}"


@dataclass(frozen=True, slots=True)
class Placeholder:
    text: str  # as written, braces included
    name: str
    argument: str | None

    @property
    def is_known_form(self) -> bool:
        if self.name in SIMPLE_PLACEHOLDERS:
            return self.argument is None
        return self.name == "appointment" and bool(self.argument)


def placeholders(body: str) -> list[Placeholder]:
    return [Placeholder(m.group(0), m.group(1), m.group(2)) for m in PLACEHOLDER_RE.finditer(body)]


def appointment_keys(body: str) -> list[str]:
    """The appointment keys a template links to, in order, each once."""
    keys = [p.argument for p in placeholders(body) if p.name == "appointment" and p.argument]
    return list(dict.fromkeys(keys))
