"""CPU accounting around a load run, from /proc.

Requests per second depend on everything else the machine is doing; the server's CPU time
per request does not (much). Both are recorded, together with the CPU that processes other
than the server and wrk used meanwhile, so a run disturbed by, say, a test suite is visible.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def system_busy_seconds() -> float:
    """CPU time spent by the whole machine outside idle and I/O wait, all cores."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads); 0 when it is gone."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu_seconds() -> float:
    """CPU of our finished, waited-for children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def database_pids(database: str) -> list[int]:
    """PostgreSQL backends serving `database` on this machine (their titles name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Snapshot:
    at: float
    system: float
    server: dict[int, float]
    database: dict[int, float]
    children: float

    @classmethod
    def take(cls, server_pids: list[int], database_pids: list[int]) -> Snapshot:
        return cls(
            at=time.monotonic(),
            system=system_busy_seconds(),
            server={pid: process_cpu_seconds(pid) for pid in server_pids},
            database={pid: process_cpu_seconds(pid) for pid in database_pids},
            children=children_cpu_seconds(),
        )


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    # a process that appeared meanwhile spent all its CPU during the run
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


@dataclass(frozen=True)
class CpuUse:
    seconds: float  # wall clock
    server: float  # CPU seconds of the server's workers
    database: float  # PostgreSQL backends of the bench database (SQLite runs in the workers)
    wrk: float
    other: float  # everything else on the machine

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> CpuUse:
        server = _spent(before.server, after.server)
        database = _spent(before.database, after.database)
        wrk = after.children - before.children
        busy = after.system - before.system
        return cls(
            seconds=round(after.at - before.at, 3),
            server=round(server, 3),
            database=round(database, 3),
            wrk=round(wrk, 3),
            other=round(max(0.0, busy - server - database - wrk), 3),
        )

    @property
    def other_cores(self) -> float:
        """Average number of cores busy with something else than this benchmark."""
        return self.other / self.seconds if self.seconds else 0.0
