"""The outermost ASGI callable: visitors' pages from memory, conditional requests, and the
headers that say what may be kept.

A hit (GET or HEAD, no session cookie or Authorization header, an entry for the address)
costs a scan of the request's headers, a look at the host's change counter, a dict
look-up and two `send` calls: no Request object, no routing, no middleware. Everything
else goes to the app; the answers of the pages in `cache.pages` are held until complete,
given an ETag (and a Last-Modified when it is exact to the second), answered 304 when the
client already has them, and kept when all of this holds:

- the request was a visitor's GET whose address is canonical (only parameters the page
  reads, none that makes the page one person's: `pages.BYPASS`);
- the app answered 200 from one of `cache.pages`' routes, without setting a cookie (a
  page that carries a CSRF token sets the anonymous cookie, so it is never kept);
- nothing visitors see changed while the page was being rendered (the counter did not
  move), and this process is not waiting to catch up on missed messages.

Kept pages are kept gzip-compressed (`GZIP_LEVEL`, once, when the page is kept: a miss
pays about 0.23 ms of CPU more, a hit nothing) and sent as they are, with
`Content-Encoding: gzip`, to clients whose Accept-Encoding allows gzip (every browser, and
nginx); a client that does not gets the page decompressed. Each encoding has its own ETag
(the gzip one ends in `-gzip"`), so a 304 is only ever given for the copy the client holds,
and every page says `Vary: Accept-Encoding, Cookie, Authorization`. Pages that are not
kept (members', and visitors' pages that changed while rendering) are sent uncompressed:
compressing them in the app would cost every such request 0.1-0.3 ms of the worker's CPU
(level 1-6, a 28 KB page), which the reverse proxy in front (deploy/nginx, `gzip on`)
spends instead, off the workers that hold the Python work.

Kept pages tell shared caches they may keep them a second (`s-maxage=1`, for a reverse
proxy's micro-cache, deploy/nginx) and browsers to ask again each time (`max-age=0`),
which the ETag makes a 304. Pages for signed-in members keep the app's own Cache-Control
(`no-store`: they name the member).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from math import ceil
from typing import Any

from app.cache.invalidation import Bus
from app.cache.pages import BYPASS, IGNORED, IGNORED_PREFIX, KEYED, PAGES
from app.cache.store import ENTRY_OVERHEAD, Entry, PageStore, Variant

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_MARK = b"kindred_session="
VISITOR_POLICY = b"public, max-age=0, s-maxage=1"
VARY = b"Accept-Encoding, Cookie, Authorization"
# a 28.9 KB discussion page: level 1 makes 5.23 KB in 0.09 ms of CPU, level 4 4.73 KB in
# 0.23 ms, level 6 4.63 KB in 0.30 ms (a render is about 1 ms; paid once per kept page).
# Level 4: the 0.5 KB a page is what keeps 5,000 pages and a worker under 150 MB
# (`page_cache_bytes`). Decompressing for a client without gzip: 0.04 ms
GZIP_LEVEL = 4
# headers the cache sets itself on the pages it handles
_REPLACED = frozenset(
    {
        b"cache-control",
        b"vary",
        b"etag",
        b"last-modified",
        b"x-cache",
        b"content-length",
    }
)
# what a 304 repeats of the 200 (RFC 9110 15.4.5)
_NOT_MODIFIED_KEEP = frozenset({b"cache-control", b"vary", b"etag", b"last-modified", b"x-cache"})


def request_key(path: str, query: bytes) -> tuple[str | None, bool, frozenset[str]]:
    """The entry's key for an address, whether the address is canonical (no tracking
    parameter to drop), and the keyed parameters' names. No key (None): the request must
    not touch the cache (a parameter no page is known to key on, a notice, a repeated or
    encoded parameter name)."""
    kept: list[str] = []
    names: set[str] = set()
    canonical = True
    for part in query.split(b"&"):
        if not part:
            canonical = False
            continue
        raw_name, _, _value = part.partition(b"=")
        if b"%" in raw_name or b"+" in raw_name:
            return None, False, frozenset()
        name = raw_name.decode("latin-1")
        if name in BYPASS:
            return None, False, frozenset()
        if name in KEYED:
            if name in names:
                return None, False, frozenset()
            names.add(name)
            kept.append(part.decode("latin-1"))
        elif name in IGNORED or name.startswith(IGNORED_PREFIX):
            canonical = False
        else:
            return None, False, frozenset()
    if not kept:
        return path, canonical, frozenset()
    kept.sort()
    return path + "?" + "&".join(kept), canonical, frozenset(names)


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110 12.5.3): `gzip` (or
    `x-gzip`) with a q above 0, or `*` with a q above 0 when gzip is not named. Remembered
    per value: clients send a handful of distinct ones."""
    star = False
    for item in accept_encoding.split(b","):
        coding, *params = item.split(b";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition(b"=")
            if name.strip().lower() == b"q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding == b"gzip" or coding == b"x-gzip":
            return q > 0
        if coding == b"*":
            star = q > 0
    return star


def gzip_body(body: bytes) -> bytes:
    """The body as a gzip member (no file name, no time: the same page gives the same
    bytes)."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return packer.compress(body) + packer.flush()


def _etag(body: bytes, *, kept: bool) -> bytes:
    """The body's length and checksums (a few microseconds for a page, where a
    cryptographic hash costs tens). A validator only has to tell a client's copy from the
    current page; nobody gains by making two pages collide. A kept page (every visitor's,
    revalidated all day) gets CRC-32 and Adler-32; any other page, above all a member's
    (`no-store`: browsers keep no copy to revalidate, and a discussion page carries a new
    `client_key` each time), CRC-32 only: Adler-32 cost members' pages ~35 µs each."""
    if kept:
        return b'"%x-%08x%08x"' % (len(body), zlib.crc32(body), zlib.adler32(body))
    return b'"%x-%08x"' % (len(body), zlib.crc32(body))


def _matches(etag: bytes, if_none_match: bytes) -> bool:
    if if_none_match.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in if_none_match.split(b","))


def _not_modified_since(last_modified: float | None, if_modified_since: bytes) -> bool:
    if last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return since >= last_modified


class PageCache:
    def __init__(
        self,
        app: ASGIApp,
        *,
        store: PageStore,
        bus: Bus,
        seconds: float,
        pages: dict[Any, str],
    ) -> None:
        """`pages`: the endpoint of each route of `cache.pages`, and the route's path
        template (what routing leaves in the scope is the endpoint)."""
        self.app = app
        self.pages = pages
        self.store = store
        self.bus = bus
        self.seconds = seconds
        self._counter = bus.shared.counter
        self._seen = bus.shared.value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await self.app(scope, receive, send)
            return
        visitor = True
        gzip = False
        if_none_match = if_modified_since = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                gzip = accepts_gzip(value)
            elif name == b"cookie":
                if SESSION_MARK in value:
                    visitor = False
            elif name == b"authorization":
                visitor = False
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"if-modified-since":
                if_modified_since = value
        query = scope["query_string"]
        if query:
            key, canonical, names = request_key(scope["path"], query)
        else:
            key, canonical, names = scope["path"], True, frozenset()
        if not visitor:
            await self._through(scope, receive, send, None, names, gzip, if_none_match, None)
            return
        version = self._counter[0]
        if key is None:
            await self._through(
                scope, receive, send, None, names, gzip, if_none_match, None, version
            )
            return
        if version != self._seen:
            self.store.clear()
            self._seen = version
        if not self.bus.synced:
            await self._through(
                scope, receive, send, None, names, gzip, if_none_match, None, version
            )
            return
        entry = self.store.get(key)
        if entry is None:
            self.store.misses += 1
            await self._through(
                scope,
                receive,
                send,
                key if canonical and method == "GET" else None,
                names,
                gzip,
                if_none_match,
                if_modified_since,
                version,
            )
            return
        self.store.hits += 1
        variant = entry.gzip if gzip else entry.plain
        if (if_none_match is not None and _matches(variant.etag, if_none_match)) or (
            if_none_match is None
            and if_modified_since is not None
            and _not_modified_since(entry.last_modified, if_modified_since)
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": variant.not_modified_headers,
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": entry.status, "headers": variant.hit_headers}
        )
        if method != "GET":
            body = b""
        elif gzip:
            body = entry.body
        else:
            body = zlib.decompress(entry.body, 31)
        await send({"type": "http.response.body", "body": body})

    async def _through(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: str | None,
        names: frozenset[str],
        gzip: bool,
        if_none_match: bytes | None,
        if_modified_since: bytes | None,
        version: int = -1,
    ) -> None:
        """The app answers. Pages of `cache.pages` are held whole, given validators, and
        kept under `key` (None: never) when they may be."""
        start: Message | None = None
        chunks: list[bytes] = []
        head = scope["method"] == "HEAD"

        async def hold(message: Message) -> None:
            nonlocal start
            if start is None and message["type"] == "http.response.start":
                if message["status"] == 200 and not head and scope.get("endpoint") in self.pages:
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._answer(
                scope,
                send,
                start,
                b"".join(chunks),
                key,
                names,
                version,
                gzip,
                if_none_match,
                if_modified_since,
            )

        await self.app(scope, receive, hold)

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        start: Message,
        body: bytes,
        key: str | None,
        names: frozenset[str],
        version: int,
        gzip: bool,
        if_none_match: bytes | None,
        if_modified_since: bytes | None,
    ) -> None:
        app_headers = start.get("headers", ())
        headers = [(k, v) for k, v in app_headers if k not in _REPLACED]
        # read before the counter: a change after this moves the counter, and then the
        # page gets no Last-Modified (it may predate the change)
        last_modified = self._last_modified()
        unchanged = version >= 0 and self.bus.synced and self._counter[0] == version
        if not unchanged:
            last_modified = None
        keep = (
            unchanged
            and key is not None
            and names <= PAGES[self.pages[scope["endpoint"]]]
            and not any(k == b"set-cookie" or k == b"content-encoding" for k, _ in app_headers)
        )
        etag = _etag(body, kept=keep)
        own: list[tuple[bytes, bytes]] = [(b"vary", VARY)]
        if last_modified is not None:
            own.append((b"last-modified", formatdate(last_modified, usegmt=True).encode()))
        if keep:
            own.append((b"cache-control", VISITOR_POLICY))
        else:
            policy = next((v for k, v in start.get("headers", ()) if k == b"cache-control"), None)
            if policy is not None:
                own.append((b"cache-control", policy))
        plain = _variant([*headers, (b"content-length", b"%d" % len(body)), (b"etag", etag), *own])
        sent, sent_body = plain, body
        if keep:
            assert key is not None
            packed = gzip_body(body)
            compressed = _variant(
                [
                    *headers,
                    (b"content-encoding", b"gzip"),
                    (b"content-length", b"%d" % len(packed)),
                    (b"etag", etag[:-1] + b'-gzip"'),
                    *own,
                ]
            )
            kept = (_hit(compressed), _hit(plain))
            size = ENTRY_OVERHEAD + len(packed) + _own_bytes(kept)
            self.store.put(
                key,
                Entry(
                    status=200,
                    gzip=kept[0],
                    plain=kept[1],
                    body=packed,
                    last_modified=last_modified,
                    expires=time.monotonic() + self.seconds,
                    size=size,
                ),
            )
            if gzip:
                sent, sent_body = compressed, packed
        if (if_none_match is not None and _matches(sent.etag, if_none_match)) or (
            if_none_match is None
            and if_modified_since is not None
            and _not_modified_since(last_modified, if_modified_since)
        ):
            await send(
                {"type": "http.response.start", "status": 304, "headers": sent.not_modified_headers}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": sent.hit_headers})
        await send({"type": "http.response.body", "body": sent_body})

    def _last_modified(self) -> float | None:
        """The last change visitors could see, rounded up to the second, once that second
        has passed: with it, a client's If-Modified-Since is answered 304 only when nothing
        changed since its copy was made (HTTP dates have no fractions: a change within the
        second of the copy would otherwise pass unnoticed)."""
        changed = ceil(self.bus.shared.changed_at)
        return float(changed) if time.time() >= changed else None


def _variant(headers: list[tuple[bytes, bytes]]) -> Variant:
    """A representation as a miss sends it (`X-Cache: miss`)."""
    etag = next(v for k, v in headers if k == b"etag")
    not_modified = [(k, v) for k, v in headers if k in _NOT_MODIFIED_KEEP]
    return Variant(
        hit_headers=[*headers, (b"x-cache", b"miss")],
        not_modified_headers=[*not_modified, (b"x-cache", b"miss")],
        etag=etag,
    )


def _hit(sent: Variant) -> Variant:
    """The same representation as a hit sends it (`X-Cache: hit`), as compact as it
    goes: tuples, and one object for each header pair that many pages share."""
    return Variant(
        hit_headers=tuple(map(_shared, (*sent.hit_headers[:-1], _HIT))),
        not_modified_headers=tuple(map(_shared, (*sent.not_modified_headers[:-1], _HIT))),
        etag=sent.etag,
    )


_HIT = (b"x-cache", b"hit")
# The header pairs kept entries share (the security headers, Content-Type, Vary,
# Cache-Control, X-Cache, Last-Modified): one object for every entry instead of one per
# entry, which took 2.9 KB of each 8 KB entry (tracemalloc), more than half of it these
# pairs. Emptied when full (Last-Modified takes a new value after each write).
_PAIRS: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
_PAIRS_MAX = 1024
_PAGES_OWN = frozenset({b"etag", b"content-length"})


def _own_bytes(variants: tuple[Variant, ...]) -> int:
    """The bytes of the header values an entry holds alone (the rest are `_shared`)."""
    return sum(
        len(k) + len(v) for variant in variants for k, v in variant.hit_headers if k in _PAGES_OWN
    )


def _shared(pair: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    if pair[0] in _PAGES_OWN:
        return pair
    found = _PAIRS.get(pair)
    if found is not None:
        return found
    if len(_PAIRS) >= _PAIRS_MAX:
        _PAIRS.clear()
    _PAIRS[pair] = pair
    return pair
