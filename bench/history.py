"""Long incidents made fast: events written straight into a hub database through ``Store.append``.

Posting 100,000 notes through a hub would take minutes of fsyncs and measure the wrong thing; the
join, console and export benchmarks need a long incident to exist, not to be typed. The events are
the real ones (validated by the core's event models, folded by the core's ``apply``), stamped as
the hub would stamp them, so the hub loads the file exactly as it would load its own.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.hub.storage import Store

from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.log import parse_event
from warroom.core.settings import HubSettings
from warroom.core.state import IncidentState

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
PEOPLE = [("ana", "ic"), ("ben", "scribe"), ("cho", "comms"), ("dev", "responder")]
KINDS = ["note", "note", "note", "finding", "command", "status"]
_WORDS = [
    "checkout",
    "latency",
    "p99",
    "deploy",
    "rollback",
    "canary",
    "pods",
    "restarting",
    "error",
    "budget",
    "database",
    "failover",
    "replica",
    "lag",
    "queue",
    "consumer",
    "cache",
    "hit",
    "ratio",
    "region",
    "load",
    "balancer",
    "health",
    "dns",
    "feature",
    "flag",
    "customers",
    "timeouts",
    "mitigation",
    "graphs",
    "recovering",
    "paging",
    "vendor",
    "ticket",
]


def _event(data: dict[str, Any]) -> EventBase:
    return parse_event(data)


def build(db: Path, incident_id: str, events: int, batch: int = 5000, seed: int = 7) -> float:
    """Append an incident of exactly ``events`` events to ``db``; returns seconds taken.

    The incident: a declaration, four people joining, notes of 40-300 bytes in varied kinds, and
    the four leaving at the end (so a hub that loads it has nobody shown online).
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    store = Store(db)
    state = IncidentState()
    pending: list[EventBase] = []
    seq = 0

    def add(data: dict[str, Any], actor: str, role: str) -> None:
        nonlocal seq, state
        seq += 1
        data.update(
            id=str(uuid.uuid4()),
            incident_id=incident_id,
            seq=seq,
            at=(T0 + timedelta(seconds=seq)).isoformat(),
            actor=actor,
            role=role,
        )
        event = _event(data)
        state = apply(state, event)
        pending.append(event)
        if len(pending) >= batch:
            store.append(pending, [state])
            pending.clear()

    declared = _event(
        {
            "type": "incident_declared",
            "id": str(uuid.uuid4()),
            "incident_id": incident_id,
            "title": f"Benchmark incident of {events}",
            "severity": "SEV2",
            "symptoms": "synthetic load",
            "drill": True,
        }
    )
    add(declared.hub_fill(HubSettings()).model_dump(mode="json"), "ana", "ic")
    for name, role in PEOPLE:
        add({"type": "participant_joined", "name": name, "seat": role}, name, role)
    notes = events - seq - len(PEOPLE)
    for k in range(max(0, notes)):
        name, role = PEOPLE[k % len(PEOPLE)]
        words = rng.randint(6, 45)
        text = f"[{k}] " + " ".join(rng.choice(_WORDS) for _ in range(words))
        add({"type": "note_added", "text": text[:300], "kind": rng.choice(KINDS)}, name, role)
    for name, role in PEOPLE:
        if seq < events:
            add({"type": "participant_left", "name": name}, name, role)
    if pending:
        store.append(pending, [state])
    store.close()
    return time.perf_counter() - started
