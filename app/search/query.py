"""The query language people type, parsed into tokens; the engines' own syntax is built
from these tokens later (every term quoted), so nothing typed can be an engine error.

    neutrophil count "bone marrow" @colleenyoung #blood-cancers-disorders in:title
    status:unanswered before:2026-01-31 after:2025-12-01 order:latest

Unknown operators (`foo:bar`), malformed dates and empty values are plain words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.core.errors import Invalid

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
MAX_TERM_CHARS = 100

_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9\-]{0,79}")
# characters that separate words for both engines' tokenizers: punctuation a term may carry
_EDGE = "\"'()[]{}*^:;!?<>+=~|\\/`,."


@dataclass(slots=True)
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    author: str | None = None
    group: str | None = None
    in_title: bool = False
    status: str | None = None  # "answered" | "unanswered"
    before: date | None = None
    after: date | None = None
    order: str = "relevance"  # "relevance" | "latest"

    @property
    def terms(self) -> list[str]:
        """What the text must contain: each word and each phrase, as typed."""
        return [*self.words, *self.phrases][:MAX_TERMS]

    @property
    def has_text(self) -> bool:
        return bool(self.terms)

    @property
    def text(self) -> str:
        """The words and phrases alone, lower case: the exact-title test and the log key."""
        return " ".join(t.lower() for t in self.terms)


def _date(value: str) -> date | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _word(parsed: ParsedQuery, raw: str) -> None:
    word = raw.strip(_EDGE)[:MAX_TERM_CHARS]
    if word and any(ch.isalnum() for ch in word):
        parsed.words.append(word)


def parse_query(q: str) -> ParsedQuery:
    """Tokens of a query; raise Invalid (422) only when it is too long to be a question."""
    if len(q) > MAX_QUERY_CHARS:
        raise Invalid(
            f"A search can be at most {MAX_QUERY_CHARS} characters long.",
            field="q",
            code="query_too_long",
        )
    parsed = ParsedQuery()
    for match in _TOKEN.finditer(q):
        phrase, token = match.group(1), match.group(2)
        if phrase is not None:
            words = " ".join(phrase.split())[:MAX_TERM_CHARS]
            if any(ch.isalnum() for ch in words):
                if " " in words:
                    parsed.phrases.append(words)
                else:
                    _word(parsed, words)
            continue
        assert token is not None
        lower = token.lower()
        if token.startswith("@") and _NAME.fullmatch(token[1:]):
            parsed.author = token[1:]
        elif token.startswith("#") and _SLUG.fullmatch(lower[1:]):
            parsed.group = lower[1:]
        elif lower == "in:title":
            parsed.in_title = True
        elif lower in ("status:unanswered", "status:answered"):
            parsed.status = lower.split(":", 1)[1]
        elif lower in ("order:latest", "order:relevance"):
            parsed.order = lower.split(":", 1)[1]
        elif lower.startswith(("before:", "after:")):
            name, _, value = lower.partition(":")
            when = _date(value)
            if when is None:
                _word(parsed, value)  # a bad date is a word, never an error
            elif name == "before":
                parsed.before = when
            else:
                parsed.after = when
        else:
            _word(parsed, token)
    return parsed
