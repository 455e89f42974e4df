"""``warroom join``'s first second: the joining screen, keys typed behind it, what loads before it.

Issue 24: nothing slow before the first frame. The console draws a joining screen with nothing
but Textual loaded, builds itself behind it, and keeps every key typed meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import warroom.console.app as app_module
from tests.console_helpers import INCIDENT_ID, is_live, make_console, screen_text, seed_incident
from tests.helpers import eventually, running_hub
from warroom.console.app import WarroomApp
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.joining import JoiningScreen

#: Modules the console needs once it is built, and ``warroom join`` must not load before its
#: first frame: the incident's models, the protocol, the client and its transport.
HEAVY = (
    "warroom.core.state",
    "warroom.core.events",
    "warroom.core.log",
    "warroom.core.protocol",
    "warroom.client.sync",
    "warroom.console.screens.console",
    "websockets",
    "httpx",
    "sqlite_utils",
)


def notes(server: Any) -> list[str]:
    return [e.text for e in server.store.events(INCIDENT_ID) if e.type == "note_added"]


async def test_the_first_frame_says_where_it_joins_and_keys_typed_meanwhile_are_kept(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        await seed_incident(server.url)
        app = make_console(server.url, name="sam", role="scribe")
        async with app.run_test(size=(100, 30)) as pilot:
            # The first frame is the joining screen: where, as whom.
            assert isinstance(app.screen, JoiningScreen)
            text = screen_text(app)
            assert f"Joining {INCIDENT_ID} on ws://hub.test:8765" in text
            assert "as sam (scribe)" in text
            # A fast typist does not wait for the console: the note is typed behind the joining
            # screen, and reaches the entry line whole once the timeline has focus.
            await pilot.press("n", *"typed before the console", "enter")
            await eventually(lambda: is_live(app) and not app.client.outbox, timeout=10)
            assert isinstance(app.screen, ConsoleScreen)
            await eventually(lambda: notes(server) == ["typed before the console"])


async def test_a_key_typed_after_the_console_is_up_is_not_held(tmp_path):
    async with running_hub(tmp_path / "hub.db") as server:
        await seed_incident(server.url)
        app = make_console(server.url, name="sam", role="scribe")
        async with app.run_test(size=(100, 30)) as pilot:
            await eventually(lambda: is_live(app) and isinstance(app.screen, ConsoleScreen))
            await eventually(lambda: not app._holding_typing)
            await pilot.press("n", *"after", "enter")
            await eventually(lambda: notes(server) == ["after"])


async def test_quitting_while_the_console_screen_is_being_built_exits_cleanly(tmp_path):
    """A person who joined the wrong incident quits at once: the console screen is torn down
    half-built, and the terminal gets a clean exit, not a traceback. (Textual sends ``Mount`` to
    a widget whose children it skipped composing because it was being removed; the status bar's
    and the tabs' mount handlers then looked for children that were never made.)"""
    async with running_hub(tmp_path / "hub.db") as server:
        await seed_incident(server.url)
        app = make_console(server.url, name="sam", role="scribe")

        def being_built() -> bool:
            return isinstance(app.screen, ConsoleScreen) and not app.screen.is_mounted

        async with app.run_test(size=(100, 30)):
            for _ in range(20_000):  # no pause: the moment lasts a few event-loop turns
                if being_built():
                    break
                await asyncio.sleep(0.0002)
            assert being_built(), "the console screen was never seen half-built"
        # run_test re-raises what the app raised; a terminal would have shown it on exit
        assert app._exception is None and app.return_code in (0, None)
        assert not app._exit_renderables


def test_join_loads_no_incident_model_before_its_first_frame():
    """What ``warroom join`` imports up to the joining screen: the parser of every command, the
    launcher, the app and the joining screen. None of the heavy modules may be among them."""
    script = (
        "import json, sys\n"
        "from warroom.cli import build_parser\n"
        "build_parser()\n"
        "import warroom.console.launch, warroom.console.app, warroom.console.screens.joining\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    assert json.loads(out.stdout) == []


class JoiningOnly(WarroomApp):
    """The console that never gets past its joining screen, to pin how that screen looks."""

    CSS_PATH = Path(app_module.__file__).with_name("app.tcss")

    def join_incident(self, incident_id: str) -> None:
        pass


def joining_only() -> JoiningOnly:
    return JoiningOnly(url="ws://127.0.0.1:9", name="ana", role="ic", incident="inc-checkout",
                       theme="warroom-dark", blink=False, hub_label="wss://hub.example:8765",
                       outbox_dir=None)  # fmt: skip


def test_snapshot_the_joining_screen_small(snap_compare):
    assert snap_compare(joining_only(), terminal_size=(80, 24))


def test_snapshot_the_joining_screen_wide(snap_compare):
    assert snap_compare(joining_only(), terminal_size=(140, 45))


def test_only_errors_raised_inside_textual_count_as_teardown():
    """What a quit may ignore: an error Textual raises (a query on a widget never composed),
    never one of ours (the last outbox write failing must still be reported)."""
    from textual.widget import Widget

    from warroom.console.app import _raised_in_textual

    try:
        Widget().query_one("#never-made")
    except Exception as error:
        assert _raised_in_textual(error)
    else:
        raise AssertionError("the query should have failed")
    try:
        raise OSError("disk full while saving the outbox")
    except OSError as error:
        assert not _raised_in_textual(error)
