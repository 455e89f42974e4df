"""The folded state on the wire: its JSON form reads back to an equal state, its schema is the
one published in docs/, and its deadlines are the ones the hub's timers act on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import T0, make_event
from tests.scripted_incident import ScriptedRun, recorded_once
from warroom.core.fold import apply, replay
from warroom.core.roles import Role
from warroom.core.scorecard import Scorecard
from warroom.core.state import IncidentState
from warroom.core.wire_state import schema_text, state_from_json, state_json
from warroom.export.sources import DatabaseSource

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    return recorded_once(tmp_path_factory.mktemp("scripted"))


def through_the_wire(state: IncidentState) -> IncidentState:
    """What a console reads from a snapshot frame: JSON text, parsed, validated."""
    return state_from_json(json.loads(json.dumps(state_json(state))))


def test_every_state_of_an_incident_with_every_event_type_reads_back_equal(scripted):
    """The scripted incident records every event type (roles, board, decisions, lock, actions,
    handoff offers and their endings, comms, deliveries, join codes, drill scorecard): after
    each event, the state survives the JSON round trip unchanged."""
    source = DatabaseSource(scripted.db)
    try:
        events = list(source.events(scripted.incident_id))
    finally:
        source.close()
    state = IncidentState()
    for event in events:
        state = apply(state, event)
        assert through_the_wire(state) == state, f"differs after seq {event.seq} ({event.type})"
    # The maps keyed by enums, numbers and ids, and the scorecard, came back typed.
    back = through_the_wire(state)
    assert isinstance(back.drill_scorecard, Scorecard)
    assert all(isinstance(k, Role) for k in back.roles)
    assert back.board and all(isinstance(k, int) for k in back.board)
    assert back.ended_offers and back.actions and back.comms.updates and back.lock.grants
    assert back.settings == state.settings


def test_durations_travel_as_iso_8601():
    data = state_json(IncidentState())
    assert data["settings"]["lock_ttl"] == "PT10M"
    assert data["settings"]["ic_rotation"] == "PT3H"
    assert data["settings"]["policy"]["update_cadence"]["SEV1"] == "PT15M"


def test_the_published_schema_is_the_one_the_models_generate():
    published = (ROOT / "docs" / "state.schema.json").read_text(encoding="utf-8")
    assert published == schema_text(), "run: python3 tasks.py schema"


def test_the_schema_describes_what_a_console_shows():
    schema = json.loads(schema_text())
    fields = set(schema["properties"])
    for name in ("title", "severity", "phase", "settings", "roles", "participants", "lock",
                 "actions", "offers", "board", "decisions", "comms", "deadlines", "seq"):  # fmt: skip
        assert name in fields, name
    lock = schema["$defs"]["ProductionLock"]["properties"]
    assert {"holder", "token", "expires_at", "queue"} <= set(lock)
    offer = schema["$defs"]["HandoffOffer"]["properties"]
    assert {"briefing", "expires_at", "incoming", "outgoing"} <= set(offer)


def declared() -> list:
    return [
        make_event("incident_declared", 1, title="Checkout 500s", severity="SEV2"),
        make_event("participant_joined", 2, name="ana", seat="ic"),
        make_event(
            "participant_joined", 3, actor="bo", role="responder", name="bo", seat="responder"
        ),
    ]


def test_deadlines_follow_the_rules_the_timers_use():
    state = replay(declared())
    due = state.deadlines
    assert due.next_update_due == T0 + timedelta(minutes=10)  # first update after declaring
    assert due.escalation_due == T0 + timedelta(hours=4)  # SEV2's expected time to mitigate
    assert due.lock_expires_at is None and due.offers_expire == {}
    assert due.rotation_due == {Role.IC: T0 + timedelta(hours=3)}

    granted = apply(state, make_event("lock_requested", 4, actor="bo", role="responder"))
    assert granted.lock.holder == "bo"
    assert (
        granted.deadlines.lock_expires_at == granted.lock.expires_at == T0 + timedelta(minutes=10)
    )
    # Computed, never stored: on the wire, and ignored when read back.
    data = state_json(granted)
    assert data["deadlines"]["lock_expires_at"] == "2026-03-14T09:10:00Z"
    assert state_from_json(data) == granted
