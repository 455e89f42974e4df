"""docs/PROTOCOL.md says what the hub does: its session is replayed against a real hub.

The ```session blocks of the document are one conversation with a hub, frame by frame:
``NAME > {json}`` is sent on connection NAME (opened on first use), ``NAME < {json}`` must match
the next frame NAME receives. In expected frames ``"<uuid>"`` matches any UUID, ``"<time>"`` any
ISO 8601 time, ``"<any>"`` any value, ``"<$x>"`` binds a value the first time and must equal it
after (and is substituted in frames sent), and a ``"...": "..."`` member allows other members.
Within a run of expected lines for one connection an ``ack`` may come before or after the
frames next to it (the document says so). The replay fails at the first frame that differs,
naming the document's line.

The document also lists every error code the hub can send and every event type: both lists
are checked against the code, so a new code or event cannot go undocumented.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from warroom.hub.hub import HubLimits
from websockets.asyncio.client import connect

from tests.helpers import T0, running_hub
from warroom.core.clock import ManualClock
from warroom.core.events import EVENT_TYPES, REASON_REQUIRED
from warroom.core.log import parse_event  # noqa: F401  (registers every event type)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PROTOCOL.md"
UNLIMITED = HubLimits(rate=0, credential_rate=0)


@dataclass(frozen=True)
class Line:
    number: int  # in the document
    conn: str
    sends: bool
    frame: Any


_LINE = re.compile(r"^(?P<conn>[A-Za-z][\w-]*) (?P<dir>[<>]) (?P<json>\{.*\})$")


def session(text: str) -> list[Line]:
    """Every line of the document's ```session blocks, in order."""
    lines: list[Line] = []
    inside = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == "```session":
            inside = True
            continue
        if inside and raw.strip() == "```":
            inside = False
            continue
        if not inside or not raw.strip():
            continue
        found = _LINE.match(raw.strip())
        assert found, f"PROTOCOL.md line {number}: not 'NAME > {{json}}' or 'NAME < {{json}}'"
        try:
            frame = json.loads(found["json"])
        except ValueError as exc:
            raise AssertionError(f"PROTOCOL.md line {number}: not JSON: {exc}") from exc
        lines.append(Line(number, found["conn"], found["dir"] == ">", frame))
    assert not inside, "PROTOCOL.md: a ```session block is not closed"
    return lines


class Mismatch(AssertionError):
    pass


#: Placeholders that stand for any value of a kind: what it is called, and what reads one.
READERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "uuid": ("a UUID", uuid.UUID),
    "time": ("a time", datetime.fromisoformat),
}


def match(expected: Any, actual: Any, bound: dict[str, Any], where: str = "") -> None:
    """Raise :class:`Mismatch` naming the first place ``actual`` differs from ``expected``."""
    if isinstance(expected, str) and expected.startswith("<") and expected.endswith(">"):
        tag = expected[1:-1]
        if tag == "any":
            return
        if tag in READERS:
            name, read = READERS[tag]
            try:
                read(str(actual))
            except ValueError:
                raise Mismatch(f"{where}: {actual!r} is not {name}") from None
            return
        if tag.startswith("$"):
            if tag in bound and bound[tag] != actual:
                raise Mismatch(f"{where}: {actual!r}, but {tag} was {bound[tag]!r}")
            bound[tag] = actual
            return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise Mismatch(f"{where}: expected an object, got {actual!r}")
        open_ended = expected.get("...") == "..."
        keys = [k for k in expected if not (k == "..." and open_ended)]
        missing = [k for k in keys if k not in actual]
        if missing:
            raise Mismatch(f"{where}: missing {missing} in {sorted(actual)}")
        extra = sorted(set(actual) - set(keys))
        if extra and not open_ended:
            raise Mismatch(f"{where}: fields the document does not show: {extra}")
        for key in keys:
            match(expected[key], actual[key], bound, f"{where}.{key}")
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise Mismatch(f"{where}: expected {len(expected)} items, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            match(e, a, bound, f"{where}[{i}]")
        return
    if expected != actual or type(expected) is not type(actual):
        raise Mismatch(f"{where}: expected {expected!r}, got {actual!r}")


def substitute(frame: Any, bound: dict[str, Any]) -> Any:
    if isinstance(frame, str) and frame.startswith("<$") and frame.endswith(">"):
        return bound[frame[1:-1]]
    if isinstance(frame, dict):
        return {k: substitute(v, bound) for k, v in frame.items()}
    if isinstance(frame, list):
        return [substitute(v, bound) for v in frame]
    return frame


def runs(lines: list[Line]) -> list[list[Line]]:
    """The lines cut into runs: one sent line, or consecutive expected lines of one connection."""
    out: list[list[Line]] = []
    for line in lines:
        last = out[-1] if out else None
        if last is not None and not line.sends and not last[0].sends and last[0].conn == line.conn:
            last.append(line)
        else:
            out.append([line])
    return out


async def replay(url: str, lines: list[Line]) -> int:
    """Play ``lines`` against the hub at ``url``; how many frames were checked."""
    conns: dict[str, Any] = {}
    bound: dict[str, Any] = {}
    checked = 0
    try:
        for run in runs(lines):
            first = run[0]
            if first.conn not in conns:
                conns[first.conn] = await connect(url)
            ws = conns[first.conn]
            if first.sends:
                await ws.send(json.dumps(substitute(first.frame, bound)))
                continue
            received = []
            for line in run:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 5)
                except TimeoutError:
                    raise Mismatch(
                        f"PROTOCOL.md line {line.number}: {line.conn} received nothing; "
                        f"expected {json.dumps(line.frame)[:200]}"
                    ) from None
                received.append(json.loads(raw))
            _match_run(run, received, bound)
            checked += len(run)
    finally:
        for ws in conns.values():
            await ws.close()
    return checked


def _match_run(run: list[Line], received: list[dict[str, Any]], bound: dict[str, Any]) -> None:
    """Frames in the documented order, except that each ``ack`` may be anywhere in the run."""
    acks = [line for line in run if line.frame.get("op") == "ack"]
    others = [line for line in run if line.frame.get("op") != "ack"]
    got_acks = [frame for frame in received if frame.get("op") == "ack"]
    got_others = [frame for frame in received if frame.get("op") != "ack"]
    for lines, frames in ((others, got_others), (acks, got_acks)):
        if len(lines) != len(frames):
            raise Mismatch(
                f"PROTOCOL.md line {run[0].number}: {run[0].conn} expected {len(run)} frames "
                f"as documented, got {[f.get('op') for f in received]}: {received}"
            )
        for line, frame in zip(lines, frames, strict=True):
            try:
                match(line.frame, frame, bound, "frame")
            except Mismatch as exc:
                raise Mismatch(
                    f"PROTOCOL.md line {line.number} ({line.conn} <): {exc}\n"
                    f"  documented: {json.dumps(line.frame)[:300]}\n"
                    f"  received:   {json.dumps(frame)[:300]}"
                ) from None


# --- the session ---------------------------------------------------------------------------------
async def test_the_documented_session_replays_frame_by_frame_against_a_real_hub(tmp_path):
    lines = session(DOC.read_text())
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0), limits=UNLIMITED) as hub:
        checked = await replay(hub.url, lines)
    assert checked == len([line for line in lines if not line.sends])


def test_the_session_is_there_and_every_line_reads():
    lines = session(DOC.read_text())
    assert len(lines) >= 40
    assert {line.conn for line in lines} == {"ana", "bo", "bo-laptop"}
    ops = {line.frame["op"] for line in lines}
    for op in ("hello", "welcome", "join", "joined", "snapshot", "event", "synced", "command",
               "ack", "error", "history", "history_page", "ping", "pong"):  # fmt: skip
        assert op in ops, f"the session never shows '{op}'"
    locks = [
        line.frame["lock"] for line in lines if "lock" in line.frame and line.frame["op"] == "event"
    ]
    assert {lock["token"] for lock in locks} == {1, 2}


def test_a_frame_that_differs_from_the_document_fails_the_replay():
    bound: dict[str, Any] = {}
    documented = {"op": "ack", "id": "<$c>", "seq": 4, "duplicate": False}
    match(documented, {"op": "ack", "id": "x", "seq": 4, "duplicate": False}, bound)
    for wrong in (
        {"op": "ack", "id": "x", "seq": 5, "duplicate": False},  # another value
        {"op": "ack", "id": "y", "seq": 4, "duplicate": False},  # a bound value changed
        {"op": "ack", "id": "x", "seq": 4},  # a field missing
        {"op": "ack", "id": "x", "seq": 4, "duplicate": False, "more": 1},  # an extra field
        {"op": "ack", "id": "x", "seq": 4, "duplicate": 0},  # 0 is not false
    ):
        with pytest.raises(Mismatch):
            match(documented, wrong, bound)
    match({"a": 1, "...": "..."}, {"a": 1, "b": 2}, {})
    with pytest.raises(Mismatch):
        match({"at": "<time>"}, {"at": "yesterday"}, {})
    with pytest.raises(Mismatch):
        match({"id": "<uuid>"}, {"id": "42"}, {})


async def test_a_session_the_hub_does_not_follow_fails_the_replay(tmp_path):
    lines = session(
        "```session\n"
        'x > {"op": "ping"}\n'
        'x < {"op": "welcome", "hub": "<any>", "protocol": 2, "name": "x", "role": "ic"}\n'
        "```\n"
    )
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0), limits=UNLIMITED) as hub:
        with pytest.raises(Mismatch, match="line 3"):
            await replay(hub.url, lines)


# --- what the document lists -----------------------------------------------------------------------
_CODE = re.compile(r'(?:refuse\(\s*|code\s*=\s*|ProtocolError\(\s*)"([a-z_]+)"')


def codes_in_the_hub() -> set[str]:
    """Every error code the hub and the core's rules can send, read from their source."""
    found = {REASON_REQUIRED}
    for folder in ("server", "warroom/core"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(_CODE.findall(path.read_text()))
    return found


def documented_codes() -> set[str]:
    text = DOC.read_text()
    table = text[text.index("## Error codes") : text.index("## Events")]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE))


def test_every_error_code_the_hub_can_send_is_in_the_error_table():
    codes = codes_in_the_hub()
    assert {"stale_token", "reason_required", "unanswered", "unchanged"} <= codes  # the scan works
    missing = sorted(codes - documented_codes())
    assert not missing, f"error codes the hub sends that docs/PROTOCOL.md does not list: {missing}"


def test_every_event_type_is_documented_with_its_payload():
    text = DOC.read_text()
    rows = set(re.findall(r"^\| `([a-z_]+)` \| ", text, re.MULTILINE))
    missing = sorted(set(EVENT_TYPES) - rows)
    assert not missing, f"event types docs/PROTOCOL.md does not describe: {missing}"
    assert "drill_scored" in EVENT_TYPES
