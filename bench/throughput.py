"""Throughput: how many notes per second the hub takes in and delivers, against the bare relay.

Ten writers post as fast as acknowledgements allow (each waits for the ack of one note before
posting the next; on the bare relay a writer waits for its own note to come back, the relay's only
sign of acceptance) while 100 listeners follow the incident. Writers and listeners are separate
processes from the server. For each server we count notes acknowledged in the window (accepted/s)
and notes that reached the median listener in the window (delivered/s).

The hub acknowledges only after its group commit (SQLite WAL, synchronous=FULL). After each hub
run the hub is killed with SIGKILL and the database is opened afresh: every acknowledged note must
be in it. That is the durability check; it is reported, not assumed.

    python -m bench.throughput            # full run
    python -m bench.throughput --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    ServerProcess,
    base_parser,
    collect,
    cpu_seconds,
    ratio,
    runq_wait_seconds,
    save,
    split,
    start_profiler,
    table,
    verdict,
    wait_procs,
    wait_ready,
)
from bench.fanout import PER_PROCESS, declare_bench_incident
from bench.load import LoadConfig, listener_proc, writer_proc

#: The hub must deliver at least this share of the bare relay's delivered rate.
TARGET_SHARE = 0.70
#: Writer connections per writer process.
WRITERS_PER_PROCESS = 5


def run_case(
    kind: str,
    writers: int,
    listeners: int,
    seconds: float,
    compression: bool,
    workdir: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    db = workdir / f"hub-{time.monotonic_ns()}.db"
    log = workdir / f"{kind}.log"
    server = ServerProcess.hub(db, log) if kind == "hub" else ServerProcess.bare(log)
    spy = None
    with server:
        incident = declare_bench_incident(server.url) if kind == "hub" else "bare"
        base = LoadConfig(
            url=server.url,
            kind=kind,
            incident=incident,
            compression=compression,
            duration=seconds,
            closed_loop=True,
            grace=10.0,
        )
        ready_q, result_q = ctx.Queue(), ctx.Queue()
        go, window_end = ctx.Event(), ctx.Value("q", 0)
        procs = []
        for i, n in enumerate(split(listeners, math.ceil(listeners / PER_PROCESS))):
            cfg = LoadConfig(**{**base.__dict__, "index": i, "connections": n})
            procs.append(
                ctx.Process(target=listener_proc, args=(cfg, ready_q, result_q, go, window_end))
            )
        for i, n in enumerate(split(writers, math.ceil(writers / WRITERS_PER_PROCESS))):
            cfg = LoadConfig(**{**base.__dict__, "index": i, "connections": n})
            procs.append(
                ctx.Process(target=writer_proc, args=(cfg, ready_q, result_q, go, window_end))
            )
        for p in procs:
            p.start()
        try:
            wait_ready(ready_q, procs, 180, "load")
            time.sleep(0.5)
            cpu0 = cpu_seconds(server.pid)
            wait0 = runq_wait_seconds(server.pid)
            window_end.value = time.monotonic_ns() + int(seconds * 1e9)
            go.set()
            spy = start_profiler(server.pid, seconds, profile)
            time.sleep(seconds)
            cpu = cpu_seconds(server.pid) - cpu0
            starved = (runq_wait_seconds(server.pid) - wait0) / seconds
            reports = collect(result_q, len(procs), seconds + base.grace + 60)
            if kind == "hub":
                server.kill()  # a crash, as far as the database can tell
        finally:
            go.set()
            wait_procs(procs, 30)
            if spy is not None:
                spy.wait(60)
    case = _digest(
        kind, writers, listeners, seconds, reports, cpu, db if kind == "hub" else None, incident
    )
    case["server_starved"] = starved
    return case


def _digest(
    kind: str,
    writers: int,
    listeners: int,
    seconds: float,
    reports: Sequence[tuple[str, dict[str, Any]]],
    cpu: float,
    db: Path | None,
    incident: str,
) -> dict[str, Any]:
    errors = [r["error"] for _, r in reports if "error" in r]
    ok = [(role, r) for role, r in reports if "error" not in r]
    accepted = sum(sum(r["in_window"]) for role, r in ok if role == "writer")
    acked_ids = [i for role, r in ok if role == "writer" for i in r["acked_ids"]]
    per_listener = [n for role, r in ok if role == "listener" for n in r["in_window"]]
    totals = [n for role, r in ok if role == "listener" for n in r["counts"]]
    delivered = statistics.median(per_listener) if per_listener else 0
    load_cpu = sum(r.get("cpu_s", 0.0) for role, r in ok if role == "listener")
    result: dict[str, Any] = {
        "server": kind,
        "writers": writers,
        "listeners": listeners,
        "seconds": seconds,
        "accepted_per_s": accepted / seconds,
        "delivered_per_s": delivered / seconds,
        "slowest_listener_per_s": (min(per_listener) / seconds) if per_listener else 0,
        "acked_total": len(acked_ids),
        "listener_total_min": min(totals) if totals else 0,
        "writer_errors": sum(r.get("error_count", 0) for role, r in ok if role == "writer"),
        "server_cpu_ms_per_event": 1000 * cpu / max(1, accepted),
        # Share of all cores the server and the load processes kept busy (near 100%: the
        # machine, not the server, is the limit).
        "machine_busy": (cpu + load_cpu) / (seconds * (os.cpu_count() or 1)),
        "errors": errors,
    }
    if db is not None:
        result.update(_durability(db, incident, acked_ids))
    return result


def _durability(db: Path, incident: str, acked_ids: list[str]) -> dict[str, Any]:
    """After SIGKILL: is every acknowledged note in the database?"""
    with sqlite3.connect(db) as conn:
        stored = {
            r[0] for r in conn.execute("SELECT id FROM events WHERE incident_id = ?", [incident])
        }
    lost = [i for i in acked_ids if i not in stored]
    return {"durable_checked": len(acked_ids), "durable_lost": len(lost), "durable_ok": not lost}


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per run")
    parser.add_argument("--rounds", type=int, default=3, help="hub/bare pairs")
    parser.add_argument(
        "--compression",
        action="store_true",
        help="listeners and writers offer permessage-deflate (the hub declines it unless it was "
        "started with compression on; the bare relay accepts it)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the server of every run with py-spy into DIR",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.listeners, args.seconds, args.rounds = 20, 3.0, 1
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        for r in range(args.rounds):
            for kind in ("hub", "bare") if r % 2 == 0 else ("bare", "hub"):
                prof = None
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    prof = args.profile / f"throughput-{kind}-r{r}.txt"
                case = run_case(
                    kind,
                    args.writers,
                    args.listeners,
                    args.seconds,
                    args.compression,
                    Path(tmp),
                    prof,
                )
                case["round"] = r
                runs.append(case)
                print(
                    f"  round {r + 1} {kind:4}: accepted {case['accepted_per_s']:.0f}/s, "
                    f"delivered {case['delivered_per_s']:.0f}/s, cpu "
                    f"{case['server_cpu_ms_per_event']:.2f} ms/event, machine busy "
                    f"{100 * case['machine_busy']:.0f}%, server waited for a CPU "
                    f"{100 * case['server_starved']:.0f}% of the time"
                    + (f", durable {case['durable_ok']}" if kind == "hub" else ""),
                    flush=True,
                )
    hub = [c for c in runs if c["server"] == "hub"]
    bare = [c for c in runs if c["server"] == "bare"]

    def med(cases: list[dict[str, Any]], key: str) -> float:
        return statistics.median(c[key] for c in cases) if cases else math.nan

    share = ratio(med(hub, "delivered_per_s"), med(bare, "delivered_per_s"))
    results = {
        "hub_accepted_per_s": med(hub, "accepted_per_s"),
        "hub_delivered_per_s": med(hub, "delivered_per_s"),
        "bare_accepted_per_s": med(bare, "accepted_per_s"),
        "bare_delivered_per_s": med(bare, "delivered_per_s"),
        "hub_cpu_ms_per_event": med(hub, "server_cpu_ms_per_event"),
        "bare_cpu_ms_per_event": med(bare, "server_cpu_ms_per_event"),
        "delivered_ratio": share,
        "accepted_ratio": ratio(med(hub, "accepted_per_s"), med(bare, "accepted_per_s")),
        "durable_ok": all(c.get("durable_ok") for c in hub),
        "durable_lost": sum(c.get("durable_lost", 0) for c in hub),
        "machine_busy_max": max((c["machine_busy"] for c in runs), default=math.nan),
        "server_starved_max": max((c["server_starved"] for c in runs), default=math.nan),
        "target_met": None if math.isnan(share) else share >= TARGET_SHARE,
    }
    print()
    print(
        table(
            ["server", "accepted/s", "delivered/s", "cpu ms/event", "durable"],
            [
                [
                    "hub",
                    results["hub_accepted_per_s"],
                    results["hub_delivered_per_s"],
                    results["hub_cpu_ms_per_event"],
                    "all acked stored"
                    if results["durable_ok"]
                    else f"LOST {results['durable_lost']}",
                ],
                [
                    "bare",
                    results["bare_accepted_per_s"],
                    results["bare_delivered_per_s"],
                    results["bare_cpu_ms_per_event"],
                    "not stored",
                ],
                [
                    "hub/bare",
                    results["accepted_ratio"],
                    share,
                    math.nan,
                    f"target >= {TARGET_SHARE:.2f}: {verdict(results['target_met'])}",
                ],
            ],
        )
    )
    path = save("throughput", {"params": vars(args), "results": results, "runs": runs}, args.quick)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
