"""Fan-out: how long a note takes to reach every console, against the bare transport.

One writer posts ~300-byte timeline notes at a steady 50 per second; N listeners (in separate
processes) time each note from the writer's send to their receipt. The same load runs against
the warroom hub (validation, a durable group commit, then delivery) and against the bare relay in
this file (``websockets.broadcast`` of whatever arrives, nothing else), alternating hub and bare
in every round so drift in the machine's load hits both alike. The ratio hub/bare is the number
that matters; absolute milliseconds depend on the machine.

The floor runs beside them with the hub's defaults: the bare relay, but each message committed
to SQLite (WAL, ``synchronous=FULL``) before it is broadcast. No server that stores a note before
delivering it can do better, so floor/bare is how much of a target durability alone takes.

Variants: per-message compression on or off (negotiated by the listeners: a client that does not
offer permessage-deflate gets plain frames), and the server under test on uvloop or on asyncio.

    python -m bench.fanout            # full run (about 10 minutes)
    python -m bench.fanout --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    ServerProcess,
    base_parser,
    collect,
    commit_cpu_probe,
    cpu_seconds,
    cpu_split,
    fsync_probe,
    have_uvloop,
    raise_fd_limit,
    ratio,
    run_loop,
    runq_wait_seconds,
    save,
    split,
    start_profiler,
    summary,
    table,
    verdict,
    wait_procs,
    wait_ready,
)
from bench.load import LoadConfig, listener_proc, writer_proc

#: Fan-out p99 must stay within this factor of the bare relay at N >= 100.
TARGET_RATIO = 1.25
#: Listener connections per load process (each process is one event loop).
PER_PROCESS = 75


# --- the bare relay: the fastest the transport goes --------------------------------------------
async def _relay(durable: Path | None = None) -> None:
    """Receive a message, ``broadcast()`` it to every connection. No parsing, no storage.

    With ``durable``, each message is first committed to a SQLite file (WAL,
    ``synchronous=FULL``: what the hub's ``--durability full`` does) on the event loop itself,
    with nothing else: the floor under any server that commits a note before anyone sees it.
    """
    import signal

    from websockets.asyncio.server import ServerConnection, broadcast, serve

    from bench.common import READY_PREFIX

    clients: set[ServerConnection] = set()
    log = None
    if durable is not None:
        import sqlite3

        log = sqlite3.connect(durable, isolation_level=None)
        log.execute("PRAGMA journal_mode=WAL")
        log.execute("PRAGMA synchronous=FULL")
        log.execute("CREATE TABLE IF NOT EXISTS log (body TEXT NOT NULL)")

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for message in ws:
                if log is not None:
                    log.execute("BEGIN")
                    log.execute("INSERT INTO log (body) VALUES (?)", (message,))
                    log.execute("COMMIT")
                broadcast(clients, message)
        finally:
            clients.discard(ws)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Same transport settings as the hub: default compression offer, 64 KiB frames at most.
    async with serve(handler, "127.0.0.1", 0, max_size=64 * 1024, server_header=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"{READY_PREFIX}ws://127.0.0.1:{port}", flush=True)
        await stop.wait()


# --- one measured case ------------------------------------------------------------------------
def declare_bench_incident(url: str, title: str = "Benchmark incident") -> str:
    """Declare an incident on a hub (from this process, never the hub's) and return its id."""
    from warroom.client.lobby import declare

    async def go() -> str:
        return await declare(url, "bench-ic", title=title, severity="SEV3", drill=True)

    return asyncio.run(go())


def run_case(
    kind: str,
    listeners: int,
    compression: bool,
    uvloop: bool,
    seconds: float,
    rate: float,
    workdir: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    """One run: start the server, connect the listeners and the writer, post, collect."""
    ctx = mp.get_context("spawn")
    log = workdir / f"{kind}.log"
    db = workdir / f"{kind}-{time.monotonic_ns()}.db"
    if kind == "hub":
        server = ServerProcess.hub(db, log, uvloop)
    else:
        server = ServerProcess.bare(log, uvloop, durable=db if kind == "floor" else None)
    total = max(1, int(seconds * rate))
    warmup = max(1, int(rate))  # the first second: connections and caches warming up
    spy = None
    with server:
        incident = declare_bench_incident(server.url) if kind == "hub" else "bare"
        base = LoadConfig(
            url=server.url,
            kind=kind,
            incident=incident,
            compression=compression,
            total=warmup + total,
            warmup=warmup,
            rate=rate,
            duration=(warmup + total) / rate,
            grace=10.0,
        )
        ready_q, result_q = ctx.Queue(), ctx.Queue()
        go, window_end = ctx.Event(), ctx.Value("q", 0)
        procs = []
        sizes = split(listeners, math.ceil(listeners / PER_PROCESS))
        for i, n in enumerate(sizes):
            cfg = LoadConfig(**{**base.__dict__, "index": i, "connections": n})
            procs.append(
                ctx.Process(target=listener_proc, args=(cfg, ready_q, result_q, go, window_end))
            )
        wcfg = LoadConfig(
            **{**base.__dict__, "index": 90, "connections": 1, "total": total, "warmup": warmup}
        )
        procs.append(
            ctx.Process(target=writer_proc, args=(wcfg, ready_q, result_q, go, window_end))
        )
        for p in procs:
            p.start()
        try:
            wait_ready(ready_q, procs, 180, "load")
            time.sleep(0.5)  # let presence events and replays settle
            cpu0 = cpu_seconds(server.pid)
            split0 = cpu_split(server.pid)
            wait0 = runq_wait_seconds(server.pid)
            window_end.value = time.monotonic_ns() + int(base.duration * 1e9)
            go.set()
            spy = start_profiler(server.pid, base.duration, profile)
            reports = collect(result_q, len(procs), base.duration + base.grace + 60)
            cpu = cpu_seconds(server.pid) - cpu0
            where = {k: v - split0[k] for k, v in cpu_split(server.pid).items()}
            starved = (runq_wait_seconds(server.pid) - wait0) / base.duration
        finally:
            go.set()
            wait_procs(procs, 30)
            if spy is not None:
                spy.wait(60)
    case = _digest(kind, listeners, compression, uvloop, total, warmup, reports, cpu, base.duration)
    case["server_starved"] = starved
    # Where the server's CPU went, in ms per note (the loop thread and the others, user/kernel).
    case["server_cpu_split_ms_per_note"] = {k: 1000 * v / total for k, v in where.items()}
    return case


def _digest(
    kind: str,
    listeners: int,
    compression: bool,
    uvloop: bool,
    total: int,
    warmup: int,
    reports: Sequence[tuple[str, dict[str, Any]]],
    cpu: float,
    window_s: float,
) -> dict[str, Any]:
    lat = array("q")
    counts: list[int] = []
    load_cpu = 0.0
    errors = [r["error"] for _, r in reports if "error" in r]
    writer: dict[str, Any] = {}
    for role, r in reports:
        if "error" in r:
            continue
        if role == "listener":
            lat.frombytes(r["latencies_us"])
            counts += r["counts"]
            load_cpu += r.get("cpu_s", 0.0)
        else:
            writer = r
    lateness = writer.get("lateness_us", [])
    return {
        "server": kind,
        "listeners": listeners,
        "compression": compression,
        "uvloop": uvloop,
        "notes": total,
        "latency_ms": summary(lat, 0.001),
        "received_min": min(counts) if counts else 0,
        "expected_each": total + warmup,
        "writer_acked": writer.get("acked"),
        "writer_errors": writer.get("error_count"),
        "writer_late_p99_ms": summary(lateness, 0.001)["p99"],
        # Send to ack at the writer: on the hub, validation plus the durable commit.
        "ack_ms": summary(writer.get("ack_us", []), 0.001),
        "server_cpu_s": cpu,
        "server_cpu_ms_per_note": 1000 * cpu / max(1, total),
        "listeners_cpu_s": load_cpu,
        # Share of all cores the server and the listeners kept busy. Near 100% the machine is
        # saturated: latencies are then queueing, and a hub/bare ratio says little.
        "machine_busy": (cpu + load_cpu) / (window_s * (os.cpu_count() or 1)),
        "errors": errors,
        "_samples": lat,
    }


def _split_text(case: dict[str, Any], where: str) -> str:
    """CPU ms per note of one part of the server (see ``cpu_split``)."""
    return f"{case['server_cpu_split_ms_per_note'][where]:.2f}"


def pooled(cases: list[dict[str, Any]]) -> dict[str, float]:
    """Latency percentiles over every sample of several rounds of one configuration."""
    lat = array("q")
    for c in cases:
        lat.extend(c["_samples"])
    return summary(lat, 0.001)


# --- the plan ---------------------------------------------------------------------------------
def defaults_only(cases: Sequence[tuple[int, bool, bool]]) -> list[tuple[int, bool, bool]]:
    """The cases run with the hub's defaults: compression off, asyncio's own loop."""
    return [c for c in cases if c[1:] == (False, False)]


def plan(ns: Sequence[int], variant_n: int, uv: bool) -> list[tuple[int, bool, bool]]:
    """(listeners, compression, uvloop) to run: every N with the hub's defaults (no compression,
    asyncio's own loop), plus the other compression/uvloop combinations at ``variant_n``."""
    cases = [(n, False, False) for n in ns]
    for comp in (True, False):
        for loop in (False, True) if uv else (False,):
            if (variant_n, comp, loop) not in cases:
                cases.append((variant_n, comp, loop))
    return cases


def servers(compression: bool, uvloop: bool, floor: bool) -> list[str]:
    """The servers one round runs for a case: hub and bare relay always; the floor (the relay
    plus a durable commit per message) beside them with the hub's defaults, where the targets
    apply, since any server that commits a note before it delivers it pays at least that."""
    if floor and not compression and not uvloop:
        return ["hub", "bare", "floor"]
    return ["hub", "bare"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["relay"]:
        raise_fd_limit()
        durable = Path(argv[argv.index("--durable") + 1]) if "--durable" in argv else None
        run_loop(_relay(durable), use_uvloop="--uvloop" in argv)
        return 0
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, nargs="+", default=[10, 100, 300])
    parser.add_argument(
        "--variant-listeners",
        type=int,
        default=100,
        help="N at which compression and uvloop are varied",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--rate", type=float, default=50.0, help="notes per second")
    parser.add_argument("--rounds", type=int, default=3, help="hub/bare pairs per case")
    parser.add_argument(
        "--no-variants",
        action="store_true",
        help="only the hub's defaults (no compression, asyncio's loop) at each N",
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor: the relay with a durable SQLite commit per message, run beside "
        "hub and bare at each N with the hub's defaults",
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
        args.listeners, args.variant_listeners = [10, 30], 30
        args.seconds, args.rounds = 2.0, 1
    uv = have_uvloop()
    disk = fsync_probe(Path(tempfile.gettempdir()))
    print(
        f"  disk: fsync p50 {disk['p50']:.2f} ms, p99 {disk['p99']:.2f} ms (a floor under "
        "the hub's latency that the bare relay does not pay)",
        flush=True,
    )
    commit = commit_cpu_probe(Path(tempfile.gettempdir()), 1 / args.rate)
    print(
        f"  a durable commit: {commit['with_gap_us']:.0f} µs of CPU one note apart "
        f"({commit['back_to_back_us']:.0f} µs back to back), which the relay does not spend",
        flush=True,
    )
    todo = plan(args.listeners, args.variant_listeners, uv)
    if args.no_variants:
        todo = defaults_only(todo)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        for r in range(args.rounds):
            for n, comp, loop in todo:
                kinds = servers(comp, loop, floor=not args.no_floor)
                order = kinds if r % 2 == 0 else kinds[::-1]
                for kind in order:
                    prof = None
                    if args.profile:
                        args.profile.mkdir(parents=True, exist_ok=True)
                        prof = args.profile / (
                            f"fanout-{kind}-n{n}-c{int(comp)}-u{int(loop)}-r{r}.txt"
                        )
                    case = run_case(kind, n, comp, loop, args.seconds, args.rate, Path(tmp), prof)
                    case["round"] = r
                    runs.append(case)
                    print(
                        f"  round {r + 1} {kind:4} N={n:3} compression={'on' if comp else 'off'}"
                        f" uvloop={'on' if loop else 'off'}: p50 "
                        f"{case['latency_ms']['p50']:.1f} ms p99 {case['latency_ms']['p99']:.1f}"
                        f" ms, ack p50 {case['ack_ms']['p50']:.1f} ms, cpu "
                        f"{case['server_cpu_ms_per_note']:.2f} ms/note, waited for a CPU "
                        f"{100 * case['server_starved']:.0f}% of the time; cpu ms/note loop "
                        f"{_split_text(case, 'loop')}, other threads "
                        f"{_split_text(case, 'threads')}",
                        flush=True,
                    )
    rows, results = _report(runs, todo)
    floors = [r for r in results if "floor" in r]
    if floors:
        print()
        print(
            table(
                [
                    "N",
                    "floor p50 ms",
                    "floor p99 ms",
                    "p99 floor/bare",
                    "floor cpu ms/note",
                    "cpu floor/bare",
                ],
                [
                    [
                        r["listeners"],
                        r["floor"]["p50"],
                        r["floor"]["p99"],
                        r["floor_p99_ratio"],
                        r["floor_cpu_ms_per_note"],
                        ratio(r["floor_cpu_ms_per_note"], r["bare_cpu_ms_per_note"]),
                    ]
                    for r in floors
                ],
            )
        )
    print()
    print(
        table(
            [
                "N",
                "compression",
                "uvloop",
                "hub p50 ms",
                "hub p99 ms",
                "bare p50 ms",
                "bare p99 ms",
                "p99 hub/bare",
                "hub cpu ms/note",
                "bare cpu ms/note",
                "machine busy %",
                "server starved %",
                "target",
            ],
            rows,
        )
    )
    if not uv:
        print("\nuvloop is not installed: `pip install uvloop` to measure it.")
    path = save(
        "fanout",
        {
            "params": vars(args),
            "fsync_ms": disk,
            "commit_cpu_us": commit,
            "results": results,
            "runs": [{k: v for k, v in c.items() if k != "_samples"} for c in runs],
        },
        args.quick,
    )
    print(f"\nwritten to {path}")
    return 0


def _report(
    runs: list[dict[str, Any]], todo: list[tuple[int, bool, bool]]
) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    rows, results = [], []
    for n, comp, loop in todo:
        mine = [
            c for c in runs if (c["listeners"], c["compression"], c["uvloop"]) == (n, comp, loop)
        ]
        hub = [c for c in mine if c["server"] == "hub"]
        bare = [c for c in mine if c["server"] == "bare"]
        floor = [c for c in mine if c["server"] == "floor"]
        h, b = pooled(hub), pooled(bare)
        r = ratio(h["p99"], b["p99"])
        busy = max((c["machine_busy"] for c in mine), default=math.nan)
        starved = max((c["server_starved"] for c in mine), default=math.nan)
        hub_cpu = sum(c["server_cpu_ms_per_note"] for c in hub) / max(1, len(hub))
        bare_cpu = sum(c["server_cpu_ms_per_note"] for c in bare) / max(1, len(bare))
        met = None if math.isnan(r) else r <= TARGET_RATIO  # at every N (issue 24)
        lost = sum(c["expected_each"] - c["received_min"] for c in mine)
        rows.append(
            [
                n,
                "on" if comp else "off",
                "on" if loop else "off",
                h["p50"],
                h["p99"],
                b["p50"],
                b["p99"],
                r,
                hub_cpu,
                bare_cpu,
                100 * busy,
                100 * starved,
                verdict(met),
            ]
        )
        results.append(
            {
                "listeners": n,
                "compression": comp,
                "uvloop": loop,
                "hub": h,
                "bare": b,
                "p99_ratio": r,
                "hub_cpu_ms_per_note": hub_cpu,
                "bare_cpu_ms_per_note": bare_cpu,
                "machine_busy_max": busy,
                "server_starved_max": starved,
                "hub_ack_p50_ms": [c["ack_ms"]["p50"] for c in hub],
                "hub_ack_p99_ms": [c["ack_ms"]["p99"] for c in hub],
                "target_met": met,
                "notes_missing": lost,
            }
        )
        if floor:
            f = pooled(floor)
            results[-1]["floor"] = f
            results[-1]["floor_p99_ratio"] = ratio(f["p99"], b["p99"])
            results[-1]["floor_cpu_ms_per_note"] = sum(
                c["server_cpu_ms_per_note"] for c in floor
            ) / len(floor)
    return rows, results


if __name__ == "__main__":
    sys.exit(main())
