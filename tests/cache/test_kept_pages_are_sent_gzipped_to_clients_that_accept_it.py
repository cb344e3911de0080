"""Kept pages are held gzip-compressed: a client whose Accept-Encoding allows gzip gets
the stored bytes as they are (`Content-Encoding: gzip`), on the miss that kept them and on
every hit; a client that does not gets the page decompressed, byte for byte what the app
rendered. Each encoding has its own ETag, and a 304 answers only the copy the client
holds. Members' pages (never kept) are not compressed by the app: the proxy does that."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from app.cache.middleware import accepts_gzip
from tests.cache.conftest import Thread

BROWSER = "gzip, deflate, br"


async def raw_get(
    app: Any, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app: the status, the headers (lower-cased
    names, each once) and the body's bytes exactly as sent (no client decompresses)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    names = [k.decode() for k, _ in start["headers"]]
    assert len(names) == len(set(names)), names  # each header once
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


async def test_a_gzip_client_gets_the_kept_gzip_bytes_on_the_miss_and_on_hits(
    app: Any, thread: Thread
) -> None:
    status, miss, packed = await raw_get(app, thread.url, {"accept-encoding": BROWSER})
    assert status == 200 and miss["x-cache"] == "miss"
    assert miss["content-encoding"] == "gzip" and int(miss["content-length"]) == len(packed)
    page = gzip.decompress(packed)
    assert b"Counts after chemo" in page and len(packed) * 2 < len(page)
    for _ in range(2):
        status, hit, body = await raw_get(app, thread.url, {"accept-encoding": BROWSER})
        assert status == 200 and hit["x-cache"] == "hit" and body == packed
        assert {**hit, "x-cache": "miss"} == miss  # the same representation, same headers
    assert miss["vary"] == "Accept-Encoding, Cookie, Authorization"
    entry = app.state.page_cache.store.get(thread.url)
    assert entry.body == packed  # what is kept is the compressed page


async def test_a_client_without_gzip_gets_the_plain_page(app: Any, thread: Thread) -> None:
    _, zipped, packed = await raw_get(app, thread.url, {"accept-encoding": "gzip"})
    page = gzip.decompress(packed)
    for headers in ({}, {"accept-encoding": "identity"}, {"accept-encoding": "gzip;q=0, br"}):
        status, plain, body = await raw_get(app, thread.url, headers)
        assert status == 200 and plain["x-cache"] == "hit", headers
        assert "content-encoding" not in plain and body == page, headers
        assert int(plain["content-length"]) == len(page)
        assert plain["etag"] != zipped["etag"] and plain["vary"] == zipped["vary"]
        assert plain["content-type"] == zipped["content-type"]
    # the plain page is the one the app rendered: the same as with the cache off
    app.state.page_cache.store.clear()
    status, rendered, body = await raw_get(app, thread.url)
    assert rendered["x-cache"] == "miss" and "content-encoding" not in rendered
    assert body == page and rendered["etag"] == plain["etag"]


async def test_head_says_the_length_of_the_encoding_it_would_send(app: Any, thread: Thread) -> None:
    _, _, packed = await raw_get(app, thread.url, {"accept-encoding": "gzip"})
    status, zipped, body = await raw_get(app, thread.url, {"accept-encoding": "gzip"}, "HEAD")
    assert status == 200 and body == b"" and zipped["content-encoding"] == "gzip"
    assert int(zipped["content-length"]) == len(packed)
    status, plain, body = await raw_get(app, thread.url, {}, "HEAD")
    assert status == 200 and body == b"" and "content-encoding" not in plain
    assert int(plain["content-length"]) == len(gzip.decompress(packed))


async def test_each_encoding_has_its_own_etag_and_304(app: Any, thread: Thread) -> None:
    _, zipped, _ = await raw_get(app, thread.url, {"accept-encoding": "gzip"})
    _, plain, _ = await raw_get(app, thread.url)
    assert zipped["etag"].endswith('-gzip"') and zipped["etag"] != plain["etag"]
    for accept, etag, expected in (
        ("gzip", zipped["etag"], 304),
        ("identity", plain["etag"], 304),
        ("gzip", f"W/{zipped['etag']}", 304),
        # the other encoding's copy is not the one this client would get
        ("identity", zipped["etag"], 200),
        ("gzip", plain["etag"], 200),
    ):
        status, headers, body = await raw_get(
            app, thread.url, {"accept-encoding": accept, "if-none-match": etag}
        )
        assert status == expected, (accept, etag)
        assert headers["x-cache"] == "hit"
        if status == 304:
            assert body == b"" and "content-length" not in headers
            assert "content-encoding" not in headers
            assert headers["etag"] == etag.removeprefix("W/")
            assert headers["vary"] == "Accept-Encoding, Cookie, Authorization"
        else:
            assert headers["etag"] != etag and body
    # on the miss that keeps the page as well
    app.state.page_cache.store.clear()
    status, headers, _ = await raw_get(
        app, thread.url, {"accept-encoding": "gzip", "if-none-match": zipped["etag"]}
    )
    assert status == 304 and headers["x-cache"] == "miss"
    app.state.page_cache.store.clear()
    status, headers, _ = await raw_get(
        app, thread.url, {"accept-encoding": "gzip", "if-none-match": plain["etag"]}
    )
    assert status == 200 and headers["content-encoding"] == "gzip"


async def test_a_write_gives_a_new_compressed_page(
    app: Any, thread: Thread, make_client: Any, member: Any
) -> None:
    _, before, packed = await raw_get(app, thread.url, {"accept-encoding": "gzip"})
    await raw_get(app, thread.url, {"accept-encoding": "gzip"})
    me = await make_client(member)
    r = await me.api("POST", f"/api/v1/discussions/{thread.id}/posts", json={"body": "Fresh"})
    assert r.status_code == 201
    status, after, body = await raw_get(
        app, thread.url, {"accept-encoding": "gzip", "if-none-match": before["etag"]}
    )
    assert status == 200 and after["x-cache"] == "miss" and after["etag"] != before["etag"]
    assert b"Fresh" in gzip.decompress(body) and b"Fresh" not in gzip.decompress(packed)


async def test_members_pages_are_not_compressed_by_the_app(
    app: Any, make_client: Any, member: Any, thread: Thread
) -> None:
    me = await make_client(member)
    cookie = "; ".join(f"{k}={v}" for k, v in me.cookies.items())
    status, headers, body = await raw_get(
        app, thread.url, {"accept-encoding": BROWSER, "cookie": cookie}
    )
    assert status == 200 and "content-encoding" not in headers
    assert member.username.encode() in body and headers["cache-control"] == "no-store"
    assert "Accept-Encoding" in headers["vary"]  # a proxy that compresses keeps both


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("identity", False),
        ("br", False),
        ("", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("br, *;q=0.5", True),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(value: str, allowed: bool) -> None:
    assert accepts_gzip(value.encode()) is allowed
