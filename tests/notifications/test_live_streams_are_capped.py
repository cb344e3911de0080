"""Live-update streams are capped per client address and per member (issue 10, hole 9):
the excess gets 429, and a stream gives its place back when it ends."""

from __future__ import annotations

from typing import Any

import httpx

from app.live.stream_limits import StreamSlots, slots_of
from app.main import create_app
from tests.conftest import Client, TestDatabase, settings_for_tests, sign_in


async def discussion_id(make_client: Any, member: Any, group: Any) -> int:
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Live", "body": "question"},
    )
    return int(r.json()["id"])


async def test_excess_streams_get_429_and_ended_ones_free_their_place(
    tmp_path: Any, sessionmaker: Any, database_url: str, make_client: Any, member: Any, group: Any
) -> None:
    d = await discussion_id(make_client, member, group)
    settings = settings_for_tests(
        tmp_path, database_url, live_streams_per_address=3, live_streams_per_member=2
    )
    app = create_app(
        settings,
        database=TestDatabase(  # type: ignore[arg-type]
            database_url, sessionmaker, database_url.startswith("sqlite")
        ),
    )
    slots = slots_of(app.state, settings)
    path = f"/api/v1/discussions/{d}/events"

    def client(peer: str) -> Client:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        return Client(transport=transport, base_url="http://testserver")

    async with client("198.51.100.1") as visitor, client("198.51.100.2") as signed_in:
        # a stream ends by itself under the test settings: its place comes back
        r = await visitor.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert slots.open_streams() == 0

        # three streams held open from one address: the fourth is refused
        held = [slots.acquire("198.51.100.1", None) for _ in range(3)]
        r = await visitor.get(path)
        assert r.status_code == 429 and r.json()["code"] == "too_many_streams"
        assert int(r.headers["retry-after"]) > 0
        held[0].release()
        assert (await visitor.get(path)).status_code == 200

        # per member, whatever the address
        await sign_in(app, signed_in, member)
        member_held = [slots.acquire(f"203.0.113.{n}", member.id) for n in range(2)]
        r = await signed_in.get(path)
        assert r.status_code == 429 and "for your account" in r.json()["detail"]
        for slot in member_held + held[1:]:
            slot.release()
        assert (await signed_in.get(path)).status_code == 200
        assert slots.open_streams() == 0


def test_slots_count_and_release_once() -> None:
    slots = StreamSlots(per_address=2, per_member=1)
    a = slots.acquire("a", 1)
    b = slots.acquire("a", None)
    assert slots.open_streams() == 2
    a.release()
    a.release()  # twice is harmless
    b.release()
    assert slots.open_streams() == 0 and not slots.by_member
