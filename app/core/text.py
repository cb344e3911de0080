"""Small text helpers shared by every domain."""

from __future__ import annotations

import html as htmllib
import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 80, fallback: str = "discussion") -> str:
    """ASCII slug for readable addresses; the id in the address is what identifies."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug.strip("-") or fallback


def has_visible_text(text: str) -> bool:
    """False for strings made only of white space and invisible format characters."""
    for ch in text:
        if ch.isspace():
            continue
        if unicodedata.category(ch) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn"):
            continue
        return True
    return False


_TAG = re.compile(r"<[^>]*>")


def plain_text(html: str) -> str:
    """The words of HTML this site rendered and sanitized (a post's `body_html`), without
    the markup: for excerpts. Tags become spaces so paragraphs do not run together; the
    result is text, to be escaped like any other when printed."""
    return htmllib.unescape(_TAG.sub(" ", html))
