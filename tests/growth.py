"""How a check's cost grows with its input, without timing against the clock.

For the safety checks and the Markdown renderer. Their bounds in time (well under a
millisecond per kilobyte) are figures for the bench (`python -m bench.safety_checks`): a
timed test fails whenever the machine is busy, as the renderer's did in CI. What a
test can hold on any machine is the shape: eight times the text must cost about eight times
the CPU, not sixty-four (the quadratic versions of these checks took seconds on 20 KB).
"""

from __future__ import annotations

from collections.abc import Callable

from bench.safety_checks import cpu_best_of

# linear is 8; a fixed cost per call makes it less; quadratic is 64
MAX_GROWTH = 20.0


def growth(check: Callable[[str], object], text: str, *, runs: int = 5) -> float:
    """CPU of `check` on the whole text over its CPU on an eighth of it (best of `runs`
    each; the eighth is repeated until its cost is measurable)."""
    eighth = text[: max(1, len(text) // 8)]
    repeat = 1
    while cpu_best_of(1, lambda: [check(eighth) for _ in range(repeat)]) < 0.005:
        repeat *= 2
    small = cpu_best_of(runs, lambda: [check(eighth) for _ in range(repeat)]) / repeat
    whole = cpu_best_of(runs, lambda: check(text))
    return whole / max(small, 1e-9)
