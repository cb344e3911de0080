"""Live updates: new replies and unread counts pushed to open discussion pages over
Server-Sent Events.

Writers publish small events *after* their transaction commits (`publish_after_commit`,
riding on `app.db.after_commit`). A `Hub` per app carries them to every server process:

- Redis pub/sub when `KINDRED_REDIS_URL` is set;
- PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL;
- process memory otherwise (SQLite: one server process).

Each process keeps one listener (a Redis subscription or a LISTEN connection) while it has
open streams, and fans events out to its streams in memory. A stream holds no database
session: it opens a short one when it needs a count. Streams end when the client goes away,
after `max_stream_seconds` (EventSource reconnects by itself, with `Last-Event-ID`), or at
once when the server begins to shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import after_commit

log = logging.getLogger("kindred.live")

CHANNEL = "kindred_live"
QUEUE_SIZE = 256
# PostgreSQL NOTIFY payloads must stay under 8000 bytes: unread events are split
USER_IDS_PER_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class PostEvent:
    discussion_id: int
    post_id: int
    reply_to: int | None = None
    type: str = "post"


@dataclass(frozen=True, slots=True)
class UnreadEvent:
    user_ids: list[int] = field(default_factory=list)
    type: str = "unread"


Event = PostEvent | UnreadEvent
CLOSE = object()


def encode(event: Event) -> list[str]:
    if isinstance(event, UnreadEvent):
        ids = sorted(set(event.user_ids))
        return [
            json.dumps({"type": "unread", "user_ids": ids[i : i + USER_IDS_PER_MESSAGE]})
            for i in range(0, len(ids), USER_IDS_PER_MESSAGE)
        ]
    return [json.dumps(asdict(event))]


def decode(payload: str) -> Event | None:
    try:
        data = json.loads(payload)
        if data.get("type") == "post":
            return PostEvent(
                discussion_id=int(data["discussion_id"]),
                post_id=int(data["post_id"]),
                reply_to=int(data["reply_to"]) if data.get("reply_to") is not None else None,
            )
        if data.get("type") == "unread":
            return UnreadEvent(user_ids=[int(i) for i in data["user_ids"]])
    except (ValueError, KeyError, TypeError):
        pass
    log.warning("live: ignored a malformed event %r", payload[:200])
    return None


# -- the hub of one process -------------------------------------------------------------------


class Subscriber:
    __slots__ = ("discussion_id", "user_id", "queue")

    def __init__(self, discussion_id: int | None, user_id: int | None) -> None:
        self.discussion_id = discussion_id
        self.user_id = user_id
        self.queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, item: object) -> None:
        # a stalled client misses events; it catches up from Last-Event-ID when it reconnects
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(item)


class Backend(Protocol):
    async def publish(self, payloads: list[str]) -> None: ...

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        """Deliver every payload published by any process, until cancelled; call `ready`
        once subscribed."""
        ...


class MemoryBackend:
    """One process: publishing is delivering."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    async def publish(self, payloads: list[str]) -> None:
        for deliver in list(self._listeners):
            for payload in payloads:
                deliver(payload)

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        self._listeners.append(deliver)
        ready()
        try:
            await asyncio.Event().wait()
        finally:
            self._listeners.remove(deliver)


class RedisBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import coredis

            self._client = coredis.Redis.from_url(self.url, decode_responses=True)
        return self._client

    async def publish(self, payloads: list[str]) -> None:
        for payload in payloads:
            await self._redis().publish(CHANNEL, payload)

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        pubsub = self._redis().pubsub(ignore_subscribe_messages=True, channels=[CHANNEL])
        async with pubsub:
            ready()
            async for message in pubsub:
                if message.get("type") == "message":
                    deliver(str(message["data"]))


class PostgresBackend:
    """NOTIFY through the app's own connections; LISTEN on one asyncpg connection."""

    def __init__(self, url: str, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.sessionmaker = sessionmaker

    async def publish(self, payloads: list[str]) -> None:
        async with self.sessionmaker() as session:
            for payload in payloads:
                await session.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload},
                )
            await session.commit()

    async def listen(self, deliver: Callable[[str], None], ready: Callable[[], None]) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: deliver(payload))
            ready()
            await lost.wait()
            raise ConnectionError("the LISTEN connection closed")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)


class Hub:
    """Fans events out to this process's streams; one backend listener while any is open."""

    def __init__(self, backend: Backend, *, max_stream_seconds: float = 300.0) -> None:
        self.backend = backend
        self.max_stream_seconds = max_stream_seconds
        self.heartbeat_seconds = 15.0
        self.retry_ms = 3000
        self._subscribers: set[Subscriber] = set()
        self._listener: asyncio.Task[None] | None = None
        self._listening: asyncio.Event | None = None
        self.closing = False

    @classmethod
    def for_app(cls, settings: Any, database: Any) -> Hub:
        backend: Backend
        if settings.redis_url:
            backend = RedisBackend(settings.redis_url)
        elif database.url.startswith("postgresql"):
            backend = PostgresBackend(database.url, database.sessionmaker)
        else:
            backend = MemoryBackend()
        # under the test client a response is read whole: keep streams short there
        return cls(backend, max_stream_seconds=0.25 if settings.env == "test" else 300.0)

    @property
    def kind(self) -> str:
        return type(self.backend).__name__.removesuffix("Backend").lower()

    # -- publishing --

    async def publish(self, *events: Event) -> None:
        """Send events to every process. Never raises: a lost live update must not turn
        a committed write into an error."""
        payloads = [p for event in events for p in encode(event)]
        if not payloads:
            return
        try:
            await asyncio.wait_for(self.backend.publish(payloads), 5)
        except Exception:
            log.exception("live: could not publish %d event(s)", len(payloads))

    def deliver(self, payload: str) -> None:
        event = decode(payload)
        if event is None:
            return
        for sub in list(self._subscribers):
            if isinstance(event, PostEvent):
                if sub.discussion_id == event.discussion_id:
                    sub.offer(event)
            elif sub.user_id is not None and sub.user_id in event.user_ids:
                sub.offer(event)

    # -- subscribing --

    @contextlib.asynccontextmanager
    async def subscribe(
        self, *, discussion_id: int | None, user_id: int | None
    ) -> AsyncIterator[Subscriber]:
        sub = Subscriber(discussion_id, user_id)
        self._subscribers.add(sub)
        try:
            await self._ensure_listener()
            yield sub
        finally:
            self._subscribers.discard(sub)
            if not self._subscribers:
                await self._stop_listener()

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listening = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(self._listening))
        assert self._listening is not None
        # wait (briefly) until subscribed, so nothing published after this is missed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                await self.backend.listen(self.deliver, ready.set)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live: listener failed; retrying in %.1fs", delay, exc_info=True)
            # a listener that stopped (or failed) is started again, slower each time
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _stop_listener(self) -> None:
        task, self._listener = self._listener, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- shutting down --

    def begin_shutdown(self) -> None:
        """End every stream now (the server stops only once its responses are done)."""
        self.closing = True
        for sub in list(self._subscribers):
            sub.offer(CLOSE)

    async def close(self) -> None:
        self.begin_shutdown()
        await self._stop_listener()

    def end_streams_on_signals(self) -> None:
        """Chain SIGTERM/SIGINT so streams end when uvicorn starts its graceful shutdown
        (which waits for open responses before the app's lifespan hears of it). Only
        possible in the main thread; elsewhere the streams' own time limit applies."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
            except ValueError:
                return
            if not callable(previous):
                continue

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.begin_shutdown)
                previous(signum, frame)

            try:
                signal.signal(sig, handler)
            except ValueError:  # not the main thread
                return


# -- where writers find the hub ---------------------------------------------------------

_CURRENT: ContextVar[Hub | None] = ContextVar("kindred_live_hub", default=None)


class LiveContextMiddleware:
    """Makes the app's hub visible to services during a request, so a hook deep in a
    service can publish after the request's commit."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _CURRENT.set(self.hub)
        try:
            await self.app(scope, receive, send)
        finally:
            _CURRENT.reset(token)


def publish_after_commit(session: AsyncSession, *events: Event) -> None:
    """Publish once the request's transaction has committed (nothing outside a request)."""
    hub = _CURRENT.get()
    wanted = [e for e in events if not isinstance(e, UnreadEvent) or e.user_ids]
    if hub is None or not wanted:
        return

    async def send() -> None:
        await hub.publish(*wanted)

    after_commit(session, send)


# -- the stream ----------------------------------------------------------------------------


def sse(event: str | None, data: Any, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


@dataclass(slots=True)
class NewPost:
    id: int
    reply_to: int | None


async def discussion_stream(
    hub: Hub,
    *,
    discussion_id: int,
    user_id: int | None,
    after_id: int,
    missed_posts: Callable[[int], Awaitable[list[NewPost]]],
    unread: Callable[[], Awaitable[int]] | None,
) -> AsyncIterator[str]:
    """The event stream of one open discussion page: `post` events (id, reply_to; the page
    fetches /posts/{id}/fragment) and, for a member, `unread` events with the count."""
    loop = asyncio.get_running_loop()
    async with hub.subscribe(discussion_id=discussion_id, user_id=user_id) as sub:
        yield f"retry: {hub.retry_ms}\n\n"
        last = after_id
        if after_id:
            # replies written between the page (or the last event) and this connection
            for post in await missed_posts(after_id):
                last = max(last, post.id)
                yield sse("post", {"id": post.id, "reply_to": post.reply_to}, post.id)
        if unread is not None:
            yield sse("unread", {"count": await unread()})
        deadline = loop.time() + hub.max_stream_seconds
        while not hub.closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(
                    sub.queue.get(), min(hub.heartbeat_seconds, remaining)
                )
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is CLOSE:
                break
            if isinstance(item, PostEvent):
                if item.post_id > last:
                    last = item.post_id
                    yield sse("post", {"id": item.post_id, "reply_to": item.reply_to}, item.post_id)
            elif isinstance(item, UnreadEvent) and unread is not None:
                # several changes in a burst give one count
                await asyncio.sleep(0.2)
                while not sub.queue.empty():
                    extra = sub.queue.get_nowait()
                    if extra is CLOSE:
                        return
                    if isinstance(extra, PostEvent) and extra.post_id > last:
                        last = extra.post_id
                        yield sse(
                            "post", {"id": extra.post_id, "reply_to": extra.reply_to}, extra.post_id
                        )
                yield sse("unread", {"count": await unread()})
