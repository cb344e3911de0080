"""The real server under test: uvicorn with worker processes, as a subprocess on loopback,
and a sampler of its workers' resident memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.database import ROOT

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, str]:
    """One bounded request; (status, body text). Only ever used on loopback."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def http_get_raw(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One bounded request; (status, headers, body bytes as sent: nothing decompressed)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), list(response.getheaders()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, list(exc.headers.items()), exc.read()


def http_post_json(
    url: str, body: bytes, headers: dict[str, str], timeout: float = 10
) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_kb(pid: int) -> int | None:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Server:
    """`with Server(...) as server:` starts uvicorn and always stops it (and its workers)."""

    database_url: str
    secret_key: str
    var_dir: Path
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)  # more settings for the app
    startup_timeout: float = 90
    # what uvicorn serves: Kindred's factory, or the bare ceiling (bench.bare:app)
    app_spec: str = "app.main:create_app"
    factory: bool = True
    log_name: str = "server.log"
    port: int = 0
    log_path: Path = field(init=False)
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.port = self.port or free_port()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.var_dir / self.log_name
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINDRED_")}
        env.update(
            KINDRED_ENV="production",
            KINDRED_DATABASE_URL=self.database_url,
            KINDRED_SECRET_KEY=self.secret_key,
            KINDRED_VAR_DIR=str(self.var_dir),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app_spec,
            *(["--factory"] if self.factory else []),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as log:
            # its own process group, so stop() reaches the workers too and a Ctrl+C in the
            # terminal does not race our orderly shutdown
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log_tail()}")
            try:
                status, _ = http_get(self.base_url + "/healthz", timeout=2)
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the server did not answer /healthz in time:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        kids = children(self.process.pid)
        if self.workers <= 1:
            return [self.process.pid]
        return [pid for pid in kids if "spawn_main" in cmdline(pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass


class MemorySampler:
    """Samples VmRSS of the server's workers in a background thread; keeps each one's max."""

    def __init__(self, server: Server, interval: float = 0.25) -> None:
        self.server = server
        self.interval = interval
        self.max_kb: dict[int, int] = {}
        self.idle_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def sample(self) -> dict[int, int]:
        now = {}
        for pid in self.server.worker_pids():
            kb = rss_kb(pid)
            if kb is not None:
                now[pid] = kb
                self.max_kb[pid] = max(kb, self.max_kb.get(pid, 0))
        return now

    def __enter__(self) -> MemorySampler:
        self.idle_kb = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
