"""Status page links: the comms lead or the IC shares the incident's page, and takes it back.

Opened with ``l`` in the comms pane. A new link's address is shown once, on a screen of its own
that stays until closed (``c`` copies it), and under the form: the secret in it exists only in
this console, the hub keeps its digest. Revoking a link (``x`` on its row) closes every page
open with it at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static

from warroom.console.screens.form_fields import field_label
from warroom.console.screens.lock_form import LockForm
from warroom.console.screens.shown_once import page_link_screen
from warroom.core.comms_state import Audience
from warroom.core.protocol import Error
from warroom.core.status_page import PageLinkCreated, PageLinkRevoked
from warroom.core.status_page_state import new_page_link, page_url
from warroom.core.update_text import clock_time

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp

AUDIENCES = [
    ("External: customers (external updates only)", Audience.EXTERNAL.value),
    ("Internal: the company (every update)", Audience.INTERNAL.value),
]


class PageLinksForm(LockForm[None]):
    """Make a page link (ctrl+s), see the live ones, revoke one (x on its row)."""

    DEFAULT_CSS = """
    PageLinksForm #link-new { margin: 0 0 1 0; color: $text-success; text-style: bold; }
    PageLinksForm #link-list { height: auto; max-height: 6; margin: 0 0 1 0; }
    """
    FIRST = "#link-label"
    ENTER = "submit"
    BINDINGS: ClassVar[list[BindingType]] = [
        *LockForm.BINDINGS,
        Binding("x", "revoke", "Revoke link", id="links.revoke",
                tooltip="Revoke the selected link: its pages stop at once"),
    ]  # fmt: skip

    @property
    def warroom(self) -> WarroomApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Label("Status page links", id="form-title")
            yield Static(
                "Opens this incident's status page in a browser: published updates, severity, "
                "phase. The address is shown once.",
                classes="form-context",
            )
            yield field_label("Who it is for")
            yield Input(placeholder="e.g. support desk", id="link-label", max_length=60)
            yield field_label("Audience")
            yield Select(AUDIENCES, value=Audience.EXTERNAL.value, allow_blank=False,
                         id="link-audience")  # fmt: skip
            yield Static("", id="link-new")
            yield Label("Live links (x revokes the selected one)", classes="field-label")
            yield DataTable(id="link-list", cursor_type="row")
            yield from self.form_end("Create link (ctrl+s)", "primary", compact=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#link-new", Static).display = False
        self.query_one("#link-list", DataTable).add_columns("Link", "Audience", "For", "Made")
        self._show_links()
        self.set_interval(0.5, self._show_links)

    def _show_links(self) -> None:
        client = self.warroom.client
        table = self.query_one("#link-list", DataTable)
        live = [] if client is None else [
            link for link in client.state.page_links.values() if not link.revoked
        ]  # fmt: skip
        shown = [str(key.value) for key in table.rows]
        if shown == [link.link_id for link in live]:
            return
        table.clear()
        for link in live:
            made = f"{link.created_by} {clock_time(link.created_at)}" if link.created_at else ""
            table.add_row(link.link_id, link.audience.value, link.label, made, key=link.link_id)

    def action_submit(self) -> None:
        client = self.warroom.client
        if client is None:
            return
        audience = self.query_one("#link-audience", Select).value
        label = self.query_one("#link-label", Input).value.strip()
        issued = new_page_link()
        future = self.warroom.send_command(
            PageLinkCreated,
            link_id=issued.link_id,
            digest=issued.digest,
            audience=str(audience),
            label=label,
        )
        if future is None:
            return
        self.show_error("")
        url = page_url(self.warroom.url, client.incident_id, issued.key)
        self._created(future, url, issued.link_id, str(audience))

    @work(exclusive=True, group="page-link")
    async def _created(self, future: object, url: str, link_id: str, audience: str) -> None:
        reply = await future  # type: ignore[misc]
        if isinstance(reply, Error):
            self.show_error(f"The hub refused: {reply.message}")
            return
        shown = self.query_one("#link-new", Static)
        shown.update(f"New link (shown only now; copy it):\n{url}")
        shown.display = True
        self.query_one("#link-label", Input).value = ""
        self._show_links()
        await self.app.push_screen(page_link_screen(url, link_id, audience))

    def action_revoke(self) -> None:
        table = self.query_one("#link-list", DataTable)
        if table.row_count == 0:
            self.show_error("There is no live link to revoke.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        link_id = str(row_key.value)
        future = self.warroom.send_command(PageLinkRevoked, link_id=link_id)
        if future is not None:
            self._revoked(future, link_id)

    @work(group="page-link-revoke")
    async def _revoked(self, future: object, link_id: str) -> None:
        reply = await future  # type: ignore[misc]
        if isinstance(reply, Error):
            self.show_error(f"The hub refused: {reply.message}")
            return
        self.notify(f"Link {link_id} revoked; pages open with it have stopped.", timeout=6)
        self._show_links()
