"""Plain-text links in posts, found in time linear in the text.

markdown-it's own linkify (linkify-it-py) grows quadratically on some inputs: a 20,000
character body of `ftp://a.` repeated took seconds, because every `://` re-searches the
text before it and re-scans the text after it. This rule finds `http://`, `https://` and
`www.` links with one regular-expression pass over each piece of text (the pattern starts
with a literal and then takes a run of one character class, so no position is examined
more than a bounded number of times), and trims the punctuation that usually ends a
sentence rather than a link. Bare domains ("example.org") and e-mail addresses are left as
text: a bare domain is too often not meant as a link, and members' addresses are better
not made clickable on a patient forum.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

LINK_RE = re.compile(r"(?<![\w/.@:+-])(?:https?://|www\.)(?=[\w\[])[^\s<>\"'`]*", re.IGNORECASE)
TRAILING = ".,;:!?*'\"_~"
CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim(url: str) -> str:
    """Drop punctuation that ends the sentence, and a closing bracket that has no opening
    one in the link ("(see https://example.org/a)")."""
    while url:
        last = url[-1]
        if last in TRAILING or last in CLOSERS and url.count(CLOSERS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


def find_links(text: str) -> list[tuple[int, int, str]]:
    """(start, end, href) of each link in `text`, left to right."""
    found = []
    for match in LINK_RE.finditer(text):
        url = _trim(match.group(0))
        if len(url) <= len("https://"):
            continue
        href = url if "://" in url[:8] else "http://" + url
        found.append((match.start(), match.start() + len(url), href))
    return found


def _linkify(state: StateCore) -> None:
    md = state.md
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        if "://" not in block.content and "www." not in block.content.lower():
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link > 0:
                children.append(token)
                continue
            links = find_links(token.content)
            if not links:
                children.append(token)
                continue
            position = 0
            for start, end, href in links:
                full = md.normalizeLink(href)
                if not md.validateLink(full):
                    continue
                if start > position:
                    before = Token("text", "", 0, content=token.content[position:start])
                    before.level = token.level
                    children.append(before)
                opening = Token("link_open", "a", 1, attrs={"href": full})
                opening.markup, opening.info, opening.level = "linkify", "auto", token.level
                label = Token("text", "", 0, content=md.normalizeLinkText(token.content[start:end]))
                label.level = token.level + 1
                closing = Token("link_close", "a", -1, markup="linkify", info="auto")
                closing.level = token.level
                children += [opening, label, closing]
                position = end
            if position < len(token.content):
                rest = Token("text", "", 0, content=token.content[position:])
                rest.level = token.level
                children.append(rest)
        block.children = children


def linear_linkify_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("inline", "linear_linkify", _linkify)
