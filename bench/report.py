"""The results: a table on the terminal, the targets judged, and a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cpu import CpuUse
from bench.wrk import WrkResult

# what the forum should manage on a small machine (2 cores): see bench/README.md
DISCUSSION_MIN_RPS = 1_000
DISCUSSION_MAX_P99_MS = 60
WORKER_MAX_RSS_MB = 150
# more than this many cores busy with other processes during a run marks it as disturbed
BUSY_ELSEWHERE = 0.15


@dataclass
class ScenarioResult:
    name: str
    title: str
    method: str
    pattern: str
    example: str
    distinct_paths: int
    result: WrkResult
    cpu: CpuUse

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu.server / max(1, self.result.requests)

    @property
    def db_cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu.database / max(1, self.result.requests)


@dataclass
class Check:
    name: str
    target: str
    measured: str
    ok: bool


@dataclass
class Report:
    meta: dict[str, Any]
    scenarios: list[ScenarioResult] = field(default_factory=list)
    workers: dict[int, dict[str, float]] = field(default_factory=dict)  # pid -> idle/max MB
    checks: list[Check] = field(default_factory=list)

    def baseline(self) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.name == "static"), None)

    def scenario(self, name: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.name == name), None)

    @property
    def max_worker_mb(self) -> float:
        return max((w["max_mb"] for w in self.workers.values()), default=0.0)

    def judge(self) -> None:
        self.checks = []
        page = self.scenario("discussion")
        if page is not None:
            r = page.result
            self.checks.append(
                Check(
                    "discussion page throughput",
                    f">= {DISCUSSION_MIN_RPS:,} req/s",
                    f"{r.rps:,.0f} req/s",
                    r.rps >= DISCUSSION_MIN_RPS,
                )
            )
            self.checks.append(
                Check(
                    "discussion page p99 latency",
                    f"<= {DISCUSSION_MAX_P99_MS} ms",
                    f"{r.p99_ms:.1f} ms",
                    r.p99_ms <= DISCUSSION_MAX_P99_MS,
                )
            )
        if self.workers:
            self.checks.append(
                Check(
                    "memory per worker (max RSS)",
                    f"< {WORKER_MAX_RSS_MB} MB",
                    f"{self.max_worker_mb:.0f} MB",
                    self.max_worker_mb < WORKER_MAX_RSS_MB,
                )
            )

    def print(self, console: Console) -> None:
        base = self.baseline()
        table = Table(title=f"Kindred on {self.meta['database']} ({self.meta['summary']})")
        table.add_column("scenario")
        table.add_column("requests/s", justify="right")
        table.add_column("p50 ms", justify="right")
        table.add_column("p99 ms", justify="right")
        table.add_column("errors", justify="right")
        table.add_column("vs static", justify="right")
        table.add_column("server CPU\nms/req", justify="right")
        with_db = self.meta["database"] == "postgresql"
        if with_db:
            table.add_column("PG CPU\nms/req", justify="right")
        table.add_column("others'\ncores", justify="right")
        for s in self.scenarios:
            r = s.result
            ratio = f"{r.rps / base.result.rps:.2f}" if base and base.result.rps else "–"
            errors = f"[red]{r.errors:,}[/red]" if r.errors else "0"
            others = f"{s.cpu.other_cores:.2f}"
            table.add_row(
                f"{s.title}\n[dim]{s.method} {s.pattern}[/dim]",
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                errors,
                ratio,
                f"{s.cpu_ms_per_request:.2f}",
                *([f"{s.db_cpu_ms_per_request:.2f}"] if with_db else []),
                f"[yellow]{others}[/yellow]" if s.cpu.other_cores > BUSY_ELSEWHERE else others,
            )
        console.print(table)
        disturbed = [s.name for s in self.scenarios if s.cpu.other_cores > BUSY_ELSEWHERE]
        if disturbed:
            console.print(
                f"[yellow]Other processes kept the CPU busy during {', '.join(disturbed)}: "
                "requests/s and latencies there are low; server CPU ms/req is still "
                "comparable.[/yellow]"
            )
        if self.workers:
            memory = Table(title="Memory per uvicorn worker (VmRSS)")
            memory.add_column("worker pid", justify="right")
            memory.add_column("idle MB", justify="right")
            memory.add_column("max MB", justify="right")
            for pid, mb in sorted(self.workers.items()):
                memory.add_row(str(pid), f"{mb['idle_mb']:.0f}", f"{mb['max_mb']:.0f}")
            console.print(memory)
        for s in self.scenarios:
            r = s.result
            if r.errors:
                console.print(
                    f"[yellow]{s.name}: statuses {dict(sorted(r.statuses.items()))}, "
                    f"socket errors {r.socket_errors or 'none'}[/yellow]"
                )
        targets = Table(title="Targets")
        targets.add_column("check")
        targets.add_column("target", justify="right")
        targets.add_column("measured", justify="right")
        targets.add_column("")
        for c in self.checks:
            verdict = "[green]PASS[/green]" if c.ok else "[red]FAIL[/red]"
            targets.add_row(c.name, c.target, c.measured, verdict)
        console.print(targets)

    def as_json(self) -> dict[str, Any]:
        base = self.baseline()
        scenarios = []
        for s in self.scenarios:
            r = s.result
            scenarios.append(
                {
                    "name": s.name,
                    "title": s.title,
                    "method": s.method,
                    "pattern": s.pattern,
                    "example": s.example,
                    "distinct_paths": s.distinct_paths,
                    **asdict(r),
                    "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
                    "errors": r.errors,
                    "cpu": {
                        **asdict(s.cpu),
                        "server_ms_per_request": round(s.cpu_ms_per_request, 3),
                        "database_ms_per_request": round(s.db_cpu_ms_per_request, 3),
                    },
                    "ratio_to_static": round(r.rps / base.result.rps, 4)
                    if base and base.result.rps
                    else None,
                }
            )
        return {
            **self.meta,
            "scenarios": scenarios,
            "memory": {
                "workers": [{"pid": pid, **mb} for pid, mb in sorted(self.workers.items())],
                "max_mb": round(self.max_worker_mb, 1),
            },
            "targets": [asdict(c) for c in self.checks],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")
