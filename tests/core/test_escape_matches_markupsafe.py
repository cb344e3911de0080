"""Pages escape what they print with app.core.templating.escape_output, a faster route to
markupsafe's own escaping: it must give markupsafe.escape's text for every value."""

from __future__ import annotations

import json
from pathlib import Path

import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment
from markupsafe import Markup

from app.core.templating import Templates, escape_output

CORPORA = Path(__file__).resolve().parents[1] / "corpora"


class HasHtml:
    def __html__(self) -> str:
        return "<b>made safe by its author</b>"


class Text(str):
    """A str subclass is not a str for the fast route: it must still be escaped."""


def same(value: object) -> None:
    ours, theirs = escape_output(value), markupsafe.escape(value)
    assert ours == str(theirs)
    assert isinstance(ours, str)


@given(st.text())
def test_any_text(text: str) -> None:
    same(text)


@given(st.integers())
def test_any_integer(number: int) -> None:
    same(number)


@given(st.floats(allow_nan=True) | st.booleans() | st.none())
def test_other_plain_values(value: object) -> None:
    same(value)


def test_markup_objects_and_subclasses() -> None:
    same(Markup("<em>already safe</em>"))
    same(HasHtml())
    same(Text("<script>alert(1)</script>"))
    same(True)


def test_every_naughty_string() -> None:
    for text in json.loads((CORPORA / "naughty-strings" / "blns.json").read_text()):
        same(text)


def test_templates_print_through_it() -> None:
    env = Templates(auto_reload=False, site_name="Kindred").env
    page = env.from_string("{{ a }}|{{ b }}|{{ c }}|{{ d | safe }}|{{ e }}")
    html = page.render(a="<a href='x'>&", b=7, c=Markup("<i>ok</i>"), d="<b>", e=HasHtml())
    assert html == (
        "&lt;a href=&#39;x&#39;&gt;&amp;|7|<i>ok</i>|<b>|<b>made safe by its author</b>"
    )


TEMPLATES = [
    "{{ a }}|{{ b }}|{{ c }}|{{ d | safe }}|{{ e }}|{{ a ~ b }}|{{ a | e }}",
    "{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}{{ m(a) }}|{{ m(a) ~ a }}|{{ m(m(a)) }}",
    "{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}{{ a }}{% endcall %}",
    "{% set block %}<i>{{ a }}</i>{% endset %}{{ block }}|{{ block | upper }}",
    "{% filter upper %}{{ a }}{{ b }}{% endfilter %}",
    "{% autoescape false %}{{ a }}{% endautoescape %}|{{ a }}",
    "{% for x in [a, b, c, none] %}{{ x }},{% endfor %}{{ [a] }}{{ {'k': a} }}",
]


@pytest.mark.parametrize("source", TEMPLATES)
def test_templates_write_what_stock_jinja_writes(source: str) -> None:
    """Macros, `{% set %}` blocks, filter blocks and `caller()` join escaped text and mark
    it safe: printed again, nothing may be escaped twice, or not at all."""
    ours = Templates(auto_reload=False, site_name="Kindred").env.from_string(source)
    stock = Environment(autoescape=True).from_string(source)
    values = {"a": "<a href='x'>&", "b": 7, "c": Markup("<i>ok</i>"), "d": "<b>", "e": HasHtml()}
    assert ours.render(values) == stock.render(values)
