"""The outbox on disk, file by file: what a console leaves behind, and what the next one takes."""

from __future__ import annotations

import json
import os
import stat
import uuid

import pytest

from warroom.client.outbox import OutboxSaveError, OutboxStore, outbox_key
from warroom.core.log import parse_event

HUB, INCIDENT, NAME = "ws://10.0.0.5:8765", "inc-checkout", "sam"


def note(text: str, incident: str = INCIDENT):
    return parse_event(
        {"type": "note_added", "id": str(uuid.uuid4()), "incident_id": incident, "text": text}
    )


def store(tmp_path, hub: str = HUB, incident: str = INCIDENT, name: str = NAME) -> OutboxStore:
    return OutboxStore(tmp_path / "outbox", hub, incident, name)


def files(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "outbox").iterdir())


def test_what_one_console_left_the_next_one_takes_with_the_same_ids(tmp_path):
    first = store(tmp_path)
    assert first.open().commands == []
    typed = [note("pool exhausted on db-3"), note("second"), note("third")]
    first.save(typed)
    first.close()  # quit and keep

    second = store(tmp_path)
    restored = second.open()
    assert [c.id for c in restored.commands] == [c.id for c in typed]
    assert [c.text for c in restored.commands] == ["pool exhausted on db-3", "second", "third"]
    assert restored.problems == []
    # Now only the second console's file holds them, once.
    assert [f for f in files(tmp_path) if f.endswith(".json")] == [second.path.name]
    second.save([])  # all acknowledged
    second.close()
    assert files(tmp_path) == []


def test_a_killed_console_never_closed_its_store_and_its_work_is_still_taken(tmp_path):
    first = store(tmp_path)
    first.open()
    first.save([note("typed before the kill")])
    # SIGKILL: no close(); its lock dies with its process. Simulate that by dropping the handle.
    first._lock.close()
    restored = store(tmp_path).open()
    assert [c.text for c in restored.commands] == ["typed before the kill"]


def test_a_console_still_running_keeps_its_own_work(tmp_path):
    running = store(tmp_path)
    running.open()
    running.save([note("mine")])
    other = store(tmp_path)
    assert other.open().commands == []  # the same person in a second terminal
    assert json.loads(running.path.read_text())["commands"][0]["text"] == "mine"


@pytest.mark.parametrize(
    "other",
    [
        {"hub": "ws://10.0.0.6:8765"},
        {"incident": "inc-other"},
        {"name": "sama"},
    ],
)
def test_another_hub_incident_or_person_is_a_different_outbox(tmp_path, other):
    first = store(tmp_path)
    first.open()
    first.save([note("for inc-checkout on 10.0.0.5, by sam")])
    first.close()
    assert store(tmp_path, **other).open().commands == []
    assert len(store(tmp_path).open().commands) == 1


def test_keys_are_distinct_and_safe_as_file_names():
    assert outbox_key(HUB, INCIDENT, "a/b") != outbox_key(HUB, INCIDENT, "a_b")
    assert "/" not in outbox_key(HUB, "../../etc", "..")
    assert outbox_key(HUB, INCIDENT, NAME) == outbox_key(HUB, INCIDENT, NAME)


def test_each_write_is_whole_private_and_leaves_no_temporary_file(tmp_path):
    s = store(tmp_path)
    s.open()
    for n in range(5):
        s.save([note(f"note {i}") for i in range(n + 1)])
        data = json.loads(s.path.read_text())
        assert [c["text"] for c in data["commands"]] == [f"note {i}" for i in range(n + 1)]
    assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o600
    assert not [f for f in files(tmp_path) if f.endswith(".tmp")]
    s.save([])
    assert not s.path.exists()


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": 1, "hub": "ws://10.0.0.5:8765", "incident": "inc-checkout", "name": "sam", "comm',
        b"\x00\x00\x00\x00",
        b'{"format": 99, "commands": []}',
        b'{"format": 1, "hub": "ws://10.0.0.5:8765", "incident": "inc-checkout", "name": "sam", '
        b'"commands": [{"type": "no_such_event", "id": "x"}]}',
        b"[]",
    ],
    ids=["half-written", "zeros", "other-format", "invalid-command", "not-an-object"],
)
def test_a_broken_file_is_set_aside_with_a_clear_message_and_nothing_is_sent(tmp_path, content):
    s = store(tmp_path)
    s.open()
    s.save([note("x")])
    s.path.write_bytes(content)
    s._lock.close()  # its console died

    restored = store(tmp_path).open()
    assert restored.commands == []
    (problem,) = restored.problems
    assert "Could not read the saved outbox" in problem and "set aside as" in problem
    assert "Traceback" not in problem
    aside = s.path.with_name(s.path.name + ".broken")
    assert aside.read_bytes() == content
    assert str(aside) in problem
    # Set aside once: the next console is not told again.
    assert store(tmp_path).open().problems == []


def test_a_file_that_cannot_be_written_is_an_outbox_error_not_a_crash(tmp_path):
    s = store(tmp_path)
    s.open()
    s.path.mkdir()  # something in the way of the rename
    with pytest.raises(OutboxSaveError, match="cannot write"):
        s.save([note("x")])


def test_a_directory_that_cannot_be_made_is_an_outbox_error(tmp_path):
    (tmp_path / "outbox").write_text("a file where the directory should be")
    with pytest.raises(OutboxSaveError, match="cannot use"):
        store(tmp_path).open()
