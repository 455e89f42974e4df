"""Commands are instances of the core's event classes, from the console to the hub.

What the hub stamps is named once (``STAMPED_FIELDS``); outside the core and the hub, code tells
events apart by class, never by their type string.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from warroom.client.lobby import declare
from warroom.core.events import ENVELOPE_FIELDS, EVENT_TYPES, STAMPED_FIELDS
from warroom.core.incident import IncidentDeclared, NoteAdded
from warroom.core.log import EventError, draft, parse_event
from warroom.core.settings import HubSettings

ROOT = Path(__file__).resolve().parents[1]


def test_a_command_is_its_event_class_with_a_fresh_id_and_no_stamp():
    one, two = NoteAdded(text="db failover started"), NoteAdded(text="db failover started")
    assert one.id != two.id, "each command built is its own idempotency key"
    body = one.command_body()
    assert body["type"] == "note_added" and body["text"] == "db failover started"
    assert not STAMPED_FIELDS & body.keys()
    assert parse_event(body) == one  # what goes on the wire is the same command


def test_no_command_body_carries_what_the_hub_stamps_or_fills():
    for cls in EVENT_TYPES.values():
        assert set(cls.model_fields) >= STAMPED_FIELDS, cls.__name__
        assert STAMPED_FIELDS <= ENVELOPE_FIELDS
    declared = IncidentDeclared(title="checkout down", severity="SEV2", settings=HubSettings())
    assert "settings" not in declared.command_body()  # the hub fills its own settings


def test_a_bad_payload_is_refused_in_words_before_it_is_sent():
    with pytest.raises(EventError, match="kind"):
        draft(NoteAdded, text="x", kind="gossip")


async def test_declaring_a_bad_incident_fails_before_the_network():
    # Nothing listens on this port: the declaration must fail before trying to connect.
    with pytest.raises(EventError):
        await declare("ws://127.0.0.1:9", "ana", severity="SEV9", title="checkout down")


#: Dispatch on an event's type string (or probing its fields by name) instead of its class.
STRING_DISPATCH = re.compile(
    r"\.type\s*(==|!=|in\b|not in\b)|\btype in \(|getattr\((ev|event|e|c|command), \""
)
#: The hub-stamped fields written out as a literal list instead of the core's constant.
STAMPED_LITERAL = re.compile(r"[{(\[]\s*\"seq\", \"at\", \"actor\", \"role\"")


def _sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


def test_outside_the_core_events_are_told_apart_by_class():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources("warroom/console", "warroom/export", "warroom/drill", "warroom/client")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if STRING_DISPATCH.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_stamped_fields_are_named_once():
    found = [
        str(path.relative_to(ROOT))
        for path in _sources("warroom", "server", "tests")
        if path.name != "test_commands.py" and STAMPED_LITERAL.search(path.read_text())
    ]
    assert found == ["warroom/core/events.py"], found
