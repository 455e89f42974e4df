"""The export from the console: two command-palette entries, a path prompt, a background writer.

A console exports from its own copy of the log (no second connection to the hub, nothing added
to the record). Having joined by snapshot it holds only the latest events, so it first fetches the
older ones page by page (``history``) until its copy reaches the first event. The file is written in a thread worker so
the console keeps drawing and syncing while a long incident is written out; a notification says
where the file went, or why it could not be written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from warroom.core.events import EventBase
from warroom.export.exporter import ExportFileError, export_incidents
from warroom.export.postmortem import draft
from warroom.export.sources import LogSource

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp

#: Writes a log to a path and returns the path written.
Writer = Callable[[list[EventBase], Path], Path]

SQLITE = "Export the incident to SQLite"
DRAFT = "Write the postmortem draft"


def write_sqlite(log: list[EventBase], path: Path) -> Path:
    """The SQLite export of the incident in ``log`` (re-exporting updates the file in place)."""
    source = LogSource(log)
    export_incidents(source, path, source.incident_ids())
    return path.resolve()


def write_draft(log: list[EventBase], path: Path) -> Path:
    """The Markdown review draft of the incident in ``log``."""
    path.write_text(draft(None, log), encoding="utf-8")
    return path.resolve()


def export_commands(app: WarroomApp) -> Iterator[SystemCommand]:
    """The palette's export entries, once the console follows a declared incident."""
    client = app.client
    if client is None or not client.state.declared:
        return
    incident = client.incident_id
    yield SystemCommand(
        SQLITE,
        "Write the whole record to a SQLite file (sqlite3, sqlite-utils, Datasette)",
        lambda: _ask(app, SQLITE, Path(f"{incident}.db"), write_sqlite),
    )
    yield SystemCommand(
        DRAFT,
        "Write a blameless review draft in Markdown, from the record",
        lambda: _ask(app, DRAFT, Path(f"{incident}-review.md"), write_draft),
    )


def _ask(app: WarroomApp, what: str, default: Path, writer: Writer) -> None:
    def chosen(path: Path | None) -> None:
        if path is not None:
            start_writing(app, what, path, writer)

    app.push_screen(ExportPathScreen(what, default), chosen)


def start_writing(app: WarroomApp, what: str, path: Path, writer: Writer) -> None:
    """Write in a thread worker from a snapshot of the log; notify where it went."""
    client = app.client
    if client is None:
        return

    async def gather() -> None:
        if not await client.complete_history():
            app.notify(
                f"The console holds only the last {len(client.log)} events and cannot fetch the "
                "older ones now (is the hub reachable?). Try again once live, or export from the "
                "hub's database: warroom export --db FILE.",
                title=f"{what}: not written",
                severity="error",
                timeout=15,
            )
            return
        log = list(client.log)  # a copy: the client keeps appending on the UI's thread
        app.run_worker(partial(work, log), thread=True, group="export", exit_on_error=False)

    def work(log: list[EventBase]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = writer(log, path)
        except (OSError, sqlite3.Error, ExportFileError) as exc:
            app.call_from_thread(
                app.notify, str(exc), title=f"{what}: not written", severity="error", timeout=10
            )
            return
        app.call_from_thread(
            app.notify, f"Wrote {len(log)} events to {written}", title=what, timeout=10
        )

    app.run_worker(gather(), group="export", exit_on_error=False)


class ExportPathScreen(ModalScreen[Path]):
    """Where to write: the current directory by default, any path typed instead."""

    DEFAULT_CSS = """
    ExportPathScreen {
        align: center middle;
        background: $background 60%;
    }
    ExportPathScreen > #form {
        width: 76;
        max-width: 100%;
        height: auto;
        padding: 0 2;
        border: thick $accent;
        background: $surface;
    }
    ExportPathScreen #form-title {
        text-style: bold;
        margin: 1 0;
    }
    ExportPathScreen .form-context {
        color: $text-muted;
        margin: 0 0 1 0;
    }
    ExportPathScreen Input {
        margin: 0 0 1 0;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without writing anything"),
    ]

    def __init__(self, what: str, default: Path) -> None:
        super().__init__()
        self.what = what
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(self.what, id="form-title")
            yield Static(
                f"Relative paths are from {Path.cwd()}. Enter writes, escape cancels.",
                classes="form-context",
            )
            yield Input(str(self.default), id="export-path")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else self.default)

    def action_cancel(self) -> None:
        self.dismiss(None)
