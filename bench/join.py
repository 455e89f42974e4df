"""Join and resume: how long until a new console is live in a long incident, how long a console
that missed 1,000 events takes to catch up, and the hub's memory with 1,000 idle consoles.

"Live" is what a console shows as live: the real client (``IncidentClient``) has connected, said
hello, joined with presence, received the snapshot and the timeline's tail (protocol 2), and got
``synced``. The target compares sizes in one run: live in a 100,000-event incident within 1.5x of
a 1,000-event one, and under 0.3 s. Each join
runs in a fresh process (never the hub's), so no sample profits from another's warm caches.
The long incidents are written straight into the database (``bench.history``); the hub then
starts on that file, which also measures how long the hub takes to load them.

    python -m bench.join            # full run
    python -m bench.join --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    ServerProcess,
    base_parser,
    collect,
    cpu_seconds,
    raise_fd_limit,
    rss_mb,
    run_loop,
    save,
    split,
    table,
    verdict,
    wait_procs,
    wait_ready,
)

#: Seconds to be live, by incident size (the issue's targets).
TARGETS = {100_000: 0.3}
#: Events the hub records by itself around a resume (see ``_join``).
PRESENCE_MEANWHILE = 4
#: Live in the largest incident within this factor of the smallest, in the same run.
RATIO_TARGET = 1.5


# --- one join (in its own process) ------------------------------------------------------------
def join_proc(url: str, incident: str, name: str, gap: int, result_q: Any) -> None:
    try:
        result_q.put(asyncio.run(_join(url, incident, name, gap)))
    except Exception as exc:
        result_q.put({"error": repr(exc)})


async def _join(url: str, incident: str, name: str, gap: int) -> dict[str, Any]:
    from warroom.client.sync import IncidentClient

    t0, c0 = time.perf_counter(), time.process_time()
    client = IncidentClient(url, name, "responder", incident)
    client.start()
    await client.wait_synced(timeout=300)
    live = time.perf_counter() - t0
    # CPU seconds this console spent: on a busy machine, a steadier number than the wall clock.
    result: dict[str, Any] = {
        "live_s": live,
        "client_cpu_s": time.process_time() - c0,
        "events": client.last_seq,
        "timeline_rows": len(client.log),
    }
    if gap:
        await client.close()
        # The hub also records four arrivals and departures meanwhile (this client leaving, the
        # writer coming and going, this client coming back): the notes make up the rest, so the
        # resume misses exactly ``gap`` events (at the threshold: the missed events, no snapshot).
        await _post_notes(url, incident, max(1, gap - PRESENCE_MEANWHILE))
        again = IncidentClient(url, name, "responder", incident)
        again.state, again.log = client.state, list(client.log)
        before = again.last_seq
        t1 = time.perf_counter()
        again.start()
        await again.wait_synced(timeout=120)
        result["resume_s"] = time.perf_counter() - t1
        result["resumed_events"] = again.last_seq - before
        await again.close()
    else:
        await client.close()
    return result


async def _post_notes(url: str, incident: str, count: int) -> None:
    """Post ``count`` notes as another participant, pipelined, and wait for every ack."""
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(
            json.dumps({"op": "hello", "protocol": 2, "name": "gap-writer", "role": "responder"})
        )
        await ws.send(
            json.dumps({"op": "join", "incident": incident, "since": 0, "presence": True})
        )
        async with asyncio.timeout(120):
            async for raw in ws:
                if isinstance(raw, str) and raw.startswith('{"op":"synced"'):
                    break
            for k in range(count):
                body = {
                    "type": "note_added",
                    "id": str(uuid.uuid4()),
                    "incident_id": incident,
                    "text": f"while you were away: note {k}",
                    "kind": "note",
                }
                await ws.send(json.dumps({"op": "command", "command": body}))
            acked = 0
            async for raw in ws:
                if isinstance(raw, str) and raw.startswith('{"op":"ack"'):
                    acked += 1
                    if acked >= count:
                        break


def timed_joins(
    url: str, hub_pid: int, incident: str, repeats: int, gap: int
) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    out = []
    for i in range(repeats):
        q = ctx.Queue()
        p = ctx.Process(target=join_proc, args=(url, incident, f"joiner-{i}", gap, q))
        cpu0 = cpu_seconds(hub_pid)
        p.start()
        result = collect(q, 1, 600)[0]
        # Includes the resume and its 1,000 posted notes when there is a gap.
        result["hub_cpu_s"] = cpu_seconds(hub_pid) - cpu0
        out.append(result)
        wait_procs([p], 30)
    return out


# --- idle connections (in their own processes) ------------------------------------------------
def idle_proc(
    url: str, incidents: list[str], count: int, index: int, ready_q: Any, release: Any
) -> None:
    raise_fd_limit()
    try:
        run_loop(_idle(url, incidents, count, index, ready_q, release))
    except Exception as exc:
        ready_q.put(("failed", index, repr(exc)))


async def _idle(
    url: str, incidents: list[str], count: int, index: int, ready_q: Any, release: Any
) -> None:
    from bench.load import LoadConfig, close_all, open_conn

    gate = asyncio.Semaphore(25)

    async def one(i: int) -> Any:
        cfg = LoadConfig(
            url=url, kind="hub", incident=incidents[(index * count + i) % len(incidents)]
        )
        async with gate:
            return await open_conn(cfg, f"idle-{index}-{i}", "responder", True)

    conns = await asyncio.gather(*(one(i) for i in range(count)))
    ready_q.put(("ready", index, None))
    await asyncio.to_thread(release.wait, 600)
    await close_all(list(conns))


def idle_memory(workdir: Path, connections: int, incidents: int) -> dict[str, Any]:
    """Hub RSS before and after ``connections`` idle consoles join ``incidents`` incidents."""
    from bench.fanout import declare_bench_incident

    ctx = mp.get_context("spawn")
    with ServerProcess.hub(workdir / "idle.db", workdir / "idle.log") as hub:
        ids = [declare_bench_incident(hub.url, f"Idle incident {i}") for i in range(incidents)]
        time.sleep(1)
        before = rss_mb(hub.pid)
        ready_q, release = ctx.Queue(), ctx.Event()
        sizes = split(connections, math.ceil(connections / 250))
        procs = [
            ctx.Process(target=idle_proc, args=(hub.url, ids, n, i, ready_q, release))
            for i, n in enumerate(sizes)
        ]
        for p in procs:
            p.start()
        try:
            wait_ready(ready_q, procs, 300, "idle")
            time.sleep(3)  # presence events written, replays done: idle
            after = rss_mb(hub.pid)
        finally:
            release.set()
            wait_procs(procs, 60)
    return {
        "connections": connections,
        "incidents": incidents,
        "rss_before_mb": before,
        "rss_idle_mb": after,
        "kb_per_connection": 1024 * (after - before) / connections,
    }


# --- the run ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    from bench.history import build

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5, help="joins per size")
    parser.add_argument("--gap", type=int, default=1000, help="events missed before resuming")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections")
    parser.add_argument("--idle-incidents", type=int, default=50)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats, args.gap = [1000, 5000], 2, 200
        args.idle, args.idle_incidents = 100, 10
    rows, results = [], []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        work = Path(tmp)
        db = work / "history.db"
        built = {}
        for size in args.sizes:
            built[size] = build(db, f"inc-{size}", size)
            print(f"  wrote an incident of {size} events in {built[size]:.1f} s", flush=True)
        with ServerProcess.hub(db, work / "hub.log") as hub:
            loaded = {"hub_start_s": hub.started_in, "hub_rss_mb": rss_mb(hub.pid)}
            print(
                f"  hub loaded {sum(args.sizes)} events in {hub.started_in:.1f} s, "
                f"RSS {loaded['hub_rss_mb']:.0f} MB",
                flush=True,
            )
            # One untimed join first: the hub's first snapshot, first presence write and first
            # connection set-up would otherwise count against whichever size runs first.
            timed_joins(hub.url, hub.pid, f"inc-{args.sizes[0]}", 1, 0)
            # Live joins first, the sizes taking turns (so a busy moment of the machine falls on
            # both alike: the target is a ratio); then the resumes, which post notes meanwhile.
            joins: dict[int, list[dict[str, Any]]] = {size: [] for size in args.sizes}
            for _ in range(args.repeats):
                for size in args.sizes:
                    joins[size] += timed_joins(hub.url, hub.pid, f"inc-{size}", 1, 0)
            resumes = {
                size: timed_joins(hub.url, hub.pid, f"inc-{size}", args.repeats, args.gap)
                for size in args.sizes
            }
            for size in args.sizes:
                runs = joins[size]
                bad = [r["error"] for r in runs + resumes[size] if "error" in r]
                if bad:
                    raise RuntimeError(f"join failed: {bad[0]}")
                live = [r["live_s"] for r in runs]
                cpu = [r["client_cpu_s"] for r in runs]
                resume = [r["resume_s"] for r in resumes[size] if "resume_s" in r]
                target = TARGETS.get(size)
                med = statistics.median(live)
                met = None if target is None else med < target
                results.append(
                    {
                        "events": size,
                        "live_s": live,
                        "live_median_s": med,
                        "client_cpu_median_s": statistics.median(cpu),
                        "client_cpu_us_per_event": 1e6 * statistics.median(cpu) / size,
                        "resume_s": resume,
                        "resume_median_s": statistics.median(resume) if resume else None,
                        "resumed_events": [r.get("resumed_events") for r in resumes[size]],
                        "target_s": target,
                        "target_met": met,
                        "history_written_s": built[size],
                    }
                )
                rows.append(
                    [
                        size,
                        med,
                        max(live),
                        statistics.median(cpu),
                        target,
                        verdict(met),
                        statistics.median(resume) if resume else math.nan,
                    ]
                )
                print(f"  {size} events: live in {med:.3f} s (median of {len(live)})", flush=True)
        idle = idle_memory(work, args.idle, args.idle_incidents)
    small, large = results[0], results[-1]
    ratio = {
        "small_events": small["events"],
        "large_events": large["events"],
        "ratio": large["live_median_s"] / small["live_median_s"],
        "target": RATIO_TARGET,
    }
    ratio["target_met"] = ratio["ratio"] <= RATIO_TARGET
    print()
    print(
        table(
            [
                "events",
                "live median s",
                "live max s",
                "client cpu s",
                "target s",
                "target",
                f"resume after {args.gap} s",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            [
                "idle connections",
                "incidents",
                "hub RSS before MB",
                "hub RSS idle MB",
                "KB per connection",
            ],
            [
                [
                    idle["connections"],
                    idle["incidents"],
                    idle["rss_before_mb"],
                    idle["rss_idle_mb"],
                    idle["kb_per_connection"],
                ]
            ],
        )
    )
    print(
        f"\nlive at {ratio['large_events']:,} events / at {ratio['small_events']:,}: "
        f"{ratio['ratio']:.2f}x (target <= {RATIO_TARGET}x: {verdict(ratio['target_met'])})"
    )
    print(
        f"\nhub start with {sum(args.sizes)} stored events: {loaded['hub_start_s']:.2f} s, "
        f"RSS {loaded['hub_rss_mb']:.0f} MB"
    )
    path = save(
        "join",
        {
            "params": vars(args),
            "results": results,
            "ratio": ratio,
            "hub_load": loaded,
            "idle": idle,
        },
        args.quick,
    )
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
