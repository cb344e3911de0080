"""Markdown (CommonMark) to safe HTML, done once when a post is written.

Raw HTML in a post is shown as text, never passed through; the output then goes through an
nh3 allow-list as a second wall, and every link gets rel="nofollow ugc noopener".
Images become plain links: a picture from another site would tell that site who reads the
forum, and patients' privacy comes first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, TypeVar

import nh3
from anyio import to_thread
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from app.core.linkify import linear_linkify_plugin
from app.core.mentions import mentions_plugin

T = TypeVar("T")
log = logging.getLogger(__name__)

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
    # markdown-it's own linkify is quadratic on some inputs: app/core/linkify.py instead
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(linear_linkify_plugin)
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


# Rendering is linear in the text's length (app/core/linkify.py replaced the quadratic
# linkifier; tests/core/test_markdown_is_linear.py holds it), but its worst case is about
# 15 microseconds a character (20,000 characters of "![" take ~0.3 s of CPU). A thread
# would not free the event loop (the render holds the GIL), so texts longer than
# ON_LOOP_MAX_CHARS (a few milliseconds at worst) are rendered in a worker process.
ON_LOOP_MAX_CHARS = 256
_pool: ProcessPoolExecutor | None = None


def _worker_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn: a fork of a process running threads (the loop's helpers) is not safe
        _pool = ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn"))
    return _pool


def summarize(text: str) -> tuple[list[str], list[str]]:
    """(mention candidates, @names as typed) of a text: what rendering needs to know first."""
    from app.core.mentions import candidates_of, mentioned_names

    env: dict[str, Any] = {}
    tokens = parse_markdown(text, env)
    return candidates_of(env), mentioned_names(tokens)


def render_with_mentions(text: str, known: dict[str, str]) -> str:
    """Sanitized HTML, linking the @names in `known` (casefolded -> username)."""
    from app.core.mentions import KNOWN

    env: dict[str, Any] = {KNOWN: known}
    return render_tokens(parse_markdown(text, env), env)


async def off_the_loop(size: int, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` (a module-level function) here when `size`, the text's length, is
    small; else in a worker process, while the loop serves other requests."""
    if size <= ON_LOOP_MAX_CHARS:
        return work(*args)
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_worker_pool(), work, *args)
    except BrokenProcessPool:
        # a worker died (killed, out of memory) or could not start: the next text gets a
        # new pool; this one is rendered on a thread rather than not at all
        log.warning("markdown: the worker process pool broke; starting a new one")
        _pool = None
        return await to_thread.run_sync(work, *args)
