"""Which writes change what visitors see, and telling every server process about them.

Every statement the app's engines run passes `_watch_statement` (an engine event, so no
write path can forget it): an INSERT, UPDATE or DELETE on a table visitors may see marks
the connection. When a session's transaction commits on a marked connection, every `Bus`
of this process is told (`_after_commit`): it moves the host's shared counter
(`shared.SharedVersion`) at once, so every process on the host empties its cache before
its next request, and, with a fan-out configured, sends a message to the other hosts.

The invalidation is whole-cache on purpose: a page shows many things (posts, counts,
names, group lists, "recent discussions" on library pages), and a rule that names them
would have to be kept in step with every template. Writes visitors cannot see (sessions,
notifications, e-mail, follows, saved items, the search log) leave the cache alone, so
members reading and being notified do not empty it; posting does, and a busy page is
rendered again once per process after each write.

Fan-out between hosts (`KINDRED_PAGE_CACHE_FANOUT`, "auto": Redis when KINDRED_REDIS_URL
is set, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else none): a message moves the
receiving host's counter. A process whose listener is not connected (starting, or the
connection dropped) may have missed a message, so it serves nothing from its cache
(`Bus.synced` is False) until the listener is back, which empties the cache first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.cache.shared import SharedVersion

log = logging.getLogger("kindred.cache")

CHANNEL = "kindred_page_cache"

# Tables no visitor's page shows anything of. Every other table, and any write whose table
# cannot be told (a WITH ... statement), invalidates.
INVISIBLE_TABLES = frozenset(
    {
        "user_sessions",
        "api_tokens",
        "pending_registrations",
        "password_resets",
        "notifications",
        "email_outbox",
        "email_outbox_items",
        "email_preferences",
        "saved_items",
        "search_term_days",
        "discussion_follows",
        "group_follows",
        "username_holds",
        "safety_reviews",
        "alembic_version",
    }
)

_WRITE = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)"
    r"\s+[\"`]?(\w+)",
    re.IGNORECASE,
)
_DML = re.compile(r"\b(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE)

DIRTY = "kindred.page_cache.dirty"  # on a connection's info: it wrote what visitors see
_CONNECTIONS = "kindred.page_cache.connections"  # on a session's info


@functools.lru_cache(maxsize=4096)
def writes_visible_table(statement: str) -> bool:
    """Whether a statement writes a table visitors see. Remembered per statement text: the
    app's statements are the same few hundred strings (bound parameters, compiled once),
    and reading a statement that starts with WITH for a write anywhere in it cost ~100 µs
    for the discussion page's posts query alone, on every page, signed in or not."""
    found = _WRITE.match(statement)
    if found is not None:
        return found.group(1).lower() not in INVISIBLE_TABLES
    head = statement.lstrip()[:4].upper()
    return head == "WITH" and _DML.search(statement) is not None


def _watch_statement(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if writes_visible_table(statement):
        conn.info[DIRTY] = True


def _after_begin(session: Session, _transaction: Any, connection: Any) -> None:
    info = connection.info  # the pooled connection's: it outlives this transaction
    info.pop(DIRTY, None)  # what others wrote before is theirs (committed or not)
    session.info.setdefault(_CONNECTIONS, []).append(info)


def _wrote_visible(session: Session) -> bool:
    wrote = False
    for info in session.info.pop(_CONNECTIONS, ()):
        if info.pop(DIRTY, False):
            wrote = True
    return wrote


def _after_commit(session: Session) -> None:
    if _wrote_visible(session):
        for bus in list(_BUSES):
            bus.changed(session.info)


def _after_rollback(session: Session) -> None:
    _wrote_visible(session)  # forgotten: nothing of it was kept


_BUSES: weakref.WeakSet[Bus] = weakref.WeakSet()
_installed = False


def install() -> None:
    """Watch every engine and session of this process (once)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "before_cursor_execute", _watch_statement)
    event.listen(Session, "after_begin", _after_begin)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True


# -- fan-out between hosts --------------------------------------------------------------------


class Fanout(Protocol):
    async def publish(self, payload: str) -> None: ...

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        """Deliver every message until cancelled; call `ready` once subscribed; raise when
        the connection is lost."""
        ...

    async def close(self) -> None: ...


class RedisFanout:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        # the subscription's connection while it is open (its address names it in
        # CLIENT LIST)
        self.connection_writer: asyncio.StreamWriter | None = None

    def _redis(self) -> Any:
        if self._client is None:
            import coredis

            self._client = coredis.Redis.from_url(self.url, decode_responses=True)
        return self._client

    async def publish(self, payload: str) -> None:
        await self._redis().publish(CHANNEL, payload)

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        """SUBSCRIBE on a plain connection of its own, read here. (The client library's
        subscription reconnects by itself, silently: messages sent meanwhile would be
        lost without anyone knowing. Here a lost connection is an error at once, and a
        connection that says nothing for a while is asked for a PING.)"""
        url = urlsplit(self.url)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                url.hostname or "127.0.0.1", url.port or 6379, ssl=url.scheme == "rediss" or None
            ),
            5,
        )
        self.connection_writer = writer
        try:
            if url.password:
                auth = (
                    [unquote(url.username), unquote(url.password)]
                    if url.username
                    else [unquote(url.password)]
                )
                writer.write(_command("AUTH", *auth))
                await asyncio.wait_for(_read_reply(reader), 5)
            writer.write(_command("SUBSCRIBE", CHANNEL))
            pinged = False
            while True:
                try:
                    reply = await asyncio.wait_for(_read_reply(reader), PING_SECONDS)
                except TimeoutError:
                    if pinged:
                        raise ConnectionError("Redis did not answer a PING") from None
                    writer.write(_command("PING"))
                    pinged = True
                    continue
                pinged = False
                if not isinstance(reply, list) or not reply:
                    continue
                kind = reply[0]
                if kind == b"subscribe":
                    ready()
                elif kind == b"message" and len(reply) == 3 and isinstance(reply[2], bytes):
                    deliver(reply[2].decode("utf-8", "replace"))
        finally:
            self.connection_writer = None
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def close(self) -> None:
        self._client = None


PING_SECONDS = 15.0


def _command(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _read_reply(reader: asyncio.StreamReader) -> Any:
    """One RESP2 reply."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("the Redis connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise ConnectionError(f"Redis refused: {rest.decode(errors='replace')}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [await _read_reply(reader) for _ in range(size)]
    raise ConnectionError(f"unexpected reply from Redis: {line[:40]!r}")


class PostgresFanout:
    """NOTIFY and LISTEN on asyncpg connections of their own (not the app's pool)."""

    def __init__(self, url: str) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._sender: Any = None
        self._lock = asyncio.Lock()
        self.listener_pid: int | None = None  # the LISTEN connection's backend

    async def publish(self, payload: str) -> None:
        import asyncpg

        async with self._lock:
            if self._sender is None or self._sender.is_closed():
                self._sender = await asyncpg.connect(self.dsn)
            await self._sender.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        self.listener_pid = connection.get_server_pid()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: deliver(payload))
            ready()
            while not lost.is_set():
                # a connection lost without a word (a network partition) is found out here
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                if not lost.is_set():
                    await asyncio.wait_for(connection.execute("SELECT 1"), 5)
            raise ConnectionError("the LISTEN connection closed")
        finally:
            self.listener_pid = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def close(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender.close(), 2)


def fanout_for(settings: Any, database_url: str) -> Fanout | None:
    kind = settings.page_cache_fanout
    if kind == "auto":
        if settings.redis_url:
            kind = "redis"
        elif database_url.startswith("postgresql"):
            kind = "postgres"
        else:
            kind = "local"
    if kind == "redis":
        if not settings.redis_url:
            raise ValueError("KINDRED_PAGE_CACHE_FANOUT=redis needs KINDRED_REDIS_URL")
        return RedisFanout(settings.redis_url)
    if kind == "postgres":
        return PostgresFanout(database_url)
    return None


# -- the bus of one process --------------------------------------------------------------------


class Bus:
    """Where this process learns that visitors' pages changed, and tells the others."""

    def __init__(self, var_dir: Path, fanout: Fanout | None = None) -> None:
        self.shared = SharedVersion(var_dir)
        self.fanout = fanout
        # without a fan-out nothing can be missed; with one, nothing is served from the
        # cache until the listener is subscribed
        self.synced = fanout is None
        self.origin = secrets.token_hex(8)
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._subscribed_event = asyncio.Event()
        _BUSES.add(self)

    # -- a write committed in this process --

    def changed(self, session_info: dict[str, Any] | None = None) -> None:
        self.shared.bump()
        if self.fanout is None:
            return
        if session_info is not None and "settings" in session_info:
            # a request's session (db.request_transaction): sent before its response
            session_info.setdefault("after_commit", []).append(self.publish)
            return
        with contextlib.suppress(RuntimeError):  # no loop: nothing to send with
            task = asyncio.get_running_loop().create_task(self.publish())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def publish(self) -> None:
        """Tell the other hosts. Never raises: their entries expire in any case
        (KINDRED_PAGE_CACHE_SECONDS), and a failed message must not fail a write."""
        if self.fanout is None:
            return
        try:
            await asyncio.wait_for(self.fanout.publish(self.origin), 5)
        except Exception:
            log.exception("page cache: could not tell the other hosts of a change")

    async def drain(self) -> None:
        """Wait for messages still being sent (a command about to exit)."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    # -- messages from other hosts --

    def _received(self, payload: str) -> None:
        if payload != self.origin:
            self.shared.bump()

    def _subscribed(self) -> None:
        # whatever was missed while not listening is dropped with everything else
        self.shared.bump()
        self.synced = True
        self._subscribed_event.set()

    def start(self) -> Awaitable[None]:
        """Start listening (in the app's lifespan); the returned awaitable waits (briefly)
        until subscribed."""
        if self.fanout is not None and (self._listener is None or self._listener.done()):
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        return self._wait_synced()

    async def _wait_synced(self, seconds: float = 5.0) -> None:
        if not self.synced:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed_event.wait(), seconds)

    async def _listen(self) -> None:
        assert self.fanout is not None
        delay = 0.1
        while True:
            try:
                await self.fanout.listen(self._received, self._subscribed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("page cache: listener lost; cache off until it is back", exc_info=True)
            self.synced = False
            self._subscribed_event.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.drain()
        if self.fanout is not None:
            await self.fanout.close()
        self.synced = self.fanout is None
