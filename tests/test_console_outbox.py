"""Pending work survives the console: on disk as soon as typed, sent once by the next console.

The hub is real and is really stopped; the crash test kills a real ``warroom join`` process
in a pty with SIGKILL and reads the hub's database afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from warroom.hub.app import HubConfig, HubServer

from tests.console_helpers import INCIDENT_ID, is_live, make_console, screen_text, seed_incident
from tests.helpers import T0, HubProcess, ManualClock, eventually, free_port
from warroom.client.outbox import OutboxStore
from warroom.client.sync import LinkStatus
from warroom.console.app import WarroomApp
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.join import JoinScreen
from warroom.console.screens.quit_prompt import QuitPrompt
from warroom.paths import outbox_dir

NOTES = ["pool exhausted on db-3", "rolled back checkout-api to 2024.11.3", "5xx back to 0.1%"]


class Hub:
    """A real hub on a fixed port that a test can stop and start again (same database)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.server: HubServer | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = HubServer(
            HubConfig(host="127.0.0.1", port=self.port, db=self.db, timer_interval=0),
            ManualClock(T0),
        )
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()


@contextlib.asynccontextmanager
async def a_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    hub = Hub(tmp_path / "hub.db")
    await hub.start()
    await seed_incident(hub.url)
    try:
        yield hub
    finally:
        with contextlib.suppress(Exception):
            await hub.stop()


def stored_texts(db: Path, incident: str = INCIDENT_ID) -> list[str]:
    """Every note text in the hub's database, in order, duplicates included."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT payload FROM events WHERE incident_id = ? AND type = 'note_added' ORDER BY seq",
            [incident],
        ).fetchall()
    return [json.loads(r[0])["text"] for r in rows]


def outbox_files() -> list[Path]:
    d = outbox_dir()
    return sorted(d.glob("*.json")) if d.exists() else []


def saved_texts() -> list[str]:
    return [c["text"] for f in outbox_files() for c in json.loads(f.read_text())["commands"]]


async def type_notes_while_the_hub_is_down(app, pilot, hub: Hub) -> None:
    await eventually(lambda: is_live(app), timeout=10)
    await hub.stop()
    await eventually(lambda: app.client.status != LinkStatus.LIVE)
    for text in NOTES:
        await pilot.press("n", *text, "enter")
    await pilot.pause()
    assert len(app.client.outbox) == 3
    # On disk the moment they were typed, before anything reached a hub.
    assert saved_texts() == NOTES


@contextlib.asynccontextmanager
async def sam_console(hub: Hub, **kwargs: Any) -> AsyncIterator[tuple[WarroomApp, Pilot[Any]]]:
    """sam's console (the scribe) on ``hub``, running, with its pilot."""
    app = make_console(hub.url, name="sam", role="scribe", **kwargs)
    async with app.run_test(size=(100, 30)) as pilot:
        yield app, pilot


def running(app) -> bool:
    return app.is_running and not app._exit


# --- the quit prompt ----------------------------------------------------------------------------
async def test_ctrl_q_with_nothing_pending_quits_at_once(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await eventually(lambda: is_live(app), timeout=10)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not running(app)
        assert outbox_files() == []


async def test_quit_and_keep_then_the_next_console_sends_each_item_once(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await type_notes_while_the_hub_is_down(app, pilot, hub)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert isinstance(app.screen, QuitPrompt)
            text = screen_text(app)
            assert "Quit with 3 items not yet on the hub?" in text
            assert "wait for the link, then quit" in text
            assert "quit and keep them: your next warroom join sends them" in text
            assert "discard them and quit" in text
            await pilot.press("k")
            await pilot.pause()
            assert not running(app)
            # Said in the terminal once the console is gone: where they are, when they go.
            said = " ".join(str(r) for r in app._exit_renderables)
            assert "3 items not yet on the hub are kept in" in said
            assert str(outbox_dir()) in said and f"next time sam joins {INCIDENT_ID}" in said
        assert saved_texts() == NOTES  # kept for next time

        await hub.start()
        async with sam_console(hub) as (again, pilot):
            await eventually(lambda: is_live(again) and not again.client.outbox, timeout=10)
            assert any("had not reached the hub" in n.message for n in again._notifications)
            assert [e.text for e in again.client.log if e.type == "note_added"] == NOTES
            await eventually(lambda: outbox_files() == [])
        await hub.stop()
        assert stored_texts(hub.db) == NOTES, "each kept item is stored exactly once"


async def test_wait_for_the_link_then_quit_by_itself(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await type_notes_while_the_hub_is_down(app, pilot, hub)
            await pilot.press("ctrl+q", "w")
            await pilot.pause()
            assert isinstance(app.screen, QuitPrompt) and running(app)
            assert "Waiting for the hub" in screen_text(app)
            await hub.start()
            await eventually(lambda: not running(app), timeout=10)
        assert outbox_files() == []
        await hub.stop()
        assert stored_texts(hub.db) == NOTES


async def test_discard_takes_a_second_d_and_then_nothing_is_sent(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await type_notes_while_the_hub_is_down(app, pilot, hub)
            await pilot.press("ctrl+q", "d")
            await pilot.pause()
            assert running(app)
            assert "Discarding loses 3 items for good" in screen_text(app)
            await pilot.press("d")
            await pilot.pause()
            assert not running(app)
        assert outbox_files() == []
        await hub.start()
        async with sam_console(hub) as (again, _):
            await eventually(lambda: is_live(again), timeout=10)
            assert not again.client.outbox
        await hub.stop()
        assert stored_texts(hub.db) == []


async def test_escape_goes_back_to_the_console_with_everything_still_pending(tmp_path):
    async with a_hub(tmp_path) as hub, sam_console(hub) as (app, pilot):
        await type_notes_while_the_hub_is_down(app, pilot, hub)
        await pilot.press("ctrl+q", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConsoleScreen) and running(app)
        assert len(app.client.outbox) == 3
        await hub.start()
        await eventually(lambda: is_live(app) and not app.client.outbox, timeout=10)
        await eventually(lambda: outbox_files() == [])
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not running(app)


async def test_without_a_disk_outbox_the_prompt_offers_no_keep(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub, outbox_dir=None) as (app, pilot):
            await eventually(lambda: is_live(app), timeout=10)
            await hub.stop()
            await eventually(lambda: app.client.status != LinkStatus.LIVE)
            await pilot.press("n", *"only in memory", "enter", "ctrl+q")
            await pilot.pause()
            assert "keep them" not in screen_text(app)
            await pilot.press("k", "ctrl+q")
            await pilot.pause()
            assert running(app), "nothing to keep them in: only w, d or esc"
        assert outbox_files() == []


async def test_leaving_for_the_list_keeps_them_and_following_again_sends_them(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await type_notes_while_the_hub_is_down(app, pilot, hub)
            await pilot.press("ctrl+l")
            await eventually(lambda: isinstance(app.screen, JoinScreen))
            assert saved_texts() == NOTES
            await hub.start()
            await pilot.press("r")
            await eventually(lambda: bool(app.screen.incidents), timeout=10)
            await pilot.press("enter")
            await eventually(lambda: is_live(app) and not app.client.outbox, timeout=10)
            await eventually(lambda: outbox_files() == [])
        await hub.stop()
        assert stored_texts(hub.db) == NOTES


async def test_ctrl_q_twice_quits_and_keeps(tmp_path):
    async with a_hub(tmp_path) as hub:
        async with sam_console(hub) as (app, pilot):
            await type_notes_while_the_hub_is_down(app, pilot, hub)
            await pilot.press("ctrl+q", "ctrl+q")
            await pilot.pause()
            assert not running(app)
        assert saved_texts() == NOTES


async def test_a_broken_outbox_file_is_set_aside_with_a_message_and_the_console_works(tmp_path):
    async with a_hub(tmp_path) as hub:
        stem = OutboxStore(outbox_dir(), hub.url, INCIDENT_ID, "sam").stem
        outbox_dir().mkdir(parents=True)
        broken = outbox_dir() / f"{stem}.0badf00d.json"
        broken.write_bytes(b'{"format": 1, "hub": "ws://')  # cut off mid-write by a full disk
        async with sam_console(hub) as (app, pilot):
            await eventually(lambda: is_live(app), timeout=10)
            [toast] = [n for n in app._notifications if n.title == "Outbox"]
            assert "Could not read the saved outbox" in toast.message
            assert "set aside as" in toast.message and "Traceback" not in toast.message
            assert not broken.exists() and broken.with_name(broken.name + ".broken").exists()
            await pilot.press("n", *"still works", "enter")
            await eventually(lambda: not app.client.outbox)
        await hub.stop()
        assert stored_texts(hub.db) == ["still works"]


# --- a console killed with SIGKILL --------------------------------------------------------------
class Terminal:
    """``warroom join`` in a pseudo-terminal of 80x24, as a person would run it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "warroom", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        self._reader.join(2)


async def wait_until(predicate, timeout: float, what: str, term: Terminal) -> None:
    try:
        await eventually(predicate, timeout=timeout, interval=0.1)
    except AssertionError:
        tail = term.output[-3000:].decode(errors="replace")
        raise AssertionError(f"{what}; console output ends with: {tail!r}") from None


def console_args(tmp_path: Path, url: str) -> tuple[list[str], dict[str, str]]:
    """How the tests below start ``warroom join`` as sam, the scribe, in a terminal of its own."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"}
    return ["join", url, "--name", "sam", "--role", "scribe", "--incident", INCIDENT_ID], env


async def next_console_sends_the_outbox(
    args: list[str], env: dict[str, str], terms: list[Terminal], hub: HubProcess
) -> Terminal:
    """Start one more console: it sends what the outbox holds, then quits at once (ctrl+q with
    nothing pending); the hub is stopped cleanly so its database can be read."""
    last = Terminal(args, env)
    terms.append(last)
    await wait_until(lambda: outbox_files() == [], 30, "the outbox was never sent", last)
    last.type("\x11")
    assert await asyncio.to_thread(last.proc.wait, 15) == 0
    assert await hub.terminate() == 0
    return last


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
async def test_a_console_killed_with_sigkill_loses_nothing_and_stores_each_item_once(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    args, env = console_args(tmp_path, hub.url)
    terms: list[Terminal] = []
    try:
        await seed_incident(hub.url)
        first = Terminal(args, env)
        terms.append(first)
        await wait_until(lambda: b"live" in first.output, 30, "the console never went live", first)
        await asyncio.sleep(0.5)
        hub.kill()  # the hub goes away (SIGKILL)
        for text in NOTES:
            first.type("n")
            await asyncio.sleep(0.3)
            first.type(text + "\r")
            await asyncio.sleep(0.3)
        await wait_until(lambda: saved_texts() == NOTES, 15, "the notes were not on disk", first)

        os.killpg(first.proc.pid, signal.SIGKILL)  # no chance to save or say anything
        first.proc.wait(10)
        assert saved_texts() == NOTES

        hub.start()
        second = await next_console_sends_the_outbox(args, env, terms, hub)
        assert stored_texts(db) == NOTES, "every item typed is stored, exactly once"
        assert b"Traceback" not in second.output
    finally:
        for term in terms:
            term.close()
        hub.kill()


def texts_anywhere(db: Path) -> list[str]:
    """What the outbox files and the hub's database hold now (a file may be replaced while
    it is read: that read counts as nothing yet)."""
    try:
        return saved_texts() + stored_texts(db)
    except (OSError, ValueError, sqlite3.Error):
        return []


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
async def test_a_console_killed_right_after_enter_sends_the_line_exactly_once(tmp_path):
    """The hub is up and the console live: Enter, and SIGKILL the moment the line is anywhere
    (the outbox file, or already the hub). The outbox is written off the event loop and the
    line goes to the hub only once the file holds it (issue 24), so whenever the kill lands,
    the next console sends what the file still holds and the hub stores each line once."""
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    args, env = console_args(tmp_path, hub.url)
    terms: list[Terminal] = []
    try:
        await seed_incident(hub.url)
        for text in NOTES:
            term = Terminal(args, env)
            terms.append(term)
            await wait_until(lambda: b"live" in term.output, 30, "never went live", term)  # noqa: B023
            await asyncio.sleep(0.5)
            term.type("n")
            await asyncio.sleep(0.3)
            term.type(text + "\r")
            # As soon as the line is on disk or stored: poll often, kill at once.
            await eventually(lambda: text in texts_anywhere(db), timeout=15, interval=0.002)  # noqa: B023
            os.killpg(term.proc.pid, signal.SIGKILL)
            term.proc.wait(10)
        await next_console_sends_the_outbox(args, env, terms, hub)
        assert stored_texts(db) == NOTES, "each line typed is stored, exactly once, in order"
        assert not any(b"Traceback" in t.output for t in terms)
    finally:
        for term in terms:
            term.close()
        hub.kill()


def test_the_outbox_lives_in_the_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert outbox_dir() == tmp_path / "state" / "warroom" / "outbox"
    app = make_console("ws://127.0.0.1:1", name="sam", role="scribe")
    assert app.outbox_dir == outbox_dir()
