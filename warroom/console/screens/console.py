"""The console screen: the status bar on top, one tab per pane, the keys at the bottom.

The screen is the only place that reads the client: on every change it hands the folded state
down to the status bar and to each pane (attributes down). It opens on the pane of the person's
role, and every pane is one key away (1-7) or one click on its tab.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual import on
from textual.actions import parse as parse_action
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import AwaitMount
from textual.widgets import TabbedContent, TabPane

from warroom.client.sync import IncidentClient
from warroom.console.anywhere import ANYWHERE, anywhere_key
from warroom.console.app import WarroomApp
from warroom.console.messages import ClientChanged, HubMessage
from warroom.console.panes import HOME_PANE, PANES, PaneSpec
from warroom.console.screens.handoff import RolePrompts
from warroom.console.widgets.coach import CoachLine
from warroom.console.widgets.escalation import EscalationBanner
from warroom.console.widgets.footer import CalmFooter
from warroom.console.widgets.pane import IncidentPane
from warroom.console.widgets.sidebar import RoomSidebar
from warroom.console.widgets.status_bar import StatusBar


def pane_bindings() -> list[Binding]:
    return [
        Binding(spec.key, f"show_pane('{spec.id}')", spec.title, show=False,
                id=f"pane.{spec.id}", tooltip=f"Show the {spec.title.lower()} pane")
        for spec in PANES
    ]  # fmt: skip


def anywhere_bindings() -> list[Binding]:
    return [
        Binding(item.key, f"anywhere({index})", item.title, show=False,
                id=f"anywhere.{item.pane}.{item.action.partition('(')[0]}", tooltip=item.title)
        for index, item in enumerate(ANYWHERE)
    ]  # fmt: skip


#: ``U`` from any pane: every time on screen in UTC, or back on the person's own clock.
UTC_KEY = Binding(
    "U", "toggle_utc", "UTC / local time", show=False, id="times.utc",
    tooltip="Show times in UTC, or back in your own time zone",
)  # fmt: skip


class ConsoleScreen(Screen[None]):
    """One incident, live."""

    CSS_PATH = "console.tcss"
    #: Focus is placed on the role's home pane, not on whatever widget comes first.
    AUTO_FOCUS = None
    #: Keys typed behind one that opens a form wait for it (see ``keys_in_order``).
    KEYS_WAIT_FOR_BINDINGS = True
    #: From 140 columns up the room and the latest entries stay in view beside the pane.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        *pane_bindings(),
        *anywhere_bindings(),
        Binding("question_mark", "help", "Help", id="help",
                tooltip="The keys of this pane and of the console"),
        Binding("ctrl+l", "leave", "Incidents", show=False, id="leave",
                tooltip="Leave this incident and go back to the list"),
        UTC_KEY,
    ]  # fmt: skip

    def __init__(self, client: IncidentClient) -> None:
        super().__init__()
        self.client = client
        self._placed = False
        #: The pane in front when a form or screen last opened over the console.
        self._front = ""
        self._gave_up = False
        #: The link and the pending commands' ids when the panes were last handed the state.
        self._around: tuple[object, ...] = ()
        #: Opens the handoff screen when an offer names this person, and the read-in.
        self.prompts = RolePrompts()
        #: Every pane built so far, by id (mounted, or not yet: see :meth:`_pane_object`).
        self._panes: dict[str, IncidentPane] = {}
        #: The mount of each pane mounted after the screen's own compose.
        self._mounting: dict[str, AwaitMount] = {}
        #: Every pane is mounted: until then the prompts wait (see :meth:`_mount_other_panes`).
        self._panes_ready = False

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    @property
    def home(self) -> str:
        """The pane this person's role opens on."""
        return HOME_PANE.get(self.warroom.seat, PANES[0].id)

    def compose(self) -> ComposeResult:
        app = self.warroom
        yield StatusBar(id="status-bar")
        yield EscalationBanner(me=app.me, seat=app.seat, id="escalation-banner")
        yield CoachLine(me=app.me, seat=app.seat, id="coach-line")
        with Horizontal(id="console-body"):
            with TabbedContent(initial=self.home, id="panes"):
                for spec in PANES:
                    with TabPane(f"{spec.key} {spec.title}", id=spec.id):
                        # Only the role's own pane is in the first frame; the others are built
                        # (imported, composed, styled) just after it: see _mount_other_panes.
                        if spec.id == self.home:
                            yield self._pane_object(spec.id)
            yield RoomSidebar(me=app.me, seat=app.seat, id="sidebar")
        yield CalmFooter()

    def on_mount(self) -> None:
        self.sync()
        self.set_interval(1.0, self._tick)
        self.call_after_refresh(self._mount_other_panes)

    # --- building the panes (issue 24) ------------------------------------------------------
    # Building every pane before the first frame cost about a second of start-up on a loaded
    # 2-core machine (their imports, compose, CSS and layout). The home pane is composed with the
    # screen; the others are mounted into their (empty) tabs right after the first refresh, and
    # code that needs one sooner (a key that shows it) mounts it on the spot through
    # :meth:`pane`. Bindings are asked of a pane not yet mounted (panes answer ``check_action``
    # before they mount). Once the screen is up, every pane is mounted, as before.
    def _pane_object(self, pane_id: str) -> IncidentPane:
        """The pane ``pane_id``, built (with the current state) if it was not yet."""
        pane = self._panes.get(pane_id)
        if pane is None:
            spec = next(spec for spec in PANES if spec.id == pane_id)
            app = self.warroom
            pane = spec.widget_class()(me=app.me, seat=app.seat, id=f"pane-{spec.id}")
            pane.set_reactive(IncidentPane.state, self.client.state)
            self._panes[pane_id] = pane
        return pane

    async def _mount_other_panes(self) -> None:
        if self._gave_up or not self.is_attached:  # left at once (no such incident, ...)
            return
        try:
            for spec in PANES:
                self.pane(spec.id)
        except NoMatches:  # the screen is being taken down (its tabs already gone)
            return
        for mounting in list(self._mounting.values()):
            await mounting
        # The prompts (a rotation nudge, the read-in, a handoff offer) come after what the panes
        # say on seeing the state (an overdue update), as when every pane was built up front:
        # the order of the pop-ups stays the same whenever the state arrived.
        self._panes_ready = True
        if self.warroom.client is self.client:
            self.prompts.update(self.warroom, self.client)

    async def _pane_ready(self, pane: IncidentPane) -> None:
        """Wait until ``pane`` (mounted by :meth:`pane`) has composed its widgets."""
        mounting = self._mounting.get(pane.id.removeprefix("pane-") if pane.id else "")
        if mounting is not None and not pane.is_mounted:
            await mounting

    def on_screen_resume(self) -> None:
        if not self._placed:
            # Once everything has mounted (a pane may have taken focus, and with it its tab),
            # open on the role's own pane.
            self._placed = True
            self.call_after_refresh(self._place_home)
        else:
            # Back from a form: the pane that was in front when it opened stays in front, even
            # if a focus message from a pane left in a burst of keys arrives in between.
            front = self._front or self.query_one(TabbedContent).active
            self.call_after_refresh(self._restore_front, front)

    def _place_home(self) -> None:
        self.action_show_pane(self.home)
        # What was typed while the joining screen showed goes to the pane now in front, once
        # its focus has landed: ``Widget.focus`` queues the focus on the app, and this call
        # comes behind it on the same queue.
        self.app.call_later(self.warroom.read_held_typing)

    def _restore_front(self, front: str) -> None:
        if self.query_one(TabbedContent).active != front:
            self.action_show_pane(front)
        else:
            self._focus_pane(self.active_pane)

    # --- attributes down --------------------------------------------------------------------
    def on_client_changed(self, message: ClientChanged) -> None:
        self.sync()

    def sync(self) -> None:
        """Hand the client's state to everything that shows it."""
        client = self.client
        bar = self.query_one(StatusBar)
        bar.set_all(client.state, client.status, len(client.outbox), client.down_since,
                    self.warroom.clock())  # fmt: skip
        # What panes show: the folded state, the commands still pending (shown as ◷) and the
        # link (presence is unknown while the hub is gone), and the older timeline entries a
        # ``history`` page brought. A notice that changed none of them redraws no pane.
        seen = (client.status, tuple(client.outbox), client.log_epoch, client.first_seq)
        around_changed, self._around = seen != self._around, seen
        for pane in self.query(IncidentPane):
            if around_changed or pane.state is not client.state:
                pane.state = client.state
        for pane in self._panes.values():
            if pane.parent is None:  # built, not mounted yet: it draws this state when it mounts
                pane.set_reactive(IncidentPane.state, client.state)
        self.sub_title = f"{client.state.title} · {client.status}"
        if client.fatal and not self._gave_up:
            # Retrying cannot help (no such incident, or the token was refused): say why and
            # go back to the list, where the person can pick again.
            self._gave_up = True
            self.notify(client.fatal, title="Cannot follow this incident", severity="error",
                        timeout=15)  # fmt: skip
            self.action_leave()
        if self._panes_ready:
            self.prompts.update(self.warroom, client)

    def action_toggle_utc(self) -> None:
        self.warroom.toggle_utc()

    def times_changed(self) -> None:
        """The console now shows another clock: every pane redraws its times."""
        for pane in self.query(IncidentPane):
            pane.times_changed()
        self.sync()

    def _tick(self) -> None:
        self.query_one(StatusBar).now = self.warroom.clock()
        self.client.check_link()  # reconnecting → offline on time, whatever the backoff

    def on_hub_message(self, message: HubMessage) -> None:
        error = message.error
        if self.client.fatal:
            return  # handled in sync(): the console goes back to the list
        else:
            self.notify(error.message, title="The hub says", severity="warning", timeout=8)

    # --- panes ------------------------------------------------------------------------------
    @property
    def active_pane(self) -> IncidentPane | None:
        tabs = next(self.query(TabbedContent).results(TabbedContent), None)
        active = tabs.active if tabs is not None else ""  # none while torn down
        return self.pane(active) if active else None

    def action_show_pane(self, pane_id: str) -> None:
        tabs = next(self.query(TabbedContent).results(TabbedContent), None)
        if tabs is None:
            return  # a key arriving while the console is torn down (back to the list)
        self._front = pane_id
        tabs.active = pane_id
        self._catch_up(self.active_pane)
        self._focus_pane(self.active_pane)

    def _catch_up(self, pane: IncidentPane | None) -> None:
        """A pane brought to the front draws what changed while it was behind."""
        if pane is not None and pane.in_view:
            pane.catch_up()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.app.screen is not self and self._front and event.pane.id != self._front:
            # Nobody can pick a tab under a form: this is a late focus message from a pane left
            # in a burst of keys. The pane the form was opened from stays in front.
            self.query_one(TabbedContent).active = self._front
            return
        if self.app.screen is self:
            self._front = event.pane.id or self._front
        self._catch_up(self.active_pane)
        # The side column's "latest" would repeat the timeline when the timeline is in front.
        self.query_one(RoomSidebar).set_class(event.pane.id == "timeline", "-beside-timeline")
        # The pane in front when the refresh comes, not this one: a fast typist may have moved on
        # (``2`` then ``V``), and focusing a pane behind would bring its tab back to the front.
        self.call_after_refresh(lambda: self._focus_pane(self.active_pane))

    def _focus_pane(self, pane: IncidentPane | None) -> None:
        """Focus the pane's first focusable widget, so its keys work at once."""
        if pane is None:
            return
        if not pane.is_mounted:  # just mounted: its widgets are not there yet
            self.call_later(self._focus_when_ready, pane)
            return
        focused = self.focused
        if focused is not None and pane in focused.ancestors:
            return
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return
        self.set_focus(None)

    async def _focus_when_ready(self, pane: IncidentPane) -> None:
        await self._pane_ready(pane)
        if pane is self.active_pane:
            self._focus_pane(pane)

    def pane(self, pane_id: str) -> IncidentPane:
        """The pane ``pane_id``, mounted now if it was not yet (see :meth:`_pane_object`)."""
        pane = self._pane_object(pane_id)
        if pane.parent is None:
            self._mounting[pane_id] = self.query_one(f"#{pane_id}", TabPane).mount(pane)
        return pane

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A capital key is hidden from who may never use it (an observer), never greyed: when
        it cannot be used now, pressing it says why."""
        if action == "anywhere" and parameters:
            item = ANYWHERE[int(parameters[0])]  # type: ignore[call-overload]
            if not self.is_mounted:
                return True
            _, name, params = parse_action(item.action)
            pane = self._pane_object(item.pane)
            if not pane.is_mounted:
                # Built but not composed yet (the moment after the first frame): the rule every
                # pane applies; the pane's own is asked again when the key is pressed.
                return IncidentPane.check_action(pane, name, params) is not False
            return pane.check_action(name, params) is not False
        return True

    def action_anywhere(self, index: int) -> None:
        """Show the action's pane and run the action there, or say why it cannot run now."""
        item = ANYWHERE[index]
        self.run_on_pane(item.pane, item.action)

    def run_on_pane(self, pane_id: str, action: str) -> None:
        """Switch to ``pane_id`` and run its ``action`` (as its key would), or explain why not.

        The action runs once the messages the switch caused are handled (not after a refresh,
        which may not come while the palette is closing); a late focus message from a pane left
        in a burst of keys cannot bring that pane back under the form (see ``_tab_activated``).
        """
        self.action_show_pane(pane_id)
        self.call_later(self._run_shown, pane_id, action)

    async def _run_shown(self, pane_id: str, action: str) -> None:
        pane = self.pane(pane_id)
        await self._pane_ready(pane)
        if self.query_one(TabbedContent).active != pane_id:
            self.action_show_pane(pane_id)
        _, name, params = parse_action(action)
        allowed = pane.check_action(name, params)
        if not allowed:
            spec = _spec(pane)
            pane.explain(name, f"{spec.title if spec else 'That'}: {name.replace('_', ' ')}")
            return
        await pane.run_action(action)

    def action_help(self) -> None:
        from warroom.console.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.active_pane, self.active_bindings))

    def action_leave(self) -> None:
        from warroom.console.screens.join import JoinScreen

        self.warroom.stop_following()
        self.app.switch_screen(JoinScreen())

    # --- command palette ----------------------------------------------------------------------
    def palette_commands(self) -> Iterable[SystemCommand]:
        """Every pane, and every action of every pane that this person may take now.

        An action runs on its own pane: choosing it shows that pane first, as its key would.
        """
        for spec in PANES:
            yield SystemCommand(
                f"Go to {spec.title}",
                f"Show the {spec.title.lower()} pane (key {spec.key})",
                partial(self.action_show_pane, spec.id),
            )
        yield SystemCommand("Help", "The keys of this pane and of the console", self.action_help)
        yield SystemCommand("Leave incident", "Go back to the list of incidents", self.action_leave)
        for spec in PANES:
            pane = self.pane(spec.id)
            pane.catch_up()  # what a pane offers may depend on what it shows (its cursor)
            seen: set[str] = set()
            for bindings in pane._bindings.key_to_bindings.values():
                for item in bindings:
                    _, action, params = parse_action(item.action)
                    if not item.description or item.action in seen:
                        continue
                    capital = anywhere_key(spec.id, item.action)
                    if not item.show and pane is not self.active_pane and capital is None:
                        continue  # moving about another pane: not an action of its own
                    if pane.check_action(action, params) is not True:
                        continue
                    seen.add(item.action)
                    keys = f"{spec.key} then {item.key}"
                    if capital is not None:
                        keys = f"{capital} from any pane, or {keys}"
                    yield SystemCommand(
                        f"{spec.title}: {item.tooltip or item.description}",
                        f"Keys: {keys}",
                        partial(self.run_on_pane, spec.id, item.action),
                    )
            for extra in ANYWHERE:
                if extra.pane != spec.id or extra.action in seen:
                    continue
                _, action, params = parse_action(extra.action)
                if pane.check_action(action, params) is True:
                    seen.add(extra.action)
                    yield SystemCommand(
                        f"{spec.title}: {extra.title}",
                        f"Keys: {extra.key} from any pane",
                        partial(self.run_on_pane, spec.id, extra.action),
                    )


def _spec(pane: IncidentPane) -> PaneSpec | None:
    for spec in PANES:
        if pane.id == f"pane-{spec.id}":
            return spec
    return None
