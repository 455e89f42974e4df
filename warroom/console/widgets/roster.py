"""The roster pane: who holds each role, since when, and who is in the room right now."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label

from warroom.console.clock_face import hm
from warroom.console.css import tcss_beside
from warroom.console.widgets.pane import IncidentPane, Probe
from warroom.core.handoff import IcClaimed, offer_to
from warroom.core.incident import RoleAssigned
from warroom.core.protocol import Error
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.roster import SHORT_TITLES, RoleRow, holds_label, person_rows, role_rows
from warroom.core.state import IncidentState


def hhmm(at: datetime | None) -> str:
    return hm(at, "—")


class RosterPane(IncidentPane):
    """The held roles first (vacant ones too, so gaps are visible), then everyone who joined."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP = (
        "Who holds each role (IC, technical lead, comms lead, scribe) and since when (UTC), and "
        "everyone who joined, online or not. Vacant roles are listed so the gap is visible. "
        "h hands over a role you hold (or answers an offer made to you); the IC assigns the "
        "selected role with a; c claims IC when the room has no IC in it; b shows the briefing."
    )
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"hand_over", "hand_over_mine", "assign", "claim_ic"}
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "hand_over", "Hand over", id="roster.hand_over",
                tooltip="Offer the selected role you hold to someone, with a briefing"),
        Binding("a", "assign", "Assign", id="roster.assign",
                tooltip="IC: give the selected role (not IC) to someone, or vacate it"),
        Binding("c", "claim_ic", "Claim IC", id="roster.claim_ic",
                tooltip="Take the IC role when it is vacant or its holder is offline"),
        Binding("b", "briefing", "Briefing", id="roster.briefing",
                tooltip="What the IC would hand over right now"),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        yield Label("Roles", classes="roster-heading")
        yield DataTable(id="roster-roles", cursor_type="row", zebra_stripes=False)
        yield Label("People", classes="roster-heading", id="roster-people-heading")
        yield DataTable(id="roster-people", cursor_type="row")

    def on_mount(self) -> None:
        roles = self.query_one("#roster-roles", DataTable)
        roles.add_columns("Role", "Held by", "Since", "")
        people = self.query_one("#roster-people", DataTable)
        people.add_columns("", "Name", "Joined as", "Holds", "Joined", "Last seen")
        super().on_mount()

    def render_state(self, state: IncidentState) -> None:
        # Without the hub for long, who is online is not known: say so rather than show the
        # room as it was when the link dropped.
        known = self.warroom.presence_known
        roles = self.query_one("#roster-roles", DataTable)
        selected = roles.cursor_row
        roles.clear()
        for row in role_rows(state, self.warroom.clock()):
            if row.holder is None:
                roles.add_row(row.title, "vacant", "—", role_note(row), key=row.role.value)
            else:
                roles.add_row(
                    row.title,
                    f"{row.holder}{'' if row.online or not known else ' (offline)'}",
                    hhmm(row.since),
                    role_note(row),
                    key=row.role.value,
                )
        roles.move_cursor(row=selected)
        self.query_one("#roster-people-heading", Label).update(
            "People" if known else "People · presence unknown: the hub is unreachable"
        )
        people = self.query_one("#roster-people", DataTable)
        people.clear()
        for person in person_rows(state):
            held = holds_label(person.roles)
            if person.offered is not None:
                held = f"{held} (offered {SHORT_TITLES[person.offered]})".strip()
            people.add_row(
                presence_mark(person.online, known, person.name == self.me),
                person.name,
                ROLE_TITLES[person.seat],
                held or "—",
                hhmm(person.joined_at),
                last_seen(person.online, known, person.name == self.me, person.last_seen),
                key=person.name,
            )
        self.refresh_bindings()

    # --- acting -----------------------------------------------------------------------------
    @property
    def selected_role(self) -> Role:
        """The role under the cursor in the roles table (IC when nothing is selected)."""
        row = self.query_one("#roster-roles", DataTable).cursor_row
        return HELD_ROLES[row] if 0 <= row < len(HELD_ROLES) else Role.IC

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        state, me = self.state, self.me
        if action in ("hand_over", "hand_over_mine"):
            return True if state.roles_of(me) or offer_to(state, me) else None
        if action in ("assign", "claim_ic"):
            return True if self.allows(action) else None
        return True

    def probe(self, action: str) -> Probe | None:
        if action == "claim_ic":
            return IcClaimed, {"previous": self.state.ic}
        if action == "assign":
            return RoleAssigned, {"assigned_role": self.selected_role.value, "holder": None}
        return None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def action_hand_over(self) -> None:
        from warroom.console.screens.handoff import HandoffScreen

        state, me = self.state, self.me
        offer = offer_to(state, me)
        held = state.roles_of(me)
        if self.selected_role in held:
            self.app.push_screen(HandoffScreen(self.selected_role))
        elif offer is not None:
            self.app.push_screen(HandoffScreen.incoming(offer))
        elif held:
            self.app.push_screen(HandoffScreen(held[0]))

    def action_hand_over_mine(self) -> None:
        """Hand over a role I hold from any pane: IC first, else my first held role."""
        from warroom.console.screens.handoff import HandoffScreen

        held = self.state.roles_of(self.me)
        offer = offer_to(self.state, self.me)
        if held:
            self.app.push_screen(HandoffScreen(Role.IC if Role.IC in held else held[0]))
        elif offer is not None:
            self.app.push_screen(HandoffScreen.incoming(offer))

    def action_assign(self) -> None:
        from warroom.console.screens.role_assign import RoleAssignForm

        role = self.selected_role
        if self.allows("assign"):
            self.app.push_screen(RoleAssignForm(role, self.state, self.me))

    def action_claim_ic(self) -> None:
        if not self.allows("claim_ic"):
            return
        future = self.send(IcClaimed, previous=self.state.ic)
        if future is not None:
            future.add_done_callback(self._claimed)

    def _claimed(self, future: object) -> None:
        reply = future.result()  # type: ignore[attr-defined]
        if not isinstance(reply, Error):
            self.notify("You are the incident commander now.", title="IC claimed")

    def action_briefing(self) -> None:
        from warroom.console.screens.read_in import ReadInScreen

        self.app.push_screen(ReadInScreen(full=True))


def presence_mark(online: bool, known: bool = True, me: bool = False) -> str:
    """● online, ○ not; ? when the hub has been unreachable for long (this console: ○)."""
    if not known:
        return "○" if me else "?"
    return "●" if online else "○"


def last_seen(online: bool, known: bool, me: bool, seen: datetime | None) -> str:
    """The roster's last column: ``online``, the time they left, or what was last known."""
    if known:
        return "online" if online else hhmm(seen)
    if me:
        return "offline"  # this console has no link to the room
    return "was online" if online else hhmm(seen)


def role_note(row: RoleRow) -> str:
    """What else to know about a role: a second role, a pending offer, a rotation due."""
    notes = []
    if row.also_holds:
        notes.append("also " + holds_label(row.also_holds))
    if row.offer is not None:
        notes.append(f"offered to {row.offer.incoming} ({hhmm(row.offer.expires_at)})")
    if row.rotation_due:
        notes.append("rotation due")
    return "; ".join(notes)
