"""Pieces every benchmark shares: the machine's facts, percentiles, tables, results files, and
servers under test run in their own processes.

A server under test always runs in a subprocess (``python -m bench.common hub`` for the hub,
``python -m bench.fanout relay`` for the bare relay) so that the load generators, which are
separate processes too, never share an event loop or a GIL with it. Timestamps that cross a
process boundary use ``time.monotonic_ns()``, which on Linux is one clock for the whole machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
#: Where a server under test prints its address once it listens.
READY_PREFIX = "LISTENING "


# --- the machine ------------------------------------------------------------------------------
def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the numbers were taken on, so two results files can be compared honestly."""
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "websockets": _version("websockets"),
        "textual": _version("textual"),
        "pydantic": _version("pydantic"),
        "uvloop": _version("uvloop"),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run_loop(coro: Coroutine[Any, Any, Any], use_uvloop: bool = False) -> Any:
    """Run ``coro`` on the stock asyncio loop, or on uvloop when asked (and installed)."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# --- numbers ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """n, p50, p95, p99 and max of ``values``, each multiplied by ``scale`` (e.g. us -> ms)."""
    if not values:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50) * scale,
        "p95": percentile(ordered, 95) * scale,
        "p99": percentile(ordered, 99) * scale,
        "max": ordered[-1] * scale,
    }


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.{digits}f}"
    if value is None:
        return "—"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table, so the printed output can be pasted into docs/BENCHMARKS.md."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


def fsync_probe(directory: Path, count: int = 200) -> dict[str, float]:
    """Latency of appending 4 KiB and fsync-ing, ``count`` times, in ``directory``.

    The hub cannot acknowledge (or broadcast) an event before its commit reaches the disk, so
    the disk's fsync time is a floor under the hub's latency that the bare relay never pays.
    Recording it next to the results says how much of a hub/bare gap is the price of durability.
    """
    import tempfile

    samples = []
    fd, name = tempfile.mkstemp(dir=directory, prefix="fsync-probe-")
    try:
        block = b"w" * 4096
        for _ in range(count):
            os.write(fd, block)
            t0 = time.perf_counter()
            os.fsync(fd)
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(name)
    return summary(samples)


def commit_cpu_probe(directory: Path, gap_s: float, count: int = 200) -> dict[str, float]:
    """CPU per durable SQLite commit (one small row, WAL, ``synchronous=FULL``, as the hub
    stores), in µs, with commits back to back and with ``gap_s`` of sleep between them.

    The hub commits each note before anyone sees it; at the benchmarks' rate that is one commit
    per note with the store thread asleep between them. What a commit costs in CPU then (the
    fsync in the kernel, waking up again) is part of the hub's CPU per note that the relay
    never pays, and it is a property of the machine: measured here, beside the runs."""
    import sqlite3
    import tempfile

    costs = {}
    with tempfile.TemporaryDirectory(dir=directory, prefix="commit-probe-") as tmp:
        db = sqlite3.connect(Path(tmp) / "probe.db", isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, body TEXT)")
            seq = 0
            for label, gap in (("back_to_back_us", 0.0), ("with_gap_us", gap_s)):
                spent = 0
                for _ in range(count):
                    seq += 1
                    t0 = time.thread_time_ns()
                    db.execute("BEGIN")
                    db.execute("INSERT INTO events VALUES (?, ?, ?)", (seq, f"id-{seq}", "x" * 120))
                    db.execute("COMMIT")
                    spent += time.thread_time_ns() - t0
                    if gap:
                        time.sleep(gap)
                costs[label] = spent / count / 1000
        finally:
            db.close()
    return costs


# --- results files ----------------------------------------------------------------------------
def save(name: str, payload: dict[str, Any], quick: bool) -> Path:
    """Write ``bench/results/NAME.json`` (``NAME.quick.json`` for a quick run, which is only a
    check that the script works and must not overwrite a real result)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / (f"{name}.quick.json" if quick else f"{name}.json")
    body = {
        "benchmark": name,
        "quick": quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(body, indent=2, default=_json_default, allow_nan=True) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small parameters: checks the script works; numbers mean little",
    )
    return parser


# --- processes --------------------------------------------------------------------------------
def raise_fd_limit(want: int = 65536) -> int:
    """Raise this process's open-file limit towards ``want`` (a hub with 1,000 consoles needs
    more than the common default of 1,024). Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid: int) -> float:
    """Resident memory of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def cpu_split(pid: int) -> dict[str, float]:
    """A live process's CPU seconds so far, split between its main thread (the hub's event loop)
    and its other threads (the hub's store thread), from each thread's scheduler statistics
    (/proc/PID/task/*/schedstat, Linux: nanoseconds on a CPU, not the clock ticks that ``stat``
    counts in). A hub/relay CPU gap reads better split: the relay has no second thread."""
    split = {"loop": 0.0, "threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            on_cpu = int((task / "schedstat").read_text().split()[0]) / 1e9
            split["loop" if task.name == str(pid) else "threads"] += on_cpu
    return split


def runq_wait_seconds(pid: int) -> float:
    """Seconds the threads of a live process have spent runnable but waiting for a CPU
    (/proc/PID/task/*/schedstat, Linux). Growing fast means the machine is saturated: latency
    is then queueing for a core, not the server's own work."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


def bench_env() -> dict[str, str]:
    """The environment for child processes: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


class ServerProcess:
    """A server under test in its own process; it prints ``LISTENING ws://...`` when ready."""

    def __init__(self, args: Sequence[str], log_path: Path, start_timeout: float = 120.0) -> None:
        self.args = [sys.executable, *args]
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        #: Seconds from spawning the process to its LISTENING line (includes loading the db).
        self.started_in = math.nan

    @classmethod
    def hub(cls, db: Path, log_path: Path, use_uvloop: bool = False) -> ServerProcess:
        args = ["-m", "bench.common", "hub", "--db", str(db)]
        return cls(args + (["--uvloop"] if use_uvloop else []), log_path)

    @classmethod
    def bare(
        cls, log_path: Path, use_uvloop: bool = False, durable: Path | None = None
    ) -> ServerProcess:
        """The bare relay; with ``durable``, the floor: each message committed there first."""
        args = ["-m", "bench.fanout", "relay"]
        args += ["--durable", str(durable)] if durable is not None else []
        return cls(args + (["--uvloop"] if use_uvloop else []), log_path)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env=bench_env()
            )
        assert self.proc.stdout is not None
        deadline = t0 + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline().decode().strip()
                if line.startswith(READY_PREFIX):
                    self.url = line[len(READY_PREFIX) :]
                    self.started_in = time.monotonic() - t0
                    return self
        self.kill()
        raise RuntimeError(f"server did not start in {self.start_timeout} s; see {self.log_path}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (a clean shutdown), then SIGKILL if it does not go in time."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to the database."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_profiler(pid: int, seconds: float, out: Path | None) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` with py-spy for ``seconds`` into ``out`` (collapsed stacks), if asked and
    if py-spy is installed (``pip install py-spy``; it is not a dependency)."""
    if out is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("py-spy is not installed; not profiling", file=sys.stderr)
        return None
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_procs(procs: Sequence[Any], timeout: float) -> None:
    """Join multiprocessing workers within ``timeout`` in all; terminate any still running."""
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(5)


def collect(queue: Any, count: int, timeout: float) -> list[Any]:
    """Take ``count`` items from a multiprocessing queue, within ``timeout`` seconds in all."""
    import queue as queue_mod

    items = []
    deadline = time.monotonic() + timeout
    while len(items) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"got {len(items)} of {count} reports in {timeout:.0f} s")
        try:
            items.append(queue.get(timeout=min(left, 1.0)))
        except queue_mod.Empty:
            continue
    return items


def wait_ready(queue: Any, procs: Sequence[Any], timeout: float, what: str) -> None:
    """Wait until each of ``procs`` has reported ready on ``queue``; one that failed ends the run."""
    for status, index, err in collect(queue, len(procs), timeout):
        if status != "ready":
            raise RuntimeError(f"{what} process {index} failed: {err}")


def split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts`` (each part at least one if can)."""
    parts = max(1, min(parts, total)) if total else 1
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# --- the hub as a server under test -----------------------------------------------------------
async def _serve_hub(db: Path) -> None:
    """The hub as ``warroom serve`` builds it (HubConfig defaults but the limits), on a free port."""
    from warroom.hub.app import HubConfig, HubServer
    from warroom.hub.hub import HubLimits

    # The rate limits (per connection and per credential) and the connection caps (per name and
    # per credential) are abuse limits for one room of people; the load here is a machine, and
    # the bare relay it is compared with has none, so they are lifted. Everything else is the
    # default.
    limits = HubLimits(rate=0, per_name=100_000, credential_rate=0, per_token=0, per_code=0)
    server = HubServer(
        HubConfig(
            host="127.0.0.1",
            port=0,
            db=db,
            limits=limits,
            max_connections=100_000,
            durability="full",  # the default, named: every commit waits for the disk
        )
    )
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"{READY_PREFIX}{server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a server under test (used by bench/*).")
    sub = parser.add_subparsers(dest="what", required=True)
    hub = sub.add_parser("hub", help="the warroom hub on a free port")
    hub.add_argument("--db", type=Path, required=True)
    hub.add_argument("--uvloop", action="store_true")
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.what == "hub":
        run_loop(_serve_hub(args.db), use_uvloop=args.uvloop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
