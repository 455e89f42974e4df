"""Support for the fuzz tests: a long-lived hub on its own loop, strategies, and invariants.

Hypothesis drives plain (sync) test functions; each example runs its scenario on one event loop
that the real hub also lives on, so one hub takes every example of a test, as a hub in
production takes every console.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import string
import uuid
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from warroom.hub.app import HubConfig, HubServer
from warroom.hub.hub import HubLimits
from warroom.hub.storage import Store

from tests.helpers import T0
from warroom.core.clock import ManualClock
from warroom.core.events import ENVELOPE_FIELDS, EVENT_TYPES
from warroom.core.fold import replay
from warroom.core.state import IncidentState

#: Set WARROOM_LONG_TESTS=1 for the long runs (many more examples per test).
LONG = os.environ.get("WARROOM_LONG_TESTS") == "1"
#: Figures of every fuzz run in this session (printed to a file when WARROOM_FUZZ_REPORT is set).
FIGURES: Counter[str] = Counter()

ACTORS = {"ana": "ic", "bo": "scribe", "cy": "responder", "ob": "observer"}


class LiveHub:
    """A real hub on 127.0.0.1 whose event loop runs only while an example runs."""

    def __init__(self, db: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(T0)
        self.server = HubServer(
            HubConfig(
                host="127.0.0.1",
                port=0,
                db=db,
                timer_interval=0,
                limits=HubLimits(rate=0, credential_rate=0),
            ),
            clock=self.clock,
        )
        self.db = db
        self.loop.run_until_complete(self.server.start())
        self._reader = sqlite3.connect(str(db))

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def hub(self):  # noqa: ANN201 - the Hub
        return self.server.hub

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        """Run one example on the hub's loop, then let the hub finish what is in flight."""
        result = self.loop.run_until_complete(asyncio.wait_for(coro, timeout))
        self.loop.run_until_complete(asyncio.wait_for(self.settle(), 10))
        return result

    def stored(self) -> int:
        return self._reader.execute("SELECT count(*) FROM events").fetchone()[0]

    async def settle(self, connections: bool = True) -> None:
        """Wait until no write is queued or half done (stored but not yet served).

        A closing connection records its departure a moment after it leaves ``hub.conns``, so
        the hub counts as settled only once that holds for several polls in a row.
        """
        quiet = 0
        while quiet < 4:
            busy = (
                (connections and self.hub.conns)
                or not self.hub.queue.empty()
                or self.stored() != sum(r.head for r in self.hub.rooms.values())
            )
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(0.005)

    def close(self) -> None:
        self._reader.close()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()


def state_hash(state: IncidentState) -> str:
    return hashlib.sha256(state.model_dump_json().encode()).hexdigest()


def hub_hash(hub: Any) -> str:
    """One hash of every incident's state on the hub."""
    joined = "".join(f"{i}:{state_hash(r.state)}" for i, r in sorted(hub.rooms.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


async def check_store_folds_to_served_state(live: LiveHub, incident_ids: set[str]) -> None:
    """The stored log of each incident folds to exactly the state the hub serves."""
    await live.settle(connections=False)
    store = Store(live.db)
    try:
        for incident_id in incident_ids:
            room = live.hub.rooms[incident_id]
            events = list(store.events(incident_id))
            for _ in range(100):
                # A connection the example closed records its departure a moment later (stored
                # first, then served: the hub's order); on a loaded machine that can land after
                # the settle above. Settle again until the write in flight is served too.
                if len(events) == room.head:
                    break
                await live.settle(connections=False)
                events = list(store.events(incident_id))
            assert [e.seq for e in events] == list(range(1, room.head + 1)), (
                incident_id,
                [(e.seq, e.type, e.actor) for e in events],
                (room.base, len(room.frames)),
            )
            assert replay(events) == room.state, f"stored log of {incident_id} != served state"
    finally:
        store.db.conn.close()


# --- strategies ---------------------------------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
names = st.sampled_from(list(ACTORS)) | st.text(min_size=0, max_size=70)
small_ints = st.integers(min_value=0, max_value=12)
hexdigits = "0123456789abcdef"


def _string(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    fmt = schema.get("format")
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "date-time":
        return st.integers(-7200, 7200).map(lambda s: (T0 + timedelta(seconds=s)).isoformat())
    if fmt == "duration":
        return st.sampled_from(["PT5M", "PT1H", "P1D", "PT0S", "-PT1M"])
    if name == "code_id":
        return st.text(hexdigits, min_size=8, max_size=8)
    if name == "digest":
        return st.text(hexdigits, min_size=64, max_size=64)
    if name in {
        "holder",
        "owner",
        "name",
        "to",
        "outgoing",
        "incoming",
        "previous",
        "previous_owner",
        "who",
    }:
        return names
    limit = schema.get("maxLength", 200)
    text = st.text(string.ascii_letters + " .", min_size=1, max_size=min(limit, 60))
    return text | st.text(max_size=min(limit + 5, 300)) | st.just("x" * (limit + 1))


def from_schema(
    schema: dict[str, Any], defs: dict[str, Any], name: str = "", depth: int = 0
) -> st.SearchStrategy[Any]:
    """Values for a JSON-schema node, biased towards what the rules could accept."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[1]], defs, name, depth)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs, name, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        return _string(name, schema)
    if kind == "integer":
        return small_ints | st.integers(-5, 10**6)
    if kind == "number":
        return st.floats(-10, 10**5, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs, name, depth + 1)
        return st.lists(items, max_size=2 if depth else 3)
    if kind == "object" or "properties" in schema:
        if depth > 2:
            return st.just({})
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v, defs, k, depth + 1) for k, v in props.items() if k in required},
            optional={
                k: from_schema(v, defs, k, depth + 1) for k, v in props.items() if k not in required
            },
        )
    return any_json


@st.composite
def commands(draw: st.DrawFn, incident_id: str) -> dict[str, Any]:
    """A command as a console (or an attacker) might send it: mostly well-formed, often not."""
    tag = draw(st.sampled_from(sorted(EVENT_TYPES)))
    schema = EVENT_TYPES[tag].model_json_schema()
    defs = schema.get("$defs", {})
    props = {k: v for k, v in schema["properties"].items() if k not in ENVELOPE_FIELDS}
    required = set(schema.get("required", [])) - ENVELOPE_FIELDS
    body: dict[str, Any] = {"type": tag, "id": str(uuid.uuid4()), "incident_id": incident_id}
    for key, sub in props.items():
        if key in required or draw(st.booleans()):
            body[key] = draw(from_schema(sub, defs, key))
    mutation = draw(
        st.sampled_from(["none"] * 6 + ["drop", "extra", "retype", "forge", "incident"])
    )
    if mutation == "drop" and len(body) > 3:
        body.pop(draw(st.sampled_from(sorted(set(body) - {"type"}))))
    elif mutation == "extra":
        body[draw(st.text(max_size=10))] = draw(any_json)
    elif mutation == "retype" and props:
        body[draw(st.sampled_from(sorted(props)))] = draw(any_json)
    elif mutation == "forge":
        body.update(actor="ana", role="ic", seq=draw(small_ints), at=T0.isoformat())
    elif mutation == "incident":
        body["incident_id"] = draw(st.text(max_size=50) | st.just("inc-nope"))
    return body
