"""Crisis language: first-person statements of intent to self-harm, or of an emergency
happening now, found when a post is written, and the resources shown to its author.

The post is never blocked and never labelled publicly: the author is shown the crisis
resources for their country at once, and the moderators hear of it. The lexicon and its
exceptions are data (data/crisis.json), so they can be reviewed and grown without touching
code; the test corpus in tests/safety/test_crisis_language_is_answered.py holds them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

# Aliases members type for their country.
COUNTRY_ALIASES = {"UK": "GB", "EN": "GB"}


@dataclass(frozen=True, slots=True)
class CrisisSignal:
    kind: str  # "self_harm" or "emergency"
    text: str  # the words that read as a crisis (for moderators, never shown publicly)
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Lexicon:
    signals: tuple[_Rule, ...]
    phrase_exceptions: tuple[re.Pattern[str], ...]
    sentence_exceptions: tuple[re.Pattern[str], ...]
    context_exceptions: tuple[re.Pattern[str], ...]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@cache
def lexicon() -> Lexicon:
    data = json.loads((DATA / "crisis.json").read_text(encoding="utf-8"))
    return Lexicon(
        signals=tuple(_Rule(s["kind"], _compile(s["pattern"])) for s in data["signals"]),
        phrase_exceptions=tuple(_compile(e["pattern"]) for e in data["phrase_exceptions"]),
        sentence_exceptions=tuple(_compile(e["pattern"]) for e in data["sentence_exceptions"]),
        context_exceptions=tuple(_compile(e["pattern"]) for e in data["context_exceptions"]),
    )


# A sentence ends at . ! ? or a line break: a signal never spans two.
_SENTENCE_END = re.compile(r"[.!?\n]")
# Typographic apostrophes made plain, one character for one, so offsets do not move.
_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def detect_crisis(*texts: str) -> CrisisSignal | None:
    """The first crisis signal in these texts (a title and a body), or None.

    Each signal's pattern scans the whole text once (a scan per sentence would cost a call
    per sentence and pattern); the rare match is then judged within its own sentence."""
    lex = lexicon()
    for text in texts:
        plain = text.translate(_PLAIN)
        found: list[tuple[int, int, str]] = []
        for rule in lex.signals:
            for n, m in enumerate(rule.pattern.finditer(plain)):
                if n >= MAX_MATCHES_PER_SIGNAL:
                    break
                if _SENTENCE_END.search(plain, m.start(), m.end()):
                    continue  # across two sentences
                if _fires(lex, plain, m.start(), m.end()):
                    found.append((m.start(), m.end(), rule.kind))
                    break
        if found:
            # the earliest, and of those the longest: the words a moderator reads
            start, end, kind = min(found, key=lambda f: (f[0], -f[1]))
            return CrisisSignal(kind, text[start:end], start, end)
    return None


# How much of a sentence around a signal its exceptions are looked for in: enough for any
# sentence people write, and a bound on the work for a 20,000-character "sentence".
CONTEXT_CHARS = 300
# Matches of one pattern judged per text: more than this and it reads as a crisis anyway
# or it is a flood of the same words; either way the work stays bounded.
MAX_MATCHES_PER_SIGNAL = 25


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    window = max(0, start - CONTEXT_CHARS)
    lo = max((text.rfind(c, window, start) for c in ".!?\n"), default=-1) + 1
    lo = max(lo, window)
    after = _SENTENCE_END.search(text, end, end + CONTEXT_CHARS)
    hi = after.end() if after else min(len(text), end + CONTEXT_CHARS)
    return lo, hi


def _fires(lex: Lexicon, text: str, start: int, end: int) -> bool:
    lo, hi = _sentence_bounds(text, start, end)
    sentence = text[lo:hi]
    m_start, m_end = start - lo, end - lo
    for exc in lex.phrase_exceptions:
        for e in exc.finditer(sentence):
            if e.start() < m_end and m_start < e.end():
                return False
    if any(exc.search(sentence) for exc in lex.sentence_exceptions):
        return False
    before = sentence[:m_start]
    return not any(exc.search(before) for exc in lex.context_exceptions)


# -- resources ----------------------------------------------------------------------------


@cache
def _resources() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "crisis_resources.json").read_text(encoding="utf-8"))
    return data


def normalize_country(country: str | None) -> str | None:
    """An ISO 3166 alpha-2 code in capitals, or None."""
    if not country:
        return None
    code = country.strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if len(code) == 2 and code.isalpha() and code.isascii() else None


def resources_for(
    country: str | None, *, site_line_name: str = "", site_line_phone: str = ""
) -> list[dict[str, str]]:
    """The crisis resources for a member's country (the emergency number first), then the
    site's own emergency line when one is configured."""
    data = _resources()
    code = normalize_country(country)
    chosen = data["countries"].get(code or "", data["default"])
    out = [
        {
            "name": r["name"],
            "phone": r.get("phone", ""),
            "text": r["text"],
            "url": r.get("url", ""),
        }
        for r in chosen
    ]
    if site_line_phone:
        out.append(
            {
                "name": site_line_name or "Our emergency line",
                "phone": site_line_phone,
                "text": f"Call {site_line_phone} to reach our care team.",
                "url": "",
            }
        )
    return out


def known_countries() -> list[str]:
    return sorted(_resources()["countries"])
