"""Console tests against a real hub: a seeded incident and a WarroomApp joined to it.

Two ways in, both with a real hub on 127.0.0.1 and an ephemeral port:

* async Pilot tests::

      async with console_session(tmp_path, role="scribe") as s:
          await s.pilot.press("n", *"hello", "enter")
          await s.wait_for(lambda: s.app.client.state.note_count == 1)

* snapshot tests (``snap_compare`` runs its own event loop, so the hub runs in a thread)::

      def test_scribe(snap_compare, tmp_path):
          with hub_in_thread(tmp_path) as hub:
              hub.seed()
              app = make_console(hub.url, role="scribe")
              assert snap_compare(app, terminal_size=(80, 24), run_before=until_live)

Everything shown is fixed: the hub's clock stands at ``T0`` (so every event has the same time),
the console's clock at ``NOW``, the incident id, title and names are constants, and cursors do
not blink.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Label
from warroom.hub.app import HubServer

from tests.helpers import (
    T0,
    ManualClock,
    client,
    declare_incident,
    eventually,
    fast_backoff,
    running_hub,
)
from warroom.client.sync import IncidentClient, LinkStatus
from warroom.console.app import WarroomApp
from warroom.console.widgets.status_bar import StatusBar
from warroom.core.events import EventBase

_T = TypeVar("_T")
_W = TypeVar("_W", bound=Widget)

INCIDENT_ID = "inc-checkout"
#: What the console's clock says: three minutes after the hub declared the incident at T0.
NOW = T0 + timedelta(minutes=3)
DETECTED = T0 - timedelta(minutes=5)
INCIDENT = {
    "title": "Checkout errors after deploy",
    "severity": "SEV2",
    "detected_at": DETECTED.isoformat(),
    "trigger": "5xx alert on checkout-api",
    "symptoms": "Payments fail with HTTP 502 for about 20% of users",
    "scope": "EU checkout; US unaffected so far",
}
#: Who declares the seeded incident (and so holds IC unless a test says otherwise).
DECLARER = "ana"


def fixed_clock() -> Any:
    return ManualClock(NOW)


async def seed_incident(url: str, name: str = DECLARER, **fields: Any) -> str:
    """Declare the fixed incident on the hub at ``url``; returns its id (``INCIDENT_ID``)."""
    data = {**INCIDENT, "incident_id": INCIDENT_ID, **fields}
    return await declare_incident(url, name, **data)


def make_console(
    url: str,
    *,
    name: str = DECLARER,
    role: str = "ic",
    incident: str | None = INCIDENT_ID,
    theme: str = "warroom-dark",
    clock: Any = None,
    **kwargs: Any,
) -> WarroomApp:
    """A console as a test wants it: fixed clock, no blinking, fast reconnects."""
    kwargs.setdefault("lobby_refresh", 0)
    kwargs.setdefault("hub_label", "ws://hub.test:8765")  # ephemeral ports must not show
    return WarroomApp(
        url=url, name=name, role=role, incident=incident, theme=theme,
        clock=clock or fixed_clock(), backoff=fast_backoff(), blink=False, **kwargs,
    )  # fmt: skip


def screen_text(app: App[Any]) -> str:
    """What the terminal shows right now, as plain text (what a user would read)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      force_terminal=True, color_system="truecolor", legacy_windows=False)  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def incident_list_in_line(app: App[Any]) -> bool:
    """The join screen's incident list is drawn with each heading where its column's cells start
    (a table may draw its header with the widths of before its rows for a frame)."""
    lines = screen_text(app).splitlines()
    top = next((i for i, line in enumerate(lines) if line.strip().startswith("Sev ")), None)
    if top is None or top + 1 >= len(lines):
        return False
    header, row = lines[top], lines[top + 1]
    cells = (("Id", "inc-"), ("Title", "Checkout"), ("Phase", "detected"))
    return all(
        f" {h} " in header and cell in row and header.index(f" {h} ") + 1 == row.index(cell)
        for h, cell in cells
    )


def link_text(app: App[Any]) -> str:
    """What the status bar says about the link to the hub."""
    return str(app.screen.query_one(StatusBar).query_one("#sb-link", Label).render())


def is_live(app: WarroomApp) -> bool:
    client = app.client
    return client is not None and client.status == LinkStatus.LIVE and client.state.declared


async def until_live(pilot: Pilot[Any]) -> None:
    """``run_before`` for snapshots: wait until the console has synced and drawn it."""
    await eventually(lambda: is_live(pilot.app), timeout=10)  # type: ignore[arg-type]
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@dataclass
class ConsoleSession:
    """A console joined to a real hub, for Pilot tests."""

    app: WarroomApp
    pilot: Pilot[Any]
    hub: HubServer
    incident: str
    db: Path

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        await eventually(predicate, timeout=timeout)
        await self.pilot.pause()

    async def peer(self, name: str, role: str) -> IncidentClient:
        """Another person in the room, as a plain client (closed by the session)."""
        c = await client(self.hub.url, name, role, self.incident)
        self._peers.append(c)
        return c

    def __post_init__(self) -> None:
        self._peers: list[IncidentClient] = []

    async def show_pane(self, key: str, kind: type[_W]) -> _W:
        """Press ``key`` and wait until the pane of type ``kind`` it shows has the focus."""
        await self.pilot.press(key)
        pane = self.app.screen.query_one(kind)
        await self.wait_for(lambda: self.app.focused is not None
                            and pane in self.app.focused.ancestors)  # fmt: skip
        return pane

    async def palette(self, words: str, title: str) -> None:
        """Open the command palette, type ``words``, see ``title`` offered and run it, as a
        person would."""
        await self.pilot.press("ctrl+p")
        await self.pilot.pause()
        await self.pilot.press(*words)
        await self.wait_for(lambda: title in screen_text(self.app))
        await self.pilot.pause(0.3)  # the palette searches in the background; let it settle
        await self.pilot.press("enter")


@contextlib.asynccontextmanager
async def console_session(
    tmp_path: Path,
    *,
    name: str = DECLARER,
    role: str = "ic",
    size: tuple[int, int] = (100, 30),
    seed: bool = True,
    join: bool = True,
    hub: HubServer | None = None,
    **app_kwargs: Any,
) -> AsyncIterator[ConsoleSession]:
    """A real hub (unless given one), the fixed incident, and a console on it."""
    async with contextlib.AsyncExitStack() as stack:
        if hub is None:
            hub = await stack.enter_async_context(
                running_hub(tmp_path / "hub.db", clock=ManualClock(T0))
            )
        incident = await seed_incident(hub.url) if seed else INCIDENT_ID
        app = make_console(hub.url, name=name, role=role,
                           incident=incident if join else None, **app_kwargs)  # fmt: skip
        pilot = await stack.enter_async_context(app.run_test(size=size))
        session = ConsoleSession(app, pilot, hub, incident, tmp_path / "hub.db")
        if join:
            await session.wait_for(lambda: is_live(app), timeout=10)
        try:
            yield session
        finally:
            for peer in session._peers:
                await peer.close()


class ThreadedHub:
    """A real hub in its own thread and event loop, for tests whose loop belongs to someone else."""

    def __init__(self, db: Path, clock: ManualClock | None = None) -> None:
        self.db = db
        self.clock = clock or ManualClock(T0)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self.server: HubServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def call(self, coro: Awaitable[_T], timeout: float = 15.0) -> _T:
        """Run ``coro`` on the hub's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def seed(self, **fields: Any) -> str:
        return self.call(seed_incident(self.url, **fields))

    def post(self, name: str, role: str, command: EventBase) -> None:
        """Have someone else record an event (joins, acts, leaves again)."""

        async def act() -> None:
            c = IncidentClient(self.url, name, role, INCIDENT_ID, backoff=fast_backoff())
            c.start()
            try:
                await c.wait_synced()
                await c.post(command)
            finally:
                await c.close()

        self.call(act())

    def start(self) -> ThreadedHub:
        self._thread.start()

        async def up() -> HubServer:
            return await self._stack.enter_async_context(running_hub(self.db, clock=self.clock))

        self.server = self.call(up())
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextlib.contextmanager
def hub_in_thread(tmp_path: Path, clock: ManualClock | None = None) -> Iterator[ThreadedHub]:
    hub = ThreadedHub(tmp_path / "hub.db", clock).start()
    try:
        yield hub
    finally:
        hub.stop()


class People:
    """Participants who stay connected to a threaded hub while a snapshot is taken."""

    def __init__(self, hub: ThreadedHub) -> None:
        self.hub = hub
        self.clients: dict[str, IncidentClient] = {}

    def join(self, name: str, role: str = "responder") -> None:
        self.clients[name] = self.hub.call(client(self.hub.url, name, role, INCIDENT_ID))

    def post(self, name: str, command: EventBase, at: timedelta | float) -> Any:
        """``name`` records ``command`` when the hub's clock says ``T0 + at`` (a number: minutes)."""
        self.hub.clock.now = T0 + (at if isinstance(at, timedelta) else timedelta(minutes=at))
        reply = self.hub.call(self.clients[name].post(command))
        assert reply.op == "ack", reply
        return reply

    def leave(self, name: str) -> None:
        self.hub.call(self.clients.pop(name).close())

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(c.close() for c in self.clients.values()))

        self.hub.call(close_all())


def snap_console(
    snap_compare: Any,
    tmp_path: Path,
    room: Callable[[ThreadedHub], None],
    *,
    name: str,
    role: str,
    press: list[str],
    size: tuple[int, int],
) -> bool:
    """Snapshot ``name``'s console after ``press``, on a threaded hub with the fixed incident
    once ``room`` has acted in it."""
    with hub_in_thread(tmp_path) as hub:
        hub.seed()
        room(hub)
        app = make_console(hub.url, name=name, role=role)
        return bool(snap_compare(app, press=press, terminal_size=size, run_before=until_live))
