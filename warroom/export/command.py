"""``warroom export``: the command-line front of the exporter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warroom.export.exporter import export_incidents
from warroom.export.sources import DatabaseSource, ExportSourceError, HubSource


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser(
        "export",
        help="write an incident's record to SQLite, or a postmortem draft in Markdown",
        description="Export from the hub's database file (--db) or from a running hub (--hub).",
    )
    where = export.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="the hub's SQLite file, read directly")
    where.add_argument("--hub", help="a running hub, e.g. ws://127.0.0.1:8765")
    export.add_argument("--token", default=None, help="bearer token for --hub")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--incident", action="append", help="incident id (repeatable)")
    which.add_argument("--all", action="store_true", help="every incident in the source")
    export.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the export file (.db for SQLite, .md for --format markdown)",
    )
    export.add_argument("--format", choices=("sqlite", "markdown"), default="sqlite")
    export.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        source = DatabaseSource(args.db) if args.db else HubSource(args.hub, args.token)
        known = source.incident_ids()
    except (ExportSourceError, OSError) as exc:
        print(f"warroom export: {exc}", file=sys.stderr)
        return 1
    wanted = known if args.all else args.incident
    missing = [i for i in wanted if i not in known]
    if missing:
        print(
            f"warroom export: no incident {', '.join(missing)} in the source "
            f"(known: {', '.join(known) or 'none'}).",
            file=sys.stderr,
        )
        return 1
    if args.format == "markdown":
        return _markdown(source, wanted, args.out)
    progress = None if args.quiet or not sys.stderr.isatty() else _progress_bar
    result = export_incidents(source, args.out, wanted, progress=progress)
    if progress:
        print(file=sys.stderr)
    print(
        f"Exported {len(result.incidents)} incident(s), {result.events} events, to "
        f"{result.path.resolve()}"
    )
    return 0


def _markdown(source: DatabaseSource | HubSource, wanted: list[str], out: Path) -> int:
    from warroom.core.fold import replay
    from warroom.export.postmortem import draft

    parts = []
    for incident_id in wanted:
        log = list(source.events(incident_id))
        parts.append(draft(replay(log), log))
    out.write_text("\n\n".join(parts), encoding="utf-8")
    print(f"Wrote the postmortem draft for {', '.join(wanted)} to {out.resolve()}")
    return 0


def _progress_bar(incident_id: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r{incident_id} [{bar}] {done}/{total} events")
    sys.stderr.flush()
