"""The help screen: the keys of the pane in front of you, then the keys that work everywhere."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from warroom.console.panes import PANES
from warroom.console.widgets.pane import IncidentPane


class HelpScreen(ModalScreen[None]):
    """Lists bindings; any of Escape, q or ? closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close",
                tooltip="Back to the console"),
    ]  # fmt: skip

    def __init__(self, pane: IncidentPane | None, active: dict[str, ActiveBinding]) -> None:
        super().__init__()
        self.pane = pane
        self.active = active

    def compose(self) -> ComposeResult:
        pane = self.pane
        spec = next((s for s in PANES if pane is not None and pane.id == f"pane-{s.id}"), None)
        title = spec.title if spec else "Console"
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"Keys · {title}"
            box.border_subtitle = "Esc closes"
            if pane is not None and pane.HELP:
                yield Static(pane.HELP, id="help-about")
            yield Label(f"{title} pane", classes="help-heading")
            yield Static(self._table(here=True), id="help-pane-keys")
            yield Label("Everywhere", classes="help-heading")
            yield Static(self._table(here=False), id="help-global-keys")

    def _table(self, here: bool) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        rows = 0
        seen: set[str] = set()
        for key, active in self.active.items():
            node, binding = active.node, active.binding
            from_pane = self.pane is not None and (
                node is self.pane or self.pane in getattr(node, "ancestors", [])
            )
            if from_pane != here or binding.action in seen:
                continue
            if from_pane and node is not self.pane and not binding.show:
                continue  # the editing keys of inputs and lists: not this pane's own actions
            seen.add(binding.action)
            keys = ", ".join(
                self.app.get_key_display(b.binding)
                for b in self.active.values()
                if b.binding.action == binding.action and b.node is node
            )
            text = binding.tooltip or binding.description or binding.action
            table.add_row(keys or key, Text(text, style="" if active.enabled else "dim"))
            rows += 1
        if not rows:
            table.add_row("", Text("No keys of its own." if here else "—", style="dim"))
        return table
