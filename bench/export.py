"""Export: a 100,000-event incident written to a SQLite file for the postmortem.

The exporter runs as a user runs it, as its own process through the command line
(``warroom export --db HUB.db --incident ID --out FILE.db``), so the numbers include start-up
and imports. Seconds are wall-clock; peak memory is the child's resident high-water mark as the
kernel keeps it (VmHWM, sampled while it runs). For scale, the same run times a floor: a process that only
reads the incident back through ``Store.events`` and does nothing with it.

    python -m bench.export            # full run
    python -m bench.export --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, base_parser, bench_env, ratio, save, table, verdict

TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 300.0
#: Export time over the floor's (reading the log alone), in the same run (issue 24).
TARGET_FLOOR_RATIO = 3.0
#: The entry point measured: the command line a responder types.
EXPORT_COMMAND = ["-m", "warroom", "export"]
_FLOOR = (
    "import sys\n"
    "from warroom.hub.storage import Store\n"
    "n = sum(1 for _ in Store(sys.argv[1]).events(sys.argv[2]))\n"
    "print(n)\n"
)


def timed(args: Sequence[str], timeout: float = 600) -> dict[str, Any]:
    """Run ``python ARGS``; wall seconds, peak RSS (MB), exit code and output."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=bench_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    # communicate() reaped the child; its rusage is in RUSAGE_CHILDREN only as a maximum over
    # all children, so take the peak from a dedicated wait below when possible.
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "code": proc.returncode,
        "stdout": out.decode()[-2000:],
        "stderr": err.decode()[-2000:],
    }


def _hwm_mb(pid: int) -> float:
    """The process's resident high-water mark (VmHWM) so far, in MB; NaN once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def timed_peak(args: Sequence[str], timeout: float = 600) -> dict[str, Any]:
    """Like :func:`timed`, plus the child's peak resident memory.

    The peak is the kernel's high-water mark for the child's own address space (VmHWM), read
    every 5 ms while it runs; it only grows, so the last reading is the peak up to a few ms
    before exit. ``ru_maxrss`` is not used: Linux carries the size of the forking parent (this
    benchmark, with its own imports) into it, which would hide a small exporter.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=bench_env(), stdout=out, stderr=err
        )
        peak = float("nan")
        deadline = t0 + timeout
        while proc.poll() is None and time.perf_counter() < deadline:
            hwm = _hwm_mb(proc.pid)
            if not math.isnan(hwm):
                peak = hwm if math.isnan(peak) else max(peak, hwm)
            time.sleep(0.005)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return {
            "seconds": seconds,
            "code": proc.returncode,
            "peak_mb": peak,
            "stdout": out.read().decode()[-2000:],
            "stderr": err.read().decode()[-2000:],
        }


def exporter_status() -> str | None:
    """None if ``warroom export`` exists, else why it cannot be measured yet."""
    probe = timed([*EXPORT_COMMAND, "--help"], timeout=60)
    if probe["code"] != 0:
        return (
            "`warroom export` is not available yet: "
            + (probe["stderr"].strip().splitlines() or ["no output"])[-1]
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from bench.history import build

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.repeats = 5000, 1
    pending = exporter_status()
    runs: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        db = Path(tmp) / "hub.db"
        incident = f"inc-{args.events}"
        written = build(db, incident, args.events)
        print(f"  wrote an incident of {args.events} events in {written:.1f} s", flush=True)
        for i in range(args.repeats):
            floors.append(timed_peak(["-c", _FLOOR, str(db), incident]))
            if pending:
                continue
            out = Path(tmp) / f"export-{i}.db"
            run = timed_peak(
                [*EXPORT_COMMAND, "--db", str(db), "--incident", incident, "--out", str(out), "-q"]
            )
            run["rows"] = _count(out) if run["code"] == 0 else None
            runs.append(run)
            print(
                f"  export {i + 1}: {run['seconds']:.2f} s, peak {run['peak_mb']:.0f} MB, "
                f"exit {run['code']}, {run['rows']} event rows",
                flush=True,
            )
    floor_s = statistics.median(f["seconds"] for f in floors)
    floor_mb = max(f["peak_mb"] for f in floors)
    good = [r for r in runs if r["code"] == 0 and r["rows"] == args.events]
    seconds = statistics.median(r["seconds"] for r in good) if good else float("nan")
    peak = max(r["peak_mb"] for r in good) if good else float("nan")
    met_s = None if not good else seconds < TARGET_SECONDS
    met_mb = None if not good else peak < TARGET_PEAK_MB
    failed = [r for r in runs if r not in good]
    print()
    if pending:
        print(f"PENDING: {pending}")
    elif failed:
        print(
            f"FAILED: {len(failed)} export run(s) failed or wrote the wrong number of rows:\n"
            f"{failed[0]['stderr'][-600:]}"
        )
    print(
        table(
            ["what", "seconds", "peak MB", "target", "verdict"],
            [
                [
                    "warroom export",
                    seconds,
                    peak,
                    f"< {TARGET_SECONDS:.0f} s, < {TARGET_PEAK_MB:.0f} MB",
                    f"time {verdict(met_s)}, memory {verdict(met_mb)}",
                ],
                ["floor: read the log only", floor_s, floor_mb, "—", "—"],
                [
                    "export/floor",
                    ratio(seconds, floor_s),
                    ratio(peak, floor_mb),
                    f"time <= {TARGET_FLOOR_RATIO:.0f}x",
                    verdict(None if not good else ratio(seconds, floor_s) <= TARGET_FLOOR_RATIO),
                ],
            ],
        )
    )
    path = save(
        "export",
        {
            "params": vars(args),
            "pending": pending,
            "events": args.events,
            "results": {
                "seconds": seconds,
                "peak_mb": peak,
                "floor_seconds": floor_s,
                "floor_peak_mb": floor_mb,
                "time_target_met": met_s,
                "memory_target_met": met_mb,
            },
            "runs": runs,
            "floor_runs": floors,
        },
        args.quick,
    )
    print(f"\nwritten to {path}")
    return 0


def _count(path: Path) -> int | None:
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.Error:
        return None


if __name__ == "__main__":
    sys.exit(main())
