"""The console application: who is at this console, which hub, and the link to one incident.

The app owns the :class:`~warroom.client.sync.IncidentClient` and nothing else stateful: screens
and panes read the client's folded state and send commands through :meth:`WarroomApp.send_command`.
It starts on the join screen (pick or declare an incident) unless told which incident to follow.

The outbox is kept on disk (see :mod:`warroom.client.outbox`), so quitting with commands the hub
has not yet acknowledged asks first: wait for the link, quit and keep them for the next console,
or discard them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import textual
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from warroom.console import heap
from warroom.console.keys_in_order import KeysInOrder
from warroom.core.clock import Clock, utc_now
from warroom.core.local_time import Times, ZoneError, system_zone, zone_label, zone_named
from warroom.core.names import guest_name, normalise_name
from warroom.core.roles import Role
from warroom.paths import outbox_dir as default_outbox_dir
from warroom.themes import DEFAULT_THEME, THEMES, VARIABLE_DEFAULTS, resolve_theme, user_theme

#: Where Textual's own modules are (see :func:`_raised_in_textual`).
_TEXTUAL_DIR = Path(textual.__file__).resolve().parent

if TYPE_CHECKING:
    # The client, the incident's models and the protocol are imported when the console is built
    # (``join_incident``), after the first frame: see screens/joining.py (issue 24).
    from warroom.client.backoff import Backoff
    from warroom.client.sync import Change, IncidentClient, LinkStatus
    from warroom.config import UserTheme
    from warroom.core.events import EventBase
    from warroom.core.protocol import Ack, Error

#: The fields of the event class a command is built from.
P = ParamSpec("P")

#: ``outbox_dir`` when not given: the user's state directory.
DEFAULT_OUTBOX = Path("<state>")


class WarroomApp(KeysInOrder, App[None]):
    """One responder's console on one hub."""

    TITLE = "warroom"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False, tooltip="Quit the console"),
    ]

    def __init__(
        self,
        url: str,
        name: str,
        role: Role | str = Role.RESPONDER,
        incident: str | None = None,
        token: str | None = None,
        theme: str | None = None,
        clock: Clock = utc_now,
        *,
        backoff: Backoff | None = None,
        blink: bool = True,
        share_hint: str | None = None,
        lobby_refresh: float = 5.0,
        cafile: str | None = None,
        join_code: str | None = None,
        hub_label: str | None = None,
        outbox_dir: Path | None = DEFAULT_OUTBOX,
        offline_after: timedelta | None = None,
        keymap: Mapping[str, str] | None = None,
        user_themes: Sequence[UserTheme] = (),
        fallback: Sequence[str] = (),
        timezone: str | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        #: Other hubs on the same record, tried in turn when the link drops (#22).
        self.fallback = list(fallback)
        #: The name this console joins with (``App.name`` is Textual's own), as the hub records
        #: it: NFKC-normalised, and marked ``guest:`` for someone who enters with a join code.
        self.me = guest_name(normalise_name(name)) if join_code else normalise_name(name)
        self.seat = Role(role)
        self.token = token
        #: Aware UTC "now" for ages and countdowns; injectable so tests and drills fix time.
        self.clock: Clock = clock
        #: Whether text cursors blink (off in snapshot tests so every frame is the same).
        self.blink = blink
        #: The ``warroom join ...`` line teammates use, shown when this process runs the hub.
        self.share_hint = share_hint
        #: Seconds between refreshes of the join screen's incident list (0 = only on demand).
        self.lobby_refresh = lobby_refresh
        #: CA bundle for a wss:// hub whose certificate is not in the system's store.
        self.cafile = cafile
        #: A guest's per-incident join code (``INCIDENT:CODE_ID:SECRET``), sent as a header.
        self.join_code = join_code
        #: How the hub is named on screen (its URL unless told otherwise, e.g. in tests).
        self.hub_label = hub_label or url
        self.backoff = backoff
        #: Where pending commands are kept between runs (``None``: in memory only, e.g. a drill).
        self.outbox_dir = default_outbox_dir() if outbox_dir is DEFAULT_OUTBOX else outbox_dir
        #: How long without the hub before the console says offline and presence is unknown.
        self.offline_after = offline_after
        self.client: IncidentClient | None = None
        #: Called once just after the next frame is drawn (see ``redraw.AfterFrame``).
        self.after_frame: list[Callable[[], None]] = []
        self._initial_incident = incident
        self._unsubscribe: Callable[[], None] | None = None
        self._theme_warning: str | None = None
        self._zone_warning: str | None = None
        #: How times are shown and read: this person's zone (``timezone``, else the system's),
        #: or UTC while ``U`` says so. The wire and exports stay UTC whatever this says.
        self.times = Times(self._valid_zone(timezone))
        for registered in THEMES.values():
            self.register_theme(registered)
        #: The user's own themes (``themes/*.toml`` beside their config file), by name.
        self.user_themes = {spec.name: user_theme(spec) for spec in user_themes}
        for registered in self.user_themes.values():
            self.register_theme(registered)
        self.theme = self._valid_theme(theme)
        #: The user's ``[keys]``: binding id -> keys, applied through Textual's own keymap.
        self.user_keys = dict(keymap or {})
        if self.user_keys:
            self.set_keymap(self.user_keys)
        #: Garbage collection while nobody types, not in a key's frame (issue 24).
        self.heap = heap.QuietCollector()

    def _handle_exception(self, error: Exception) -> None:
        """A widget half-built when the app shuts down is teardown, not a fault worth a traceback.

        Quitting while the console screen or one of its panes is still being built tears
        widgets down half-made: Textual skips composing the children of a widget it is removing
        but still sends that widget its ``Mount``, so a mount handler (ours, or Textual's own
        tabs) looks for a child that was never made, and Textual raises. Nothing is left to draw
        by then, so such an error is logged and the quit goes on. Any other error (our own code
        failing while it closes, such as the last outbox write) is reported as before."""
        if not self._running and _raised_in_textual(error):
            logging.getLogger(__name__).debug("ignored while shutting down: %r", error)
            return
        super()._handle_exception(error)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None and self.after_frame:
            due, self.after_frame = self.after_frame, []
            for callback in due:
                callback()

    def _valid_theme(self, name: str | None) -> str:
        wanted = resolve_theme(name)
        if wanted in self.available_themes:
            return wanted
        self._theme_warning = (
            f"No theme called {name!r}; using {DEFAULT_THEME}. "
            f"Themes: {', '.join(sorted([*THEMES, *self.user_themes]))}."
        )
        return DEFAULT_THEME

    def _valid_zone(self, name: str | None) -> tzinfo:
        if name is None:
            return system_zone()
        try:
            return zone_named(name)
        except ZoneError as exc:
            zone = system_zone()
            self._zone_warning = f"{exc}; showing times in {zone_label(zone)}."
            return zone

    def toggle_utc(self) -> None:
        """Show times in UTC, or back in this person's zone (``U`` anywhere, or the palette)."""
        self.times = self.times.toggled()
        self.notify(f"Times are shown in {self.times.label} now (U switches back).",
                    title="Time zone", timeout=4)  # fmt: skip
        for screen in self.screen_stack:
            redraw = getattr(screen, "times_changed", None)
            if redraw is not None:
                redraw()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self.set_interval(heap.EVERY, self.heap.tick, name="heap")
        if self._theme_warning:
            self.notify(self._theme_warning, severity="warning")
        if self._zone_warning:
            self.notify(self._zone_warning, title="Config", severity="warning", timeout=15)
        if self.user_keys:
            from warroom.console.keymap import unknown_ids

            if unknown := unknown_ids(self.user_keys):
                self.notify(
                    f"[keys] in your config names no key of the console: {', '.join(unknown)}. "
                    "The README lists the ids (Your own keys).",
                    title="Config",
                    severity="warning",
                    timeout=15,
                )
        if self._initial_incident:
            from warroom.console.screens.joining import JoiningScreen

            # The first frame says where the console is going; the console is built after it.
            self.hold_typing()
            self.push_screen(JoiningScreen(self._initial_incident, self.hub_label, self.me,
                                           self.seat.value))  # fmt: skip
        else:
            from warroom.console.screens.join import JoinScreen

            self.push_screen(JoinScreen())

    def on_ready(self) -> None:
        from warroom.console.screens.joining import JoiningScreen

        if isinstance(self.screen, JoiningScreen):
            self.screen.build_console()

    async def on_unmount(self) -> None:
        await self.leave_incident()
        self.heap.release()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste):
            self.heap.typed()
        await super().on_event(event)

    # --- the incident ---------------------------------------------------------------------------
    @property
    def incident_log(self) -> list[EventBase]:
        """Every event of the followed incident, in ``seq`` order (empty before joining)."""
        return self.client.log if self.client is not None else []

    @property
    def incident_log_epoch(self) -> int:
        """Grows whenever :attr:`incident_log` was replaced (a snapshot), not merely extended."""
        return self.client.log_epoch if self.client is not None else 0

    def ask_older_entries(self) -> bool:
        """Ask the hub for the timeline entries before the oldest held (False: none to ask)."""
        return self.client.request_history() if self.client is not None else False

    @property
    def link(self) -> LinkStatus:
        from warroom.client.sync import LinkStatus

        return self.client.status if self.client is not None else LinkStatus.OFFLINE

    @property
    def presence_known(self) -> bool:
        """Whether the console knows who is online: not once the hub has been gone for long.

        The hub records who comes and goes; without it, "online" would only be what was true
        when the link dropped, so panes show presence as unknown instead.
        """
        from warroom.client.sync import LinkStatus

        return self.link != LinkStatus.OFFLINE

    def join_incident(self, incident_id: str) -> None:
        """Follow ``incident_id`` and show the console screen."""
        from warroom.client.outbox import OutboxStore
        from warroom.client.sync import OFFLINE_AFTER, IncidentClient
        from warroom.console.screens.console import ConsoleScreen

        self.stop_following()
        store = (
            OutboxStore(self.outbox_dir, self.url, incident_id, self.me)
            if self.outbox_dir is not None
            else None
        )
        client = IncidentClient(
            self.url,
            self.me,
            self.seat,
            incident_id,
            token=self.token,
            backoff=self.backoff,
            join_code=self.join_code,
            cafile=self.cafile,
            store=store,
            clock=self.clock,
            offline_after=self.offline_after or OFFLINE_AFTER,
            fallback=self.fallback,
        )
        self.client = client
        self._unsubscribe = client.subscribe(partial(self._on_client_change, client))
        client.start()
        if client.restored:
            count = len(client.restored)
            self.notify(
                f"{count} item{'s' if count != 1 else ''} typed in your last session "
                f"had not reached the hub; {'it is' if count == 1 else 'they are'} sent again "
                "now (marked ◷ until stored).",
                title="Pending from last time",
                timeout=10,
            )
            for command in client.restored:
                future = client.results.get(command.id)
                if future is not None:
                    self._report_refusal_later(command, future)
        if len(self.screen_stack) > 1:
            self.switch_screen(ConsoleScreen(client))  # in place of the join screen
        else:
            self.push_screen(ConsoleScreen(client))

    async def leave_incident(self) -> None:
        """Stop following the incident (the hub records that this person left)."""
        client = self._forget_client()
        if client is not None:
            await client.close()

    def stop_following(self) -> None:
        """Leave the incident now; the connection closes in the background."""
        client = self._forget_client()
        if client is not None:
            self.run_worker(client.close(), exclusive=False)

    def _forget_client(self) -> IncidentClient | None:
        """Forget the current client at once, so no change of it reaches the screens again.

        Its pending commands stay on disk and are sent when this person follows the incident
        again (from this console or the next).
        """
        client, self.client = self.client, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if client is not None:
            client.detach_store()
        return client

    def _report_refusal_later(
        self, command: EventBase, future: asyncio.Future[Ack | Error]
    ) -> None:
        """A command restored from disk has no form waiting for it: a refusal is said here."""

        from warroom.core.protocol import Error

        def report(done: asyncio.Future[Ack | Error]) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            reply = done.result()
            if isinstance(reply, Error):
                self.notify(f"{command.type.replace('_', ' ')}: {reply.message}",
                            title="The hub refused a pending item", severity="error",
                            timeout=10)  # fmt: skip

        future.add_done_callback(report)

    # --- quitting -------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; with commands the hub has not acknowledged, ask what becomes of them first."""
        from warroom.console.screens.quit_prompt import QuitPrompt

        client = self.client
        if client is None or not client.outbox:
            self.exit()
            return
        if not isinstance(self.screen, QuitPrompt):  # (ctrl+q in the prompt means keep)
            self.push_screen(QuitPrompt())

    def quit_keeping(self) -> None:
        """Quit, leaving the pending commands on disk, and say in the terminal where they are."""
        client = self.client
        count = len(client.outbox) if client is not None else 0
        if client is None or client.store is None or not count:
            self.exit()
            return
        self.exit(
            message=(
                f"warroom: {count} item{'s' if count != 1 else ''} not yet on the hub "
                f"{'is' if count == 1 else 'are'} kept in {client.store.path}.\n"
                f"They are sent the next time {self.me} joins {client.incident_id} on {self.url}."
            )
        )

    def _on_client_change(self, client: IncidentClient, change: Change) -> None:
        if client is not self.client:
            return
        from warroom.console.messages import ClientChanged, HubMessage
        from warroom.console.screens.console import ConsoleScreen

        # The console screen stays current even under an open form, and the form on top (if
        # any) hears about the change too.
        targets: list[Screen[Any]] = [s for s in self.screen_stack if isinstance(s, ConsoleScreen)]
        if self.screen not in targets:
            targets.append(self.screen)
        if change.kind == "error" and change.error is not None and change.error.id is None:
            self.screen.post_message(HubMessage(change.error))
        if change.kind in ("snapshot", "history"):
            # A whole incident or a page of it came in: once drawn, it stays (see heap).
            self.set_timer(heap.SETTLE_AFTER, self.heap.settle)
        if change.kind == "warning" and change.message:
            self.notify(change.message, title="Outbox", severity="warning", timeout=15)
        for screen in targets:
            screen.post_message(ClientChanged())

    def send_command(
        self, kind: Callable[P, EventBase], /, *args: P.args, **payload: P.kwargs
    ) -> asyncio.Future[Ack | Error] | None:
        """Build a command of event class ``kind`` and send it; the future resolves with its
        ack or its refusal.

        A draft that does not even validate never leaves the console: the reason is shown and
        ``None`` returned. While the link is down the command waits in the outbox, marked pending.
        """
        from warroom.core.log import EventError, draft

        if self.client is None:
            self.notify("Join an incident first.", severity="error")
            return None
        try:
            command = draft(kind, *args, **payload)
        except EventError as exc:
            self.notify(str(exc), title="Not sent", severity="error", timeout=8)
            return None
        return self.client.send(command)

    # --- command palette ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name in [*THEMES, *self.user_themes]:
            yield SystemCommand(
                f"Theme: {name}",
                f"Switch the console to the {name} theme",
                partial(setattr, self, "theme", name),
            )
        now = self.clock()
        other = self.times.toggled()
        yield SystemCommand(
            f"Times: show {other.label}",
            f"Now {self.times.both(now)}; {other.label} instead (U from any pane)",
            self.toggle_utc,
        )
        extra = getattr(screen, "palette_commands", None)
        if extra is not None:
            yield from extra()
        from warroom.console.export import export_commands

        yield from export_commands(self)
        from warroom.console.join_codes import join_code_commands

        yield from join_code_commands(self)


def _raised_in_textual(error: BaseException) -> bool:
    """Whether ``error`` was raised inside Textual's own code (its innermost frame)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return False
    return Path(frame.tb_frame.f_code.co_filename).resolve().is_relative_to(_TEXTUAL_DIR)
