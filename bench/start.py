"""Hub start-up against a large history: time to ``/healthz`` ok and memory, by history size.

A database of N events in M incidents (K open, the rest closed) is written by direct SQL inserts
(the rows of one real incident, folded once by the core to check it, copied under new incident
and event ids), then ``warroom serve`` is started on it, as an operator would, and timed from
spawning the process to the first ``/healthz`` that answers ``ok``. Then the same with 10× the
closed history (same open incidents). The hub loads only the open incidents, so the two should be
alike (target: within 1.2×, under 2 s and 150 MB at 1,000,000 events).

Each size is started three ways:

- ``cold``: no checkpoint (the first start after upgrading, or after ``checkpoint_every = 0``):
  each open incident is folded from its first event.
- ``warm``: the start after a clean stop of the cold hub (its checkpoints are at the head).
- ``crash``: the warm database with each open incident's checkpoint moved back to where a hub
  killed between two checkpoints leaves it (``checkpoint_every - 1`` events behind the head).

Usage: ``python -m bench.start [--events 1000000] [--incidents 500] [--open 10] [--scale 10]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from warroom.hub.checkpoints import encode, fold_stamp
from warroom.hub.storage import SCHEMA_VERSION, Store, event_row, incident_row

from bench.common import bench_env, cpu_seconds, machine, save, table
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.log import parse_event
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PEOPLE = [("ana", "ic"), ("ben", "scribe"), ("cho", "comms"), ("dev", "responder")]
START_TARGET_S = 2.0
RSS_TARGET_MB = 150.0
SCALE_TARGET = 1.2


def template(events: int, closed: bool) -> tuple[list[tuple[Any, ...]], IncidentState]:
    """The rows of one incident of ``events`` events (checked by folding them), and its state."""
    state = IncidentState()
    rows: list[tuple[Any, ...]] = []

    def add(data: dict[str, Any], actor: str, role: str) -> None:
        nonlocal state
        seq = len(rows) + 1
        data.update(
            id=str(uuid.uuid4()),
            incident_id="inc-template",
            seq=seq,
            at=(T0 + timedelta(seconds=seq)).isoformat(),
            actor=actor,
            role=role,
        )
        event: EventBase = parse_event(data)
        state = apply(state, event)
        rows.append(tuple(event_row(event).values()))

    declared = parse_event(
        {
            "type": "incident_declared",
            "id": str(uuid.uuid4()),
            "incident_id": "inc-template",
            "title": "Checkout errors after deploy",
            "severity": "SEV2",
            "symptoms": "5xx on checkout",
        }
    )
    add(declared.hub_fill(HubSettings()).model_dump(mode="json"), "ana", "ic")
    for name, role in PEOPLE:
        add({"type": "participant_joined", "name": name, "seat": role}, name, role)
    ending: list[tuple[dict[str, Any], str, str]] = []
    if closed:
        for phase in ("triage", "mitigating", "monitoring"):
            ending.append(({"type": "phase_changed", "phase": phase}, "ana", "ic"))
        ending.append(
            (
                {"type": "phase_changed", "phase": "resolved", "resolution": "rolled back"},
                "ana",
                "ic",
            )
        )
        ending.append(({"type": "phase_changed", "phase": "closed"}, "ana", "ic"))
    leaving = [({"type": "participant_left", "name": n}, n, r) for n, r in PEOPLE]
    notes = events - len(rows) - len(ending) - len(leaving)
    for k in range(notes):
        name, role = PEOPLE[k % len(PEOPLE)]
        text = f"[{k}] p99 latency on checkout back under 300 ms after the rollback of v{k % 97}"
        add({"type": "note_added", "text": text, "kind": "note"}, name, role)
    for data, actor, role in [*leaving, *ending]:
        add(data, actor, role)
    return rows, state


def build(db: Path, events: int, incidents: int, open_: int) -> dict[str, Any]:
    """A database of ``events`` events in ``incidents`` incidents, ``open_`` of them open."""
    began = time.perf_counter()
    per = events // incidents
    Store(db).close()  # the schema, as the hub creates it
    closed_rows, closed_state = template(per, closed=True)
    open_rows, open_state = template(per, closed=False)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for i in range(incidents):
        is_open = i < open_
        incident_id = f"inc-{'open' if is_open else 'done'}-{i:06d}"
        rows, state = (open_rows, open_state) if is_open else (closed_rows, closed_state)
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(incident_id, r[1], str(uuid.uuid4()), *r[3:]) for r in rows],
        )
        summary = incident_row(state.model_copy(update={"incident_id": incident_id}))
        conn.execute(
            "INSERT INTO incidents (id, title, severity, phase, declared_at, head_seq, drill, "
            "updated_at, detected_at, ic, participants) VALUES (:id, :title, :severity, :phase, "
            ":declared_at, :head_seq, :drill, :updated_at, :detected_at, :ic, :participants)",
            summary,
        )
        if i % 50 == 49:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "events": per * incidents,
        "incidents": incidents,
        "open": open_,
        "seconds": round(time.perf_counter() - began, 1),
        "megabytes": round(db.stat().st_size / 1e6),
    }


def forget_checkpoints(db: Path, events: int, incidents: int, open_: int) -> dict[str, Any]:
    """A database built before, made cold again (no checkpoints)."""
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM checkpoints")
    per = events // incidents
    return {
        "events": per * incidents,
        "incidents": incidents,
        "open": open_,
        "seconds": None,
        "megabytes": round(db.stat().st_size / 1e6),
    }


def crash_checkpoints(db: Path, behind: int) -> None:
    """Move each open incident's checkpoint ``behind`` events back, refolded to that seq, as a
    hub killed just before its next checkpoint leaves it."""
    store = Store(db)
    try:
        for incident_id in store.live_incident_ids():
            target = max(0, store.head_of(incident_id) - behind)
            state = IncidentState()
            for event in store.events(incident_id):
                if event.seq > target:
                    break
                state = apply(state, event)
            event_id = store.event_id_at(incident_id, target) or ""
            store.db.execute(
                "UPDATE checkpoints SET seq = ?, event_id = ?, stamp = ?, state = ? "
                "WHERE incident_id = ?",
                [target, event_id, fold_stamp(), encode(state), incident_id],
            )
    finally:
        store.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_once(db: Path, log: Path) -> dict[str, Any]:
    """Start ``warroom serve`` on ``db``; seconds to ``/healthz`` ok, RSS; then a clean stop."""
    port = free_port()
    began = time.monotonic()
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=bench_env(),
        )
    health: dict[str, Any] = {}
    try:
        while time.monotonic() - began < 600:
            if proc.poll() is not None:
                raise RuntimeError(f"hub exited with {proc.returncode}; see {log}")
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
                if reply.status_code == 200 and reply.json().get("status") == "ok":
                    health = reply.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        seconds = time.monotonic() - began
        cpu = cpu_seconds(proc.pid)
        rss, peak = _memory(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    figures = health.get("memory", {})
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "rss_mb": round(rss, 1),
        "peak_rss_mb": round(peak, 1),
        "loaded": health.get("incidents"),
        "folded": figures.get("start_folded"),
        "from_checkpoint": figures.get("start_from_checkpoint"),
    }


def _memory(pid: int) -> tuple[float, float]:
    rss = peak = math.nan
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return rss, peak


def measure(db: Path, log: Path, checkpoint_every: int, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {"cold": start_once(db, log)}
    warm = [start_once(db, log) for _ in range(rounds)]
    out["warm"] = min(warm, key=lambda r: r["seconds"])
    crash_checkpoints(db, checkpoint_every - 1)
    out["crash"] = start_once(db, log)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--open", type=int, default=10)
    parser.add_argument("--scale", type=int, default=10, help="the larger history (0: skip it)")
    parser.add_argument("--rounds", type=int, default=3, help="warm starts; the best is kept")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--keep", type=Path, default=None, help="build the databases here")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: measure databases built before"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.incidents, args.open, args.scale, args.rounds = 20_000, 20, 4, 2, 1
    work = args.keep or Path(tempfile.mkdtemp(prefix="warroom-start-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [(args.events, args.incidents)]
    if args.scale > 1:
        # The same open incidents (same size each); ``scale`` times the closed history.
        per = args.events // args.incidents
        closed = (args.incidents - args.open) * args.scale
        sizes.append((per * (closed + args.open), closed + args.open))
    # The floor: the same hub on an empty database (Python, imports, SQLite, binding the port),
    # measured in the same conditions, so a busy machine shows as a slow floor too.
    empty = work / "start-empty.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{empty}{suffix}").unlink(missing_ok=True)
    floors = [start_once(empty, work / "hub.log") for _ in range(args.rounds)]
    floor = min(floors, key=lambda r: r["seconds"])
    print(f"  empty database (the floor): {floor}")
    results: list[dict[str, Any]] = []
    for events, incidents in sizes:
        db = work / f"start-{events}.db"
        if args.reuse and db.exists():
            built = forget_checkpoints(db, events, incidents, args.open)
            print(f"reusing {db} ({built['megabytes']} MB), its checkpoints removed")
        else:
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            print(f"building {events:,} events in {incidents} incidents ({args.open} open)...")
            built = build(db, events, incidents, args.open)
            print(f"  built in {built['seconds']} s, {built['megabytes']} MB")
        runs = measure(db, work / "hub.log", 1000, args.rounds)
        results.append({"built": built, **runs})
        for kind in ("cold", "warm", "crash"):
            print(f"  {kind}: {runs[kind]}")
        if args.keep is None:
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
    rows = [
        [
            "0 (empty)",
            0,
            "floor",
            f"{floor['seconds']:.2f}",
            f"{floor['cpu_seconds']:.2f}",
            f"{floor['rss_mb']:.0f}",
            f"{floor['peak_rss_mb']:.0f}",
            0,
        ]
    ]
    for r in results:
        for kind in ("cold", "warm", "crash"):
            run = r[kind]
            rows.append(
                [
                    f"{r['built']['events']:,}",
                    r["built"]["incidents"],
                    kind,
                    f"{run['seconds']:.2f}",
                    f"{run['cpu_seconds']:.2f}",
                    f"{run['rss_mb']:.0f}",
                    f"{run['peak_rss_mb']:.0f}",
                    run["folded"],
                ]
            )
    print(
        table(
            [
                "events",
                "incidents",
                "start",
                "s to /healthz",
                "CPU s",
                "RSS MB",
                "peak MB",
                "folded",
            ],
            rows,
        )
    )
    if len(results) == 2:
        small, large = results
        for kind in ("warm", "crash"):
            time_ratio = large[kind]["seconds"] / small[kind]["seconds"]
            cpu_ratio = large[kind]["cpu_seconds"] / small[kind]["cpu_seconds"]
            rss_ratio = large[kind]["rss_mb"] / small[kind]["rss_mb"]
            print(
                f"{kind}: {args.scale}x history: time {time_ratio:.2f}x, CPU {cpu_ratio:.2f}x, "
                f"RSS {rss_ratio:.2f}x"
            )
    save(
        "start",
        {
            "machine": machine(),
            "schema": SCHEMA_VERSION,
            "cpus": os.cpu_count(),
            "floor": floor,
            "runs": results,
        },
        args.quick,
    )
    print(json.dumps([{k: r[k] for k in ("cold", "warm", "crash")} for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
