"""@mentions as a markdown-it rule.

A core rule that runs after `linkify` (so bare URLs and e-mail addresses are already links)
and before `text_join` (so a backslash-escaped `\\@name` stays text). It looks only at plain
text tokens outside links: code spans and code blocks are other token types, and the text
of markdown links, autolinks and linkified URLs sits between `link_open` and `link_close`.

Parsing only finds candidates: each `@name` becomes a `mention` token and its name is added
to `env["mention_candidates"]`. Whoever renders decides which names are members by putting
`env["mentions"]` = {casefolded name: canonical username}; the others render as the text
that was typed. Rendering without that map (previews, e-mails) gives plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

NAME_CHARS = r"A-Za-z0-9_.\-"  # for character classes
# Not a mention when the @ follows a word character or something that makes it part of an
# address or a path (name@example.org, example.org/@name, ?to=@name); not when the name
# runs on past 30 characters or straight into another @ (a@b@c).
MENTION_RE = re.compile(rf"(?<![\w/.+\-=&?#%@:~$\\`])@([{NAME_CHARS}]{{3,30}})(?![{NAME_CHARS}@])")
CANDIDATES = "mention_candidates"
KNOWN = "mentions"
MAX_CANDIDATES = 200


def name_variants(raw: str) -> list[str]:
    """The name as typed and, if it ends in sentence punctuation ("thanks @sonia85."), the
    name without it: a username may end in '.' or '-', so both are looked up."""
    variants = [raw]
    stripped = raw.rstrip(".-")
    if stripped != raw and len(stripped) >= 3:
        variants.append(stripped)
    return variants


def _split_text(token: Token, candidates: dict[str, None]) -> list[Token] | None:
    text = token.content
    if "@" not in text:
        return None
    nodes: list[Token] = []
    last = 0
    for match in MENTION_RE.finditer(text):
        if len(candidates) >= MAX_CANDIDATES:
            break
        start, end = match.span()
        if start > last:
            nodes.append(_text(text[last:start], token.level))
        mention = Token("mention", "", 0)
        mention.content = match.group(1)
        mention.markup = "@"
        mention.level = token.level
        nodes.append(mention)
        for variant in name_variants(match.group(1)):
            candidates.setdefault(variant.lower(), None)
        last = end
    if not nodes:
        return None
    if last < len(text):
        nodes.append(_text(text[last:], token.level))
    return nodes


def _text(content: str, level: int) -> Token:
    token = Token("text", "", 0)
    token.content = content
    token.level = level
    return token


def _find_mentions(state: StateCore) -> None:
    candidates: dict[str, None] = state.env.setdefault(CANDIDATES, {})
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        link_depth = 0
        changed = False
        for child in block.children:
            if child.type == "link_open":
                link_depth += 1
            elif child.type == "link_close":
                link_depth = max(0, link_depth - 1)
            elif child.type == "text" and link_depth == 0:
                nodes = _split_text(child, candidates)
                if nodes is not None:
                    out.extend(nodes)
                    changed = True
                    continue
            out.append(child)
        if changed:
            block.children = out


def _render_mention(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    raw = tokens[idx].content
    known: dict[str, str] = env.get(KNOWN) or {}
    for variant in name_variants(raw):
        username = known.get(variant.lower())
        if username is not None:
            rest = raw[len(variant) :]  # sentence punctuation after the name
            name = escapeHtml(username)
            return f'<a href="/users/{name}" class="mention">@{name}</a>' + escapeHtml(rest)
    return escapeHtml("@" + raw)


def mentions_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("linkify", "mention", _find_mentions)
    md.add_render_rule("mention", _render_mention)


def candidates_of(env: dict[str, Any]) -> list[str]:
    """Casefolded names the parse found, each variant once, in order of appearance."""
    return list(env.get(CANDIDATES, {}))


def mentioned_names(tokens: list[Token]) -> list[str]:
    """Every @name the parse found, as typed, in order (repeats included)."""
    return [
        child.content
        for block in tokens
        if block.type == "inline" and block.children
        for child in block.children
        if child.type == "mention"
    ]
