"""The roster pane: who holds each role, since when, and who is in the room right now."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from warroom.console.css import tcss_beside
from warroom.console.widgets.pane import IncidentPane
from warroom.core.roles import HELD_ROLES, ROLE_TITLES
from warroom.core.state import IncidentState


def hhmm(at: datetime | None) -> str:
    return at.strftime("%H:%M") if at else "—"


class RosterPane(IncidentPane):
    """The held roles first (vacant ones too, so gaps are visible), then everyone who joined."""

    DEFAULT_CSS = tcss_beside(__file__)
    HELP = (
        "Who holds each role (IC, technical lead, comms lead, scribe) and since when (UTC), and "
        "everyone who joined, online or not. Vacant roles are listed so the gap is visible."
    )

    def compose(self) -> ComposeResult:
        yield Label("Roles", classes="roster-heading")
        yield DataTable(id="roster-roles", cursor_type="row", zebra_stripes=False)
        yield Label("People", classes="roster-heading")
        yield DataTable(id="roster-people", cursor_type="row")

    def on_mount(self) -> None:
        roles = self.query_one("#roster-roles", DataTable)
        roles.add_columns("Role", "Held by", "Since")
        people = self.query_one("#roster-people", DataTable)
        people.add_columns("", "Name", "Joined as", "Holds", "Joined", "Last seen")
        super().on_mount()

    def render_state(self, state: IncidentState) -> None:
        roles = self.query_one("#roster-roles", DataTable)
        roles.clear()
        for role in HELD_ROLES:
            holding = state.roles.get(role)
            if holding is None:
                roles.add_row(ROLE_TITLES[role], "vacant", "—", key=role.value)
            else:
                online = self._online(state, holding.holder)
                roles.add_row(
                    ROLE_TITLES[role],
                    f"{holding.holder}{'' if online else ' (offline)'}",
                    hhmm(holding.since),
                    key=role.value,
                )
        people = self.query_one("#roster-people", DataTable)
        people.clear()
        ordered = sorted(state.participants.values(), key=lambda p: (not p.online, p.name))
        for person in ordered:
            held = ", ".join(ROLE_TITLES[r] for r in state.roles_of(person.name)) or "—"
            people.add_row(
                "●" if person.online else "○",
                person.name,
                ROLE_TITLES[person.seat],
                held,
                hhmm(person.joined_at),
                "online" if person.online else hhmm(person.last_seen),
                key=person.name,
            )

    @staticmethod
    def _online(state: IncidentState, name: str) -> bool:
        person = state.participants.get(name)
        return person is not None and person.online
