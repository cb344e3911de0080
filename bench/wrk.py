"""Driving wrk: a Lua script per scenario, a bounded run, and the numbers read back.

Every script counts response status codes in wrk's `response` callback and prints them in
`done` on one line (`BENCH_STATUSES {...}`), so a benchmark that is fast because it answers
403 or 500 is caught. It also counts the page cache's `X-Cache: hit|miss` answers
(`BENCH_CACHE {...}`): zero of each where the server sends no such header.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

COMMON_LUA = r"""
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  statuses = {}
  cache_hits = 0
  cache_misses = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- header names keep the case the server sent them in
  local cache = headers["x-cache"] or headers["X-Cache"]
  if cache == "hit" then
    cache_hits = cache_hits + 1
  elseif cache == "miss" then
    cache_misses = cache_misses + 1
  end
end

function done(summary, latency, requests)
  local merged = {}
  local hits, misses = 0, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + n
    end
    hits = hits + (thread:get("cache_hits") or 0)
    misses = misses + (thread:get("cache_misses") or 0)
  end
  local parts = {}
  for code, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  io.write("BENCH_STATUSES {" .. table.concat(parts, ", ") .. "}\n")
  io.write(string.format('BENCH_CACHE {"hit": %d, "miss": %d}\n', hits, misses))
  io.write(string.format("BENCH_P95_US %d\n", latency:percentile(95)))
end
"""

# what browsers send (Chrome, Firefox, Safari): a page cached gzip-compressed is sent
# as it is kept
ACCEPT_ENCODING = "gzip, deflate, br"

GET_LUA = r"""
local visitor = {["Accept-Encoding"] = accept_encoding}

function request()
  local path = paths[math.random(#paths)]
  if #identities == 0 then
    return wrk.format("GET", path, visitor)
  end
  local who = identities[math.random(#identities)]
  return wrk.format("GET", path, {["Cookie"] = who[1], ["Accept-Encoding"] = accept_encoding})
end
"""

POST_REPLY_LUA = r"""
local sent = 0
local lines = {
  "Thank you for sharing this, it helps to know we are not alone.",
  "We had the same experience last year; the second opinion was worth it.",
  "Please remember we are patients here, not medical professionals.",
  "Sending a hug your way. Let us know how the appointment goes.",
}

function request()
  sent = sent + 1
  local target = targets[math.random(#targets)]
  local who = identities[math.random(#identities)]
  local body = string.format(
    '{"body": "%s (load test %d-%d)"%s}',
    lines[math.random(#lines)], id, sent,
    target[2] and string.format(', "reply_to": %d', target[2]) or "")
  local headers = {
    ["Cookie"] = who[1],
    ["X-CSRF-Token"] = who[2],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", target[1], headers, body)
end
"""


@dataclass(frozen=True)
class Identity:
    """A signed-in member as the load generator presents it."""

    cookie: str  # the whole Cookie header value
    csrf: str


def lua_string(value: str) -> str:
    if not value.isascii():
        raise ValueError(f"not ASCII: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def identities_lua(identities: list[Identity]) -> str:
    listed = ",\n".join(f"  {{{lua_string(i.cookie)}, {lua_string(i.csrf)}}}" for i in identities)
    return f"identities = {{\n{listed}\n}}\n"


def get_script(paths: list[str], identities: list[Identity]) -> str:
    """GET a random path per request, as a random member (anonymous with none), with a
    browser's Accept-Encoding."""
    listed = ",\n".join(f"  {lua_string(p)}" for p in paths)
    return (
        f"{COMMON_LUA}\n{identities_lua(identities)}paths = {{\n{listed}\n}}\n"
        f"accept_encoding = {lua_string(ACCEPT_ENCODING)}\n{GET_LUA}"
    )


def post_reply_script(targets: list[tuple[str, int | None]], identities: list[Identity]) -> str:
    """POST a new reply per request (to the discussion, or to a given post) as a random
    member; every body differs, and no client_key is sent, so each request writes a post."""
    if not identities:
        raise ValueError("posting needs signed-in members")
    listed = ",\n".join(
        f"  {{{lua_string(path)}, {reply_to if reply_to is not None else 'nil'}}}"
        for path, reply_to in targets
    )
    return f"{COMMON_LUA}\n{identities_lua(identities)}targets = {{\n{listed}\n}}\n{POST_REPLY_LUA}"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0  # responses with X-Cache: hit
    cache_misses: int = 0  # responses with X-Cache: miss
    p95_ms: float | None = None  # from the script's `done` (wrk's --latency stops at 90, 99)

    @property
    def cache_hit_rate(self) -> float | None:
        """Hits among the answers that said hit or miss; None when none said either."""
        said = self.cache_hits + self.cache_misses
        return self.cache_hits / said if said else None

    @property
    def bad_statuses(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    @property
    def errors(self) -> int:
        """Responses outside 2xx plus requests that got no response at all."""
        return self.bad_statuses + sum(self.socket_errors.values())


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_SUMMARY = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)
_STATUSES = re.compile(r"^BENCH_STATUSES (\{.*\})\s*$", re.M)
_CACHE = re.compile(r"^BENCH_CACHE (\{.*\})\s*$", re.M)
_P95 = re.compile(r"^BENCH_P95_US (\d+)\s*$", re.M)


def parse_output(output: str) -> WrkResult:
    percentiles = {p: float(v) * _UNITS_MS[u] for p, v, u in _PERCENTILE.findall(output)}
    summary = _SUMMARY.search(output)
    rps = _RPS.search(output)
    statuses = _STATUSES.search(output)
    if not (summary and rps and statuses and len(percentiles) == 4):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    socket_errors = {}
    if found := _SOCKET.search(output):
        socket_errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, found.groups()), strict=True)
        )
        socket_errors = {k: v for k, v in socket_errors.items() if v}
    cache_line = _CACHE.search(output)
    cache = json.loads(cache_line.group(1)) if cache_line else {}
    p95 = _P95.search(output)
    return WrkResult(
        requests=int(summary.group(1)),
        seconds=float(summary.group(2)) * _UNITS_MS[summary.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p75_ms=percentiles["75"],
        p90_ms=percentiles["90"],
        p99_ms=percentiles["99"],
        p95_ms=int(p95.group(1)) / 1000 if p95 else None,
        statuses={int(k): v for k, v in json.loads(statuses.group(1)).items()},
        socket_errors=socket_errors,
        cache_hits=int(cache.get("hit", 0)),
        cache_misses=int(cache.get("miss", 0)),
    )


def run_wrk(
    url: str,
    script: Path,
    *,
    duration: float,
    connections: int,
    threads: int,
    timeout_s: float = 10,
) -> WrkResult:
    """One run; the subprocess is killed if it overstays (or on Ctrl+C)."""
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={round(timeout_s)}s",
        "--latency",
        f"--script={script}",
        url,
    ]
    completed = subprocess.run(  # subprocess.run kills wrk on any exception, Ctrl+C included
        command,
        capture_output=True,
        text=True,
        timeout=duration + timeout_s + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stderr}")
    return parse_output(completed.stdout)


def wrk_version() -> str:
    try:
        out = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "unknown"


def ensure_wrk(console: Console) -> None:
    """wrk is a Debian package; install it when missing and we may, else say how."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("bench: wrk is missing. Install it with: sudo apt-get install -y wrk")
    console.print("wrk is missing: installing the Debian package …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            raise SystemExit(f"bench: {' '.join(command)} failed:\n{done.stderr}")
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk is still missing after apt-get install wrk")
