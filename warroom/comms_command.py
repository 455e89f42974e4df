"""``warroom comms preview``: the next stakeholder update of an incident, printed for pasting.

For people who post updates through other tools (a status page, an email to executives): the
text is the one the comms pane would preview right now, prefilled from the incident, with nothing
unconfirmed in an external update. The update text goes to stdout alone; when the next update is
due goes to stderr, so ``warroom comms preview ... | pbcopy`` copies just the update.

It reads the log from a running hub (joining without presence, so it leaves no trace in the
record) or straight from the hub's database file.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The incident's models are imported when ``comms preview`` runs: building the parser is on
    # the path of every command, ``warroom join``'s first frame included (issue 24).
    from warroom.core.comms_state import Audience
    from warroom.core.state import IncidentState

#: ``--audience`` choices: the values of ``warroom.core.comms_state.Audience`` (a test keeps the
#: two the same), named here so the parser does not import the incident's models.
AUDIENCES = ("internal", "external")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    comms = sub.add_parser("comms", help="stakeholder updates from the command line")
    actions = comms.add_subparsers(dest="comms_command", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="print the next update for an incident, ready to paste",
        description="Print the next stakeholder update, prefilled from the incident, exactly "
        "as the comms pane would preview it now.",
    )
    where = preview.add_mutually_exclusive_group(required=True)
    where.add_argument("--hub", help="a running hub, e.g. ws://127.0.0.1:8765")
    where.add_argument("--db", type=Path, help="the hub's SQLite file, read directly")
    preview.add_argument(
        "--token",
        default=None,
        help="bearer token for --hub (default: WARROOM_TOKEN, then token in the config file)",
    )
    preview.add_argument("--incident", required=True, help="the incident id")
    preview.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="external",
        help="who it is for (default external: confirmed facts only)",
    )
    preview.add_argument(
        "--last", action="store_true", help="print the last published update instead"
    )
    preview.set_defaults(handler=cmd_preview)


def cmd_preview(args: argparse.Namespace) -> int:
    from warroom.config import ConfigError, hub_token
    from warroom.core.clock import utc_now
    from warroom.core.comms_state import Audience
    from warroom.core.fold import replay
    from warroom.export.sources import DatabaseSource, ExportSourceError, HubSource

    try:
        token = hub_token(args.token) if args.hub else None
    except ConfigError as exc:
        print(f"warroom comms: {exc}", file=sys.stderr)
        return 2
    try:
        source = DatabaseSource(args.db) if args.db else HubSource(args.hub, token)
        if args.incident not in source.incident_ids():
            print(f"warroom comms: no incident {args.incident} there.", file=sys.stderr)
            return 1
        state = replay(source.events(args.incident))
        source.close()
    except (ExportSourceError, OSError) as exc:
        print(f"warroom comms: {exc}", file=sys.stderr)
        return 1
    text, note = preview_text(state, Audience(args.audience), utc_now(), last=args.last)
    if text is None:
        print(f"warroom comms: {note}", file=sys.stderr)
        return 1
    print(text)
    if note:
        print(note, file=sys.stderr)
    return 0


def preview_text(
    state: IncidentState, audience: Audience, now: datetime, last: bool = False
) -> tuple[str | None, str]:
    """The text to print and a note on the schedule (or why there is nothing to print)."""
    from warroom.core.update_text import prefill, render

    if last:
        update = state.comms.last_update
        if update is None:
            return None, "no update has been published for this incident yet."
        when = update.at.astimezone(UTC).strftime("%H:%M UTC") if update.at else "?"
        return update.text, f"Published by {update.author} at {when} ({update.audience.value})."
    text = render(state, prefill(state, audience, now), now)
    return text, schedule_note(state, now)


def schedule_note(state: IncidentState, now: datetime) -> str:
    from warroom.core.cadence import countdown
    from warroom.core.update_text import clock_time

    shown = countdown(state, now)
    if shown is None:
        return "No update is scheduled for this incident."
    if shown.overdue:
        return f"The next update was due at {clock_time(shown.due_at)}: {shown.label()}."
    return f"The next update is due by {clock_time(shown.due_at)} ({shown.label()})."
