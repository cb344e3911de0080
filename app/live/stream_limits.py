"""How many live-update streams one client may hold open at once.

Each open stream holds a connection and a subscriber in this process, so one client
opening hundreds would exhaust the server. A stream takes a slot for its client address
(KINDRED_LIVE_STREAMS_PER_ADDRESS) and, for a member, one for the member
(KINDRED_LIVE_STREAMS_PER_MEMBER); when either is full the request gets 429 and the page
goes on without live updates (it still works: JavaScript only enhances). Counted per
server process, like the streams themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from app.core.errors import RateLimited

RETRY_AFTER_SECONDS = 30


@dataclass
class StreamSlots:
    per_address: int
    per_member: int
    by_address: Counter[str] = field(default_factory=Counter)
    by_member: Counter[int] = field(default_factory=Counter)

    def acquire(self, address: str, member_id: int | None) -> Slot:
        if self.by_address[address] >= self.per_address:
            raise self._refusal("from your network")
        if member_id is not None and self.by_member[member_id] >= self.per_member:
            raise self._refusal("for your account")
        self.by_address[address] += 1
        if member_id is not None:
            self.by_member[member_id] += 1
        return Slot(self, address, member_id)

    def _refusal(self, whose: str) -> RateLimited:
        return RateLimited(
            f"Too many live-update connections are open {whose}. Close some tabs, or "
            "reload the page to see new replies.",
            code="too_many_streams",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            extra={"retry_after": RETRY_AFTER_SECONDS},
        )

    def open_streams(self) -> int:
        return sum(self.by_address.values())


@dataclass
class Slot:
    slots: StreamSlots
    address: str
    member_id: int | None
    released: bool = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.slots.by_address[self.address] -= 1
        if self.slots.by_address[self.address] <= 0:
            del self.slots.by_address[self.address]
        if self.member_id is not None:
            self.slots.by_member[self.member_id] -= 1
            if self.slots.by_member[self.member_id] <= 0:
                del self.slots.by_member[self.member_id]


def slots_of(app_state: object, settings: object) -> StreamSlots:
    """The process's slots (made on first use)."""
    slots = getattr(app_state, "stream_slots", None)
    if slots is None:
        slots = StreamSlots(
            per_address=settings.live_streams_per_address,  # type: ignore[attr-defined]
            per_member=settings.live_streams_per_member,  # type: ignore[attr-defined]
        )
        app_state.stream_slots = slots  # type: ignore[attr-defined]
    return slots


async def holding(slot: Slot, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """The stream, giving its slot back when it ends however it ends."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        slot.release()
