"""The handoff screen: one held role changing hands, seen from either side.

The outgoing holder reads the briefing (assembled live from the incident), adds free notes and
offers the role to a named participant. The incoming participant's console opens the same screen
by itself, with the briefing the offer carries, and accepts or declines. Until the acceptance the
outgoing holder keeps the role; the hub moves it in one event, and either screen closes itself
when the offer ends, saying how (accepted, declined, withdrawn, lapsed).

:class:`RolePrompts` decides what the console opens unasked: this screen when an offer names
this person, the read-in for a newcomer, and a nudge when a rotation is due. Each once.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Select, Static, TextArea

from warroom.console.clock_face import hm as hhmm
from warroom.console.clock_face import hm_zone
from warroom.console.messages import ClientChanged
from warroom.console.screens.form_keys import FIELD_BINDINGS, FieldKeys
from warroom.console.widgets.briefing import BriefingView
from warroom.console.widgets.pick import TypeToPick
from warroom.core.briefing import build_briefing, read_in_due
from warroom.core.comms import may_publish
from warroom.core.handoff import (
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HandoffWithdrawn,
    find_offer,
    offer_by,
    offer_to,
    rotation_suggested,
    title_of,
)
from warroom.core.handoff_state import HandoffOffer
from warroom.core.protocol import Error
from warroom.core.roles import ROLE_TITLES, Role
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.client.sync import IncidentClient
    from warroom.console.app import WarroomApp

#: Times a stale briefing is refreshed and re-sent before the refusal is shown.
STALE_RETRIES = 3


def candidates(state: IncidentState, me: str) -> list[str]:
    """Who can be offered a role now: online, not me, not an observer."""
    return sorted(
        p.name
        for p in state.participants.values()
        if p.online and p.name != me and not state.is_observer(p.name)
    )


def how_it_ended(state: IncidentState, offer_id: UUID) -> str:
    """The timeline line of the event that closed ``offer_id``, as the core folded it.

    An answer names the offer; a claim of IC or a reassignment of the role ends it too.
    """
    ending = state.ended_offers.get(offer_id)
    return ending.line if ending is not None else "The offer is no longer open."


class HandoffScreen(FieldKeys, ModalScreen[None]):
    """Hand over ``role`` (outgoing), or answer the offer ``offer_id`` (incoming).

    Its keys are a form's (:class:`FieldKeys`): a name picked, Tab and the notes typed in one
    burst land where they were meant to, not in the picker, whose letters pick names.
    """

    CSS_PATH = "handoff.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="handoff.close",
                tooltip="Back to the console; an open offer stays open until answered or lapsed"),
        Binding("ctrl+s", "offer_typed", "Offer", id="handoff.offer",
                tooltip="Offer the role to the person chosen, with this briefing and your notes"),
        Binding("ctrl+r", "withdraw", "Withdraw", id="handoff.withdraw",
                tooltip="Take your open offer back; you keep the role"),
        Binding("a", "accept", "Accept", id="handoff.accept",
                tooltip="Take the role now; it moves to you in one event"),
        Binding("d", "decline", "Decline", id="handoff.decline",
                tooltip="Say no; the outgoing holder keeps the role"),
        *FIELD_BINDINGS,
    ]  # fmt: skip

    def __init__(self, role: Role = Role.IC, offer_id: UUID | None = None) -> None:
        super().__init__()
        self.role = role
        #: Set on the incoming side: the offer being answered.
        self.offer_id = offer_id
        #: The outgoing side's open offer, to tell how it ended when it goes.
        self._open_offer: UUID | None = None
        self._candidates: list[str] = []
        self._ended = False

    @classmethod
    def incoming(cls, offer: HandoffOffer) -> HandoffScreen:
        return cls(role=offer.role, offer_id=offer.id)

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    @property
    def is_incoming(self) -> bool:
        return self.offer_id is not None

    @property
    def state(self) -> IncidentState:
        client = self.warroom.client
        return client.state if client is not None else IncidentState()

    # --- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="handoff-title")
        with Horizontal(id="handoff-body"):
            briefing = BriefingView(id="handoff-briefing")
            briefing.border_title = "Briefing"
            yield briefing
            with Vertical(id="handoff-side"):
                if self.is_incoming:
                    yield Label("Notes from the outgoing holder", classes="field-label")
                    yield Static("", id="handoff-notes-view")
                else:
                    yield Label("Offer to", classes="field-label")
                    yield TypeToPick([], prompt="Who takes over?", id="handoff-to")
                    yield Label("Notes: next steps, watch out for", classes="field-label")
                    yield TextArea(id="handoff-notes", placeholder="Next: ...\nWatch out for: ...")
                yield Static("", id="handoff-status")
                with Horizontal(id="handoff-buttons"):
                    if self.is_incoming:
                        yield Button("Decline (d)", id="decline")
                        yield Button("Accept (a)", variant="success", id="accept")
                    else:
                        yield Button("Withdraw (^r)", id="withdraw")
                        yield Button("Offer (^s)", variant="warning", id="offer")
        yield Footer()

    def on_mount(self) -> None:
        if not self.is_incoming:
            notes = self.query_one("#handoff-notes", TextArea)
            notes.cursor_blink = self.warroom.blink
        self.redraw()
        if not self.is_incoming:
            self.query_one("#handoff-to", Select).focus()
        else:
            self.query_one("#accept", Button).focus()

    def on_client_changed(self, message: ClientChanged) -> None:
        self.redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only the keys of this side, and of the offer's stage."""
        if action in ("accept", "decline"):
            return self.is_incoming
        if action in ("offer", "offer_typed"):
            return not self.is_incoming and offer_by(self.state, self.warroom.me, self.role) is None
        if action == "withdraw":
            return (
                not self.is_incoming
                and offer_by(self.state, self.warroom.me, self.role) is not None
            )
        return True

    # --- attributes down ------------------------------------------------------------------------
    def redraw(self) -> None:
        if self._ended:
            return
        if self.is_incoming:
            self._redraw_incoming(self.state)
        else:
            self._redraw_outgoing(self.state)
        self.refresh_bindings()

    def _redraw_outgoing(self, state: IncidentState) -> None:
        me, role = self.warroom.me, self.role
        if state.holder(role) != me:
            ended = how_it_ended(self.state, self._open_offer) if self._open_offer else ""
            self._close_with(ended or f"You no longer hold the {title_of(role)} role.")
            return
        pending = offer_by(state, me, role)
        title = self.query_one("#handoff-title", Static)
        title.update(f"Hand over: {ROLE_TITLES[role]} · {state.severity} · {state.title}")
        briefing = self.query_one(BriefingView)
        briefing.briefing = pending.briefing if pending else build_briefing(state, role)
        briefing.now = self.warroom.clock()
        status = self.query_one("#handoff-status", Static)
        picker = self.query_one("#handoff-to", Select)
        notes = self.query_one("#handoff-notes", TextArea)
        self._refresh_candidates(state, picker, pending)
        if pending is not None:
            self._open_offer = pending.id
            status.update(
                f"Offered to {pending.incoming} at {hhmm(pending.offered_at)}, open until "
                f"{hhmm(pending.expires_at)}. You stay {title_of(role)} until "
                f"{pending.incoming} accepts."
            )
            picker.disabled = notes.read_only = True
        else:
            if self._open_offer is not None:
                status.update(how_it_ended(self.state, self._open_offer))
                self._open_offer = None
            elif not self._candidates:
                status.update("Nobody else is online to take over.")
            picker.disabled = notes.read_only = False
        self.query_one("#withdraw", Button).display = pending is not None
        self.query_one("#offer", Button).display = pending is None

    def _refresh_candidates(
        self, state: IncidentState, picker: Select[str], pending: HandoffOffer | None
    ) -> None:
        names = candidates(state, self.warroom.me)
        if pending is not None and pending.incoming not in names:
            names = sorted({*names, pending.incoming})
        if names == self._candidates:
            return
        chosen = pending.incoming if pending is not None else picker.value
        self._candidates = names
        picker.set_options([(n, n) for n in names])
        if isinstance(chosen, str) and chosen in names:
            picker.value = chosen

    def _redraw_incoming(self, state: IncidentState) -> None:
        assert self.offer_id is not None
        offer = find_offer(state, self.offer_id)
        if offer is None:
            self._close_with(how_it_ended(self.state, self.offer_id))
            return
        self.query_one("#handoff-title", Static).update(
            f"{offer.outgoing} offers you the role: {ROLE_TITLES[offer.role]} · "
            f"{state.severity} · {state.title}"
        )
        briefing = self.query_one(BriefingView)
        briefing.briefing = offer.briefing
        briefing.now = self.warroom.clock()
        self.query_one("#handoff-notes-view", Static).update(offer.notes or "(no notes)")
        lines = [
            f"Offered at {hhmm(offer.offered_at)}, open until {hhmm(offer.expires_at)}.",
            f"Until you accept, {offer.outgoing} stays {title_of(offer.role)}.",
        ]
        if build_briefing(state, offer.role) != offer.briefing:
            lines.append("The incident has moved on since this briefing; the panes are current.")
        self.query_one("#handoff-status", Static).update(" ".join(lines))

    def _close_with(self, message: str) -> None:
        """Say how the handoff ended and close (once this screen is on top again)."""
        if self._ended:
            return
        self._ended = True
        self.app.notify(message, title="Handoff", timeout=10)
        if self.app.screen is self:
            self.app.call_later(self._leave)

    def on_screen_resume(self) -> None:
        if self._ended:
            self.app.call_later(self._leave)

    def _leave(self) -> None:
        """Pop this screen from the app's side, not from inside one of its own handlers."""
        if self.app.screen is self:
            self.dismiss(None)

    # --- acting ---------------------------------------------------------------------------------
    def show_status(self, message: str) -> None:
        self.query_one("#handoff-status", Static).update(message)

    def action_close(self) -> None:
        self.dismiss(None)

    async def action_offer_typed(self) -> None:
        """``ctrl+s``: the offer, once the notes typed before it are in their field."""
        await self.after_typed_keys("offer")

    def action_offer(self) -> None:
        if self.is_incoming:
            return
        to = self.query_one("#handoff-to", Select).value
        if not isinstance(to, str):
            self.show_status("Choose who takes over.")
            return
        notes = self.query_one("#handoff-notes", TextArea).text.strip()
        self._offer(to, notes)

    @work(exclusive=True, group="handoff")
    async def _offer(self, to: str, notes: str) -> None:
        """Send the offer with the briefing as shown; refresh and resend it if it went stale."""
        client = self.warroom.client
        for attempt in range(STALE_RETRIES):
            state = self.state
            future = self.warroom.send_command(
                HandoffOffered,
                offered_role=self.role.value,
                to=to,
                notes=notes,
                briefing=build_briefing(state, self.role).model_dump(mode="json"),
            )
            if future is None:
                return
            self.show_status(f"Offering the role to {to}…")
            reply = await future
            stale = isinstance(reply, Error) and reply.code == "briefing_stale"
            if stale and client is not None and attempt + 1 < STALE_RETRIES:
                # The change that made it stale is on its way here: wait for it, then resend.
                with contextlib.suppress(TimeoutError):
                    await client.wait_for_seq(state.seq + 1, timeout=2)
                continue
            if isinstance(reply, Error):
                self.show_status(f"The hub refused: {reply.message}")
            return

    def action_withdraw(self) -> None:
        offer = offer_by(self.state, self.warroom.me, self.role)
        if offer is not None:
            self._answer(HandoffWithdrawn, offer)

    def action_accept(self) -> None:
        offer = find_offer(self.state, self.offer_id) if self.offer_id else None
        if offer is not None:
            self._answer(HandoffAccepted, offer)

    def action_decline(self) -> None:
        offer = find_offer(self.state, self.offer_id) if self.offer_id else None
        if offer is not None:
            self._answer(HandoffDeclined, offer)

    def _answer(
        self, kind: type[HandoffAccepted | HandoffDeclined | HandoffWithdrawn], offer: HandoffOffer
    ) -> None:
        future = self.warroom.send_command(
            kind,
            offer=str(offer.id),
            offered_role=offer.role.value,
            outgoing=offer.outgoing,
            incoming=offer.incoming,
        )
        if future is not None:
            self.show_status("Waiting for the hub…")
            self._await_reply(future)

    @work(exclusive=True, group="handoff")
    async def _await_reply(self, future: object) -> None:
        reply = await future  # type: ignore[misc]
        if isinstance(reply, Error):
            self.show_status(f"The hub refused: {reply.message}")

    @on(Button.Pressed)
    async def _pressed(self, event: Button.Pressed) -> None:
        """Each button is named after the action its key runs."""
        if event.button.id in ("offer", "withdraw", "accept", "decline"):
            await self.run_action(event.button.id)


class RolePrompts:
    """What the console opens unasked as the incident changes; each thing once per console."""

    def __init__(self) -> None:
        self.offers_shown: set[UUID] = set()
        self.read_in_checked = False
        self.rotations_nudged: set[tuple[Role, object]] = set()
        #: Overdue update episodes already announced (so each is announced once).
        self.overdue_announced = 0

    def update(self, app: WarroomApp, client: IncidentClient) -> None:
        state, me = client.state, app.me
        if not state.declared or me not in state.participants:
            return
        if not self.read_in_checked and client.status == "live":
            self.read_in_checked = True
            if read_in_due(state, me):
                from warroom.console.screens.read_in import ReadInScreen

                app.push_screen(ReadInScreen())
        offer = offer_to(state, me)
        if offer is not None and offer.id not in self.offers_shown:
            self.offers_shown.add(offer.id)
            app.push_screen(HandoffScreen.incoming(offer))
        self._announce_overdue(app, state)
        for role in state.roles_of(me):
            hint = state.rotation.get(role)
            if hint is None or not rotation_suggested(state, role):
                continue
            if (role, hint.at) in self.rotations_nudged:
                continue
            self.rotations_nudged.add((role, hint.at))
            app.notify(
                f"You have been {title_of(role)} since {hhmm(hint.since)}. Time to hand over to "
                "someone fresh: press 6 for the roster, then h.",
                title="Rotation due",
                severity="warning",
                timeout=30,
            )

    def _announce_overdue(self, app: WarroomApp, state: IncidentState) -> None:
        """Tell whoever may publish (the comms lead, the IC), once per episode, that a
        stakeholder update is overdue. It lives here rather than in the comms pane because the
        warning is owed whichever pane is in front, and the console mounts the panes behind the
        first one only after its first frame (issue 24)."""
        episodes = state.comms.overdue_episodes
        open_episode = state.comms.open_episode
        fresh = len(episodes) > self.overdue_announced and open_episode is not None
        if fresh and open_episode is not None and may_publish(state, app.me):
            app.notify(
                f"The stakeholder update due at {hm_zone(open_episode.due_at)} has not "
                "been published. Press 5 for the comms pane, then i or e.",
                title="Update overdue",
                severity="warning",
                timeout=30,
            )
        self.overdue_announced = len(episodes)
