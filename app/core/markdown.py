"""Markdown (CommonMark) to safe HTML, done once when a post is written.

Raw HTML in a post is shown as text, never passed through; the output then goes through an
nh3 allow-list as a second wall, and every link gets rel="nofollow ugc noopener".
Images become plain links: a picture from another site would tell that site who reads the
forum, and patients' privacy comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from app.core.mentions import mentions_plugin

ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# the one class a post may carry: links to mentioned members (app/core/mentions.py)
ALLOWED_CLASSES = {"a": {"mention"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


def _render_image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = escapeHtml(str(token.attrGet("src") or ""))
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{src}">{escapeHtml(alt)}</a>'


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.add_render_rule("image", _render_image_as_link)
    md.use(mentions_plugin)
    return md


_parser = _build_parser()
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes=URL_SCHEMES,
    link_rel=LINK_REL,
    strip_comments=True,
)


def render_markdown(text: str, env: dict[str, Any] | None = None) -> str:
    html = _parser.render(text, env if env is not None else {})
    return _cleaner.clean(html)


def parse_markdown(text: str, env: dict[str, Any]) -> list[Token]:
    """First half of `render_markdown`: tokens, with @mention candidates left in `env`."""
    return _parser.parse(text, env)


def render_tokens(tokens: list[Token], env: dict[str, Any]) -> str:
    """Second half: sanitized HTML; `env["mentions"]` says which names are members."""
    return _cleaner.clean(_parser.renderer.render(tokens, _parser.options, env))


def sanitize_html(html: str) -> str:
    return _cleaner.clean(html)
