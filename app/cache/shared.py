"""A change counter shared by the server processes of one host: a memory-mapped file.

Every process reads it on every request (a memoryview index, tens of nanoseconds) and
empties its cache when it moved; a writer moves it after its transaction commits, under
an exclusive `flock` so two writers never lose an increment. Beside the counter it keeps
the wall-clock time of the last change, which is the pages' Last-Modified.

Layout (native byte order, 4 KiB): [0:8] the counter (unsigned 64-bit), [8:16] the time of
the last change (seconds since the epoch, a double).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import time
from pathlib import Path

SIZE = 4096
FILE_NAME = "page-cache.version"


class SharedVersion:
    def __init__(self, var_dir: Path) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        self.path = var_dir / FILE_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < SIZE:
                    os.ftruncate(fd, SIZE)
                    # a new file: the data may have changed at any time before now
                    os.pwrite(fd, struct.pack("=Qd", 0, time.time()), 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(fd, SIZE)  # keeps a descriptor of its own
        finally:
            os.close(fd)
        self._view = view = memoryview(self._map)
        self.counter = view[0:8].cast("Q")  # counter[0] is the current value
        self._changed_at = view[8:16].cast("d")

    @property
    def value(self) -> int:
        return int(self.counter[0])

    @property
    def changed_at(self) -> float:
        return float(self._changed_at[0])

    def bump(self) -> int:
        """Move the counter (after a commit); every process empties its cache on its next
        request."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError:
            fd = -1  # the file was removed under us: the map is still shared, unlocked
        try:
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released with the descriptor
            value = self.counter[0] + 1
            self._changed_at[0] = time.time()
            self.counter[0] = value
        finally:
            if fd >= 0:
                os.close(fd)
        return int(value)

    def close(self) -> None:
        self.counter.release()
        self._changed_at.release()
        self._view.release()
        self._map.close()
