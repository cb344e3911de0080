"""Page templates write characters beyond ASCII as entities (&middot;, &rsquo;, ...).

A page made only of ASCII text is joined and encoded to UTF-8 by copying bytes; a single
"·" in a template turns the whole page into two-byte text that Python widens, then encodes
character by character (measured: a tenth of a discussion page's CPU). Text people write
can still be anything: this holds for what the templates themselves add."""

from __future__ import annotations

import re

from app.core.templating import TEMPLATE_DIR

JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def test_page_templates_write_non_ascii_as_entities() -> None:
    found = []
    for path in sorted(TEMPLATE_DIR.rglob("*.html")):
        name = path.relative_to(TEMPLATE_DIR).as_posix()
        if name.startswith("emails/"):
            continue  # e-mails are text for mail clients, not pages
        text = JINJA_TAG.sub("", path.read_text())
        found += [
            f"{name}: {line.strip()[:80]}" for line in text.splitlines() if not line.isascii()
        ]
    assert not found, "\n".join(found)
