"""Rendering a post is linear in its length, and long renders leave the event loop free
(issue 10, hole 7). Before, 20,000 characters of `ftp://a.` took about 4 s, inside the
event loop. Edits are rate limited like posts, and a post keeps a bounded number of
revisions an hour."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest

from app.core.markdown import ON_LOOP_MAX_CHARS, render_markdown
from app.discussions.edit_limits import REVISIONS_PER_POST_HOUR
from tests.growth import MAX_GROWTH, growth

PATHOLOGICAL = {
    "repeated ftp scheme": "ftp://a.",
    "repeated http scheme": "http://a.",
    "repeated https links": "https://a.b/ ",
    "www runs": "www.a.",
    "open brackets": "[",
    "nested link openers": "[a](",
    "image openers": "![",
    "bracket closers": "](",
    "emphasis runs": "*a_",
    "underscore runs": "_a",
    "strong runs": "**",
    "long autolinks": "<http://a",
    "angle brackets": "<",
    "entities": "&#",
    "mentions": "@a ",
    "backticks": "`a",
}


def body(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", list(PATHOLOGICAL.values()), ids=list(PATHOLOGICAL))
def test_eight_times_a_pathological_body_costs_about_eight_times_the_work(unit: str) -> None:
    """The shape, not the clock (a timed test fails whenever the machine is busy): linear
    growth is 8, quadratic 64; the reported body took about 4 s at 20,000 characters."""
    assert growth(render_markdown, body(unit, 20_000)) < MAX_GROWTH


def test_links_are_still_found() -> None:
    html = render_markdown("See https://example.org/a_(b). Or www.nhs.uk/x, and [t](https://e.org)")
    assert '<a href="https://example.org/a_(b)"' in html
    assert '<a href="http://www.nhs.uk/x"' in html and '<a href="https://e.org"' in html
    assert "ftp://" not in render_markdown("ftp://a.b") or "<a" not in render_markdown("ftp://a.b")


async def test_a_long_render_leaves_the_event_loop_free(
    make_client: Any, member: Any, group: Any
) -> None:
    """While a worst-case 20,000-character body renders (a worker process does it), the
    server keeps answering: /healthz, asked again and again meanwhile, answers in a few
    milliseconds (before, it waited for the whole render)."""
    c = await make_client(member)
    other = await make_client()
    heavy = body("![", 20_000)
    assert len(heavy) > ON_LOOP_MAX_CHARS

    async def post(title: str) -> None:
        r = await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": title, "body": heavy}
        )
        assert r.status_code == 201, r.text

    await post("Warm-up")  # the worker processes start on first use
    done = asyncio.Event()
    waits: list[float] = []

    async def health() -> None:
        while not done.is_set():
            started = time.perf_counter()
            r = await other.get("/healthz")
            assert r.status_code == 200
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    async def heavy_post() -> None:
        try:
            await post("Heavy")
        finally:
            done.set()

    await asyncio.gather(heavy_post(), health())
    assert len(waits) >= 5, waits  # the loop went on serving during the render
    assert statistics.median(waits) < 0.03, waits


async def test_edits_are_rate_limited_and_revisions_bounded(
    make_client: Any, member: Any, group: Any
) -> None:
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "T", "body": "v0"}
        )
    ).json()
    reply = (
        await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "r0"})
    ).json()
    for n in range(1, REVISIONS_PER_POST_HOUR + 1):
        r = await c.api("PATCH", f"/api/v1/posts/{reply['id']}", json={"body": f"r{n}"})
        assert r.status_code == 200, (n, r.text)
    r = await c.api("PATCH", f"/api/v1/posts/{reply['id']}", json={"body": "one more"})
    assert r.status_code == 429 and r.json()["code"] == "too_many_revisions"
