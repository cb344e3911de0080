"""`python -m bench.safety_checks`: what the posting-time checks cost per kilobyte.

Issue 13 asks that the personal-information and crisis checks run "in well under a
millisecond per kilobyte". The figure is measured here, on the seed exchange (medical prose,
several copies) and on hostile 20 KB bodies built to be slow, as CPU time of this process
(best of `--rounds`), so a busy machine inflates it less than wall time would. The tests hold
the shape instead (tests/safety/growth.py: linear, never quadratic).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from app.safety.crisis import detect_crisis
from app.safety.personal_info import find_personal_information

SEED = Path(__file__).resolve().parents[1] / "app/demo/data/connect-exchange-neutropenia.txt"
HOSTILE = {
    "phones": "Call 212-555-0187 now\n" * 900,
    "births": "born 1/1/2000 " * 1400,
    "addresses": "12 Main Street " * 1300,
    "record keywords": "MRN " * 5000,
    "crisis half-phrases": "I want to " * 2000,
    "one word": "x" * 20_000,
}
BOUND_MS_PER_KB = 1.0


def cpu_best_of(rounds: int, fn: Callable[[], object]) -> float:
    """The least process CPU of `rounds` calls (also `tests/growth.py`'s)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.safety_checks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--copies", type=int, default=4, help="copies of the seed exchange")
    args = parser.parse_args(argv)
    bodies = {f"seed exchange x{args.copies}": SEED.read_text(encoding="utf-8") * args.copies}
    bodies.update(HOSTILE)
    table = Table("body", "KB", "personal information ms/KB", "crisis ms/KB")
    worst = 0.0
    for name, text in bodies.items():
        kb = len(text.encode()) / 1024
        pi = cpu_best_of(args.rounds, lambda t=text: find_personal_information(t)) * 1000 / kb
        cr = cpu_best_of(args.rounds, lambda t=text: detect_crisis(t)) * 1000 / kb
        worst = max(worst, pi, cr) if name.startswith("seed") else worst
        table.add_row(name, f"{kb:.1f}", f"{pi:.3f}", f"{cr:.3f}")
    console = Console()
    console.print(table)
    verdict = "PASS" if worst < BOUND_MS_PER_KB else "FAIL"
    console.print(
        f"medical prose: {worst:.3f} ms per KB at most (bound {BOUND_MS_PER_KB}): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
