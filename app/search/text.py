"""The text a search indexes: what readers see of a post's sanitized HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Private-use characters mark the matched words in snippets the engines build; they are
# taken out of every indexed text, so no text can carry a marker of its own.
MARK_START = "\ue000"
MARK_END = "\ue001"
_UNINDEXED = re.compile("[\ue000\ue001\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPACES = re.compile(r"\s+")
_BLOCKS = frozenset(
    [
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "hr",
    ]
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """The words of sanitized HTML, entities decoded, one space between blocks."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return clean("".join(parser.parts))


def clean(text: str) -> str:
    return _SPACES.sub(" ", _UNINDEXED.sub(" ", text)).strip()
