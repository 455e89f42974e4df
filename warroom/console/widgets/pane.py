"""The base of every pane on the console screen.

Attributes down, messages up: the console screen sets ``state`` on every pane whenever the
incident changes; a pane renders it and sends commands through :meth:`IncidentPane.send`. A pane
holds no incident logic of its own: what is allowed comes from the core
(:func:`warroom.core.affordances.affordances`, which asks the hub's own ``check_command``), what
the incident looks like from the folded state. A pane names the command each key would send (its
``probe``); whether the key is offered, and what a greyed key says, is the core's answer to it.

Actions named in ``WRITE_ACTIONS`` are hidden (footer, help, palette) from someone who may not
write, so an observer is never offered a key that the hub would refuse. A command the hub refuses
is reported through :meth:`IncidentPane.show_refusal`; the default is a notification, and a pane
with an input of its own overrides it to show the message right there.

A key that is offered but greyed out (``check_action`` answers ``None``) is never a silent no-op:
pressing it says why and what to do. The reason is the core's own refusal
(:func:`~warroom.core.affordances.affordances`) of the command the key would send (its
``probe``), followed by the key that helps, when there is one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec

from textual import events, on
from textual.actions import parse as parse_action
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import OptionList, Static, TabPane

from warroom.core.affordances import Affordances, Candidate, affordances, draft
from warroom.core.events import Actor, EventBase, Refusal
from warroom.core.local_time import UTC_TIMES, Times
from warroom.core.protocol import Ack, Error
from warroom.core.roles import Role
from warroom.core.state import IncidentState

#: The fields of the event class a command is built from.
P = ParamSpec("P")

#: What to do about a refusal, by its code: the key that helps (the core says why, not how).
WHAT_TO_DO: dict[str, str] = {
    "not_holder": "You need the lock first: press l on the Lock pane (4), or L from any pane.",
    "stale_token": "Ask for the lock again: press l on the Lock pane (4).",
    "lease_expired": "Ask for the lock again: press l on the Lock pane (4).",
    "ic_present": "They hand over with h on the Roster (6).",
}
#: What to do when the incident is closed: only the IC can reopen it.
REOPEN_HINT = "To reopen it, press P (phase) and pick an earlier phase, with a reason."

#: What a key would send, to ask the core about it: an event class and a (placeholder) payload.
Probe = tuple[type[EventBase], dict[str, Any]]

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp


class IncidentPane(Vertical):
    """A pane that renders the incident and may send commands to the hub."""

    #: Shown in the help screen above this pane's bindings.
    HELP: ClassVar[str] = ""
    #: Actions that send commands: not offered to someone who may not write.
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    state: reactive[IncidentState] = reactive(
        IncidentState, always_update=True, init=False, repaint=False
    )
    """The folded incident, set by the console screen on every change. A pane draws through
    its widgets (``render_state``), so setting it does not repaint the pane itself: that would
    repaint every pane's whole area at every event (issue 24)."""

    def __init__(self, *, me: str = "", seat: Role = Role.RESPONDER, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.me = me
        self.seat = seat
        #: The state changed while the pane was out of view, so it has not been drawn yet.
        self._stale = False

    def watch_state(self, state: IncidentState) -> None:
        if not self.is_mounted:
            return
        self.observe_state(state)
        if self.in_view:
            self._stale = False
            self.render_state(state)
        else:
            self._stale = True  # drawn when its tab comes to the front (see catch_up)

    def on_mount(self) -> None:
        self.observe_state(self.state)
        if self.in_view:
            self.render_state(self.state)
        else:
            self._stale = True

    @property
    def in_view(self) -> bool:
        """Whether this pane can be seen: a pane on a tab behind another is not redrawn."""
        tab = next((node for node in self.ancestors if isinstance(node, TabPane)), None)
        return tab is None or tab.display

    def catch_up(self) -> None:
        """Draw the latest state now if it changed while this pane's tab was behind another."""
        if self._stale and self.is_mounted:
            self._stale = False
            self.render_state(self.state)

    def times_changed(self) -> None:
        """The console shows another clock now (``U``): draw the times again."""
        if self.is_mounted and self.in_view:
            self._stale = False
            self.render_state(self.state)
        else:
            self._stale = True

    @property
    def times(self) -> Times:
        """How this console shows and reads times (this person's zone, or UTC)."""
        return getattr(self.app, "times", UTC_TIMES)

    def observe_state(self, state: IncidentState) -> None:
        """React to a change even while out of view (a notification is owed whichever pane is in
        front). Panes with such duties override this; drawing belongs in ``render_state``."""

    def render_state(self, state: IncidentState) -> None:
        """Redraw from ``state``. Panes override this."""

    # --- acting -------------------------------------------------------------------------------
    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    @property
    def actor(self) -> Actor:
        return Actor(name=self.me, seat=self.seat)

    def affordances(self, candidates: dict[str, Candidate | None]) -> Affordances:
        """The core's answer (the hub's own rules) for each named candidate command."""
        return affordances(self.state, self.actor, self.warroom.clock(), candidates)

    def may(self, kind: type[EventBase] | str) -> bool:
        """Whether this person may send commands of ``kind`` at all (its type-wide rules, in core)."""
        key = str(kind)
        return self.affordances({key: kind}).allows(key)

    def allows(self, action: str) -> bool:
        """Whether the core accepts the command ``action`` would send (see :meth:`probe`)."""
        return self.refusal_of(action) is None and self.probe(action) is not None

    @property
    def read_only(self) -> bool:
        return self.seat == Role.OBSERVER and not self.state.roles_of(self.me)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide write actions from readers (Textual then leaves them out of footer and help)."""
        return not (action in self.WRITE_ACTIONS and self.read_only)

    # --- why a key does nothing ---------------------------------------------------------------
    def probe(self, action: str) -> Probe | type[EventBase] | None:
        """The command ``action`` would send, as ``(EventClass, payload)``, to ask the core.

        Panes override this for their keys; placeholders stand in for what a form would ask,
        since only the rules that do not depend on them can refuse at this point. A bare event
        class asks only the rules that hold for every command of that type.
        """
        return None

    def refusal_of(self, action: str) -> Refusal | None:
        """The core's refusal of what ``action`` would send, or ``None`` (allowed, or no probe)."""
        probe = self.probe(action)
        if probe is None or not self.state.declared:
            return None
        if isinstance(probe, type):
            return self.affordances({action: probe}).refusal(action)
        kind, payload = probe
        return self.affordances({action: draft(self.state, kind, **payload)}).refusal(action)

    def why_not(self, action: str, what: str = "") -> str:
        """Why ``action`` is not available to this person now, and what to do about it."""
        refusal = self.refusal_of(action)
        if refusal is None:
            return f"{what or 'That'} is not available to you now."
        hint = WHAT_TO_DO.get(refusal.code, "")
        if refusal.code == "closed":
            hint = REOPEN_HINT if self.state.is_ic(self.me) else ""
        return f"{refusal.message} {hint}".strip()

    def explain(self, action: str, what: str = "") -> None:
        """Say why ``action`` does nothing now (instead of doing nothing in silence)."""
        self.notify(self.why_not(action, what), title="Not now", severity="warning", timeout=8)

    def on_key(self, event: events.Key) -> None:
        """A greyed-out key of this pane says why, rather than doing nothing."""
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        greyed = None
        for binding in bindings:
            _, action, params = parse_action(binding.action)
            allowed = self.check_action(action, params)
            if allowed:
                return  # an active binding takes the key
            if allowed is None and greyed is None:
                greyed = (action, binding.tooltip or binding.description)
        if greyed is not None:
            event.stop()
            event.prevent_default()
            self.explain(*greyed)

    def show_refusal(self, error: Error) -> None:
        """Tell the user the hub refused what they just did. Override to show it in place."""
        self.notify(error.message, title="The hub refused", severity="error", timeout=8)

    def send(
        self, kind: Callable[P, EventBase], /, *args: P.args, **payload: P.kwargs
    ) -> asyncio.Future[Ack | Error] | None:
        """Send a command of event class ``kind`` to the hub; the future resolves with the hub's
        ack or error.

        Returns ``None`` (and shows why) if the command could not even be built. A refusal by
        the hub is passed to :meth:`show_refusal` as well.
        """
        future = self.warroom.send_command(kind, *args, **payload)
        if future is not None:
            future.add_done_callback(self._report_refusal)
        return future

    def _report_refusal(self, future: asyncio.Future[Ack | Error]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        reply = future.result()
        if isinstance(reply, Error) and self.is_attached:
            self.show_refusal(reply)

    @property
    def incident_log(self) -> list[EventBase]:
        """Every event of the incident in order (named so as not to hide Textual's ``log``)."""
        return self.warroom.incident_log

    @property
    def incident_log_epoch(self) -> int:
        """Grows whenever :attr:`incident_log` was replaced rather than extended."""
        return self.warroom.incident_log_epoch


class ListDetailPane(IncidentPane):
    """A pane of lists beside the detail of the highlighted entry: moving in a list, or into
    another one, redraws the detail and what the footer offers for that entry. A refusal, and
    whatever else the pane has to say, shows on its own message line."""

    #: The ``Static`` the pane's messages show on.
    MESSAGE_LINE: ClassVar[str] = ""

    def say(self, message: str) -> None:
        """Show ``message`` on the pane's own line (empty clears it)."""
        line = self.query_one(self.MESSAGE_LINE, Static)
        line.update(message)
        line.set_class(bool(message), "shown")

    def show_refusal(self, error: Error) -> None:
        self.say(f"The hub refused: {error.message}")

    def _show_detail(self) -> None:
        """Draw the highlighted entry's detail (each pane its own)."""

    @on(OptionList.OptionHighlighted)
    @on(events.DescendantFocus)
    def _moved(self) -> None:
        self._show_detail()
        self.refresh_bindings()
