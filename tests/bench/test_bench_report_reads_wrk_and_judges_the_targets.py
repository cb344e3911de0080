"""The bench reads wrk's output (statuses and the page cache's X-Cache counts), shows each
scenario against the bare ceiling, and judges issue 14's targets, the 1,000,000-post run
against the 200,000-post one included. Structure only: no timing here."""

from __future__ import annotations

from typing import Any

from bench.cpu import CpuUse
from bench.report import Report, ScenarioResult
from bench.wrk import get_script, parse_output

WRK_OUTPUT = """Running 15s test @ http://127.0.0.1:1234/
  Latency Distribution
     50%    1.50ms
     75%    2.00ms
     90%    3.00ms
     99%    8.00ms
  30000 requests in 15.00s, 800.00MB read
Requests/sec:   2000.00
BENCH_STATUSES {"200": 30000}
BENCH_CACHE {"hit": 27000, "miss": 3000}
"""


def test_wrk_output_gives_statuses_and_cache_hits() -> None:
    result = parse_output(WRK_OUTPUT)
    assert result.requests == 30000 and result.rps == 2000.0 and result.p99_ms == 8.0
    assert result.statuses == {200: 30000} and result.errors == 0
    assert (result.cache_hits, result.cache_misses) == (27000, 3000)
    assert result.cache_hit_rate == 0.9
    # a server without the header: no line of hits is no hit rate, not an error
    plain = parse_output(WRK_OUTPUT.replace('BENCH_CACHE {"hit": 27000, "miss": 3000}\n', ""))
    assert plain.cache_hit_rate is None


def test_every_script_counts_the_cache_header() -> None:
    script = get_script(["/"], [])
    assert 'headers["x-cache"]' in script and "BENCH_CACHE" in script


def scenario(name: str, rps: float, p99: float, server_cpu_s: float) -> ScenarioResult:
    output = WRK_OUTPUT.replace("2000.00", f"{rps:.2f}").replace("8.00ms", f"{p99:.2f}ms")
    result = parse_output(output)
    cpu = CpuUse(seconds=15, server=server_cpu_s, database=0, wrk=1, other=0)
    return ScenarioResult(name, name, "GET", "/", "/", 1, result, cpu)


def report(scale: str) -> Report:
    r = Report(meta={"database": "sqlite", "scale": scale, "summary": "test"})
    r.scenarios = [
        scenario("bare", 10_000, 5, 3.0),
        scenario("healthz", 3_000, 5, 3.0),
        scenario("visitor-discussion", 6_000, 8, 6.0),
        scenario("discussion", 1_900, 30, 30.0),
        scenario("reply", 100, 120, 150.0),
    ]
    r.workers = {1: {"idle_mb": 90.0, "max_mb": 120.0}}
    return r


def test_targets_are_judged_against_the_bare_ceiling() -> None:
    r = report("small")
    r.judge()
    verdicts = {c.name: c.ok for c in r.checks}
    assert verdicts["/healthz through the middleware"] is True  # 30 % >= 25 %
    assert verdicts["visitor discussion page"] is True  # 60 % >= 50 %
    assert verdicts["visitor discussion page p99"] is True
    assert verdicts["signed-in discussion page"] is False  # 1,900 < 2,000 on SQLite
    assert verdicts["reply: server CPU"] is True  # 150 s / 30,000 = 5 ms
    assert verdicts["memory per worker (max RSS)"] is True
    assert "1,000,000 posts: read cost vs 200,000" not in verdicts  # no other run
    assert r.as_json()["scenarios"][2]["ratio_to_bare"] == 0.6


def test_the_large_run_is_judged_against_the_small_one() -> None:
    small = report("small")
    small.judge()
    other: dict[str, Any] = small.as_json()
    large = report("large")
    # the signed-in page costs 20 % more CPU at the large size: a miss
    large.scenarios[3] = scenario("discussion", 1_800, 30, 36.0)
    large.judge(other)
    by_name = {c.name: c for c in large.comparisons}
    assert "bare" not in by_name and by_name["reply"].judged is False
    assert round(by_name["discussion"].cpu_delta, 2) == 0.20
    assert round(by_name["visitor-discussion"].cpu_delta, 2) == 0.0
    verdict = next(c for c in large.checks if c.name.startswith("1,000,000 posts"))
    assert verdict.ok is False and "discussion" in verdict.measured
    # seen from the small run, the same pair is judged the same way
    small.judge(large.as_json())
    again = next(c for c in small.checks if c.name.startswith("1,000,000 posts"))
    assert again.ok is False


def test_searches_are_judged_by_p50_and_the_scripts_p95() -> None:
    assert "latency:percentile(95)" in get_script(["/"], [])
    with_p95 = WRK_OUTPUT + "BENCH_P95_US 42500\n"
    assert parse_output(with_p95).p95_ms == 42.5
    assert parse_output(WRK_OUTPUT).p95_ms is None  # an older script's output
    r = report("small")
    cpu = CpuUse(seconds=15, server=3.0, database=0, wrk=1, other=0)
    fast = parse_output(with_p95)  # p50 1.5 ms, p95 42.5 ms
    slow = parse_output(with_p95.replace("1.50ms", "20.00ms").replace("42500", "61000"))
    r.scenarios += [
        ScenarioResult("search", "search", "GET", "/", "/", 1, fast, cpu),
        ScenarioResult("search-engine", "search", "GET", "/", "/", 1, slow, cpu),
        ScenarioResult("similar", "similar", "GET", "/", "/", 1, fast, cpu),
    ]
    r.judge()
    verdicts = {c.name: c.ok for c in r.checks}
    assert verdicts["search p50"] is True and verdicts["search p95"] is True
    assert verdicts["search past the cache p50"] is False  # 20 ms >= 15
    assert verdicts["search past the cache p95"] is False  # 61 ms >= 50
    assert verdicts["similar discussions p95"] is False  # 42.5 ms >= 30
