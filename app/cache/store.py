"""The bounded store of rendered pages: at most `max_entries` entries and `max_bytes`
bytes, segmented LRU. Pages are kept gzip-compressed (a 28 KB discussion page is about
5 KB), and the byte bound counts what is kept: the compressed body, the header values
the entry holds alone and `ENTRY_OVERHEAD`.

A new entry goes to the probation segment; a second request for it moves it to the
protected segment (at most four fifths of the bounds). Eviction takes probation's least
recently used first, so addresses requested once (a crawler, a flood of distinct URLs) only
push each other out, never the pages people keep reading.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

# what an entry costs besides its gzip body and its own header values (ETag,
# Content-Length): the tuples and objects around them, the key and the segment's slot,
# the shared header pairs' references. Measured with tracemalloc over 500 discussion
# pages: 6.83 KB an entry, of which 5.17 KB the gzip body (VmRSS grows alike)
ENTRY_OVERHEAD = 1600
PROTECTED_SHARE = 0.8


@dataclass(slots=True)
class Variant:
    """What one encoding of a page is sent with: the headers of a 200 and of a 304, and
    the ETag they carry (each encoding has its own: RFC 9110 8.8.3)."""

    hit_headers: Sequence[tuple[bytes, bytes]]
    not_modified_headers: Sequence[tuple[bytes, bytes]]
    etag: bytes


@dataclass(slots=True)
class Entry:
    """One page: its status, the gzip-compressed body (sent as it is to clients that
    accept gzip, decompressed for the others) and each variant's headers."""

    status: int
    gzip: Variant
    plain: Variant
    body: bytes  # gzip
    last_modified: float | None  # seconds since the epoch; None: not sent
    expires: float  # time.monotonic()
    size: int


class PageStore:
    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._protected_entries = int(max_entries * PROTECTED_SHARE)
        self._protected_bytes = int(max_bytes * PROTECTED_SHARE)
        self._probation: OrderedDict[str, Entry] = OrderedDict()
        self._protected: OrderedDict[str, Entry] = OrderedDict()
        self._protected_size = 0
        self.size = 0  # bytes held, both segments
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def __contains__(self, key: str) -> bool:
        return key in self._protected or key in self._probation

    def entries(self) -> list[Entry]:
        return [*self._probation.values(), *self._protected.values()]

    def get(self, key: str) -> Entry | None:
        entry = self._protected.get(key)
        if entry is not None:
            if entry.expires < time.monotonic():
                self._drop(key)
                return None
            self._protected.move_to_end(key)
            return entry
        entry = self._probation.pop(key, None)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self.size -= entry.size
            return None
        self._promote(key, entry)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        if entry.size > self.max_bytes // 4 or self.max_entries < 1:
            return  # one page must not take the room of many
        if key in self:
            self._drop(key)
        self._probation[key] = entry
        self.size += entry.size
        while self.size > self.max_bytes or len(self) > self.max_entries:
            if self._probation:
                self.size -= self._probation.popitem(last=False)[1].size
            else:
                _key, old = self._protected.popitem(last=False)
                self._protected_size -= old.size
                self.size -= old.size

    def clear(self) -> None:
        self._probation.clear()
        self._protected.clear()
        self.size = self._protected_size = 0

    def _promote(self, key: str, entry: Entry) -> None:
        self._protected[key] = entry
        self._protected_size += entry.size
        # the protected segment keeps to its share: its least recently used go back to
        # probation, where they are the next to leave
        while (
            len(self._protected) > self._protected_entries
            or self._protected_size > self._protected_bytes
        ) and len(self._protected) > 1:
            old_key, old = self._protected.popitem(last=False)
            self._protected_size -= old.size
            self._probation[old_key] = old

    def _drop(self, key: str) -> None:
        entry = self._protected.pop(key, None)
        if entry is not None:
            self._protected_size -= entry.size
        else:
            entry = self._probation.pop(key, None)
        if entry is not None:
            self.size -= entry.size
