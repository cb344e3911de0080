"""Crafted cursors, page numbers and ids are refused with 400/404/422, never 500
(issue 10, hole 8): the two that did (a group cursor dated year 1 with an offset, a
notifications cursor with a 20-digit id), and random ones on every paginated route."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")


async def test_the_two_cursors_that_gave_500(make_client: Any, member: Any, group: Any) -> None:
    c = await make_client(member)
    year_one = b64("0001-01-01T00:00:00+05:00|1")
    for path in (f"/groups/{group.slug}", f"/api/v1/groups/{group.slug}/discussions"):
        r = await c.get(path, params={"cursor": year_one})
        assert r.status_code == 422, (path, r.status_code)
    far = b64("9999-12-31T23:59:59-05:00|1")
    r = await c.get(f"/api/v1/groups/{group.slug}/discussions", params={"cursor": far})
    assert r.status_code == 422
    twenty_digits = b64("n" + "9" * 20)
    for path in ("/api/v1/notifications", "/notifications"):
        r = await c.get(path, params={"cursor": twenty_digits})
        assert r.status_code == 422, (path, r.status_code)
    r = await c.get("/api/v1/notifications", params={"cursor": twenty_digits})
    assert r.json()["code"] in ("invalid", "validation_error")


# what a crafted cursor is made of: dates of every year and offset, ids of every size, and
# plain junk, base64-encoded as the real ones are, or not
dates = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(max_size=40)
ids = st.integers(min_value=-(10**25), max_value=10**25).map(str) | st.text(max_size=25)
crafted = st.one_of(
    st.builds(lambda d, i: b64(f"{d}|{i}"), dates, ids),
    st.builds(lambda i: b64(f"n{i}"), ids),
    st.text(max_size=60),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=60
    ),
)
numbers = st.integers(min_value=-(10**30), max_value=10**30).map(str) | st.text(max_size=30)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cursor=crafted, number=numbers)
async def test_random_cursors_on_every_paginated_route(
    make_client: Any, moderator: Any, group: Any, cursor: str, number: str
) -> None:
    c = await make_client(moderator)
    segment = quote(number, safe="") or "x"
    asks = [
        (f"/groups/{group.slug}", {"cursor": cursor}),
        (f"/api/v1/groups/{group.slug}/discussions", {"cursor": cursor, "limit": number}),
        ("/api/v1/notifications", {"cursor": cursor, "limit": number}),
        ("/notifications", {"cursor": cursor}),
        ("/api/v1/mod/audit", {"before": number, "action": cursor}),
        ("/mod/audit", {"before": number}),
        ("/search", {"q": "care", "cursor": cursor}),
        ("/api/v1/search", {"q": "care", "cursor": cursor}),
        ("/unanswered", {"cursor": cursor}),
        ("/api/v1/unanswered", {"cursor": cursor}),
        ("/discussions/1", {"page": number}),
        ("/api/v1/discussions/1/posts", {"page": number}),
        (f"/api/v1/discussions/{segment}", {}),
        (f"/api/v1/posts/{segment}", {}),
        (f"/notifications/{segment}", {}),
        (f"/discussions/{segment}", {}),
    ]
    for path, params in asks:
        r = await c.get(path, params=params)
        assert r.status_code in (200, 303, 307, 400, 404, 405, 422), (path, params, r.text[:300])
