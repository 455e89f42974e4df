"""``warroom export``: the command-line front of the exporter and of the postmortem draft."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.export.sources import Source

# The exporter, the postmortem and the sources are imported by the handlers, not here: every
# ``warroom`` command builds this parser, and ``warroom join`` must not pay for SQLite-utils,
# httpx and the export's tables before its first frame (issue 24).

#: Output names that mean Markdown when ``--format`` is not given.
MARKDOWN_SUFFIXES = (".md", ".markdown")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export",
        help="write an incident's record to SQLite, or a postmortem draft in Markdown",
        description="Export from a running hub (its URL, or --hub) or from the hub's database "
        "file (its path, or --db). "
        "The SQLite file opens in sqlite3, sqlite-utils or Datasette; see docs/EXPORT.md.",
    )
    # Where from: as `warroom join` takes a hub, first (a URL or the database file), or by flag.
    export.add_argument(
        "source",
        nargs="?",
        default=None,
        metavar="HUB_OR_DB",
        help="a running hub's URL (ws:// or wss://) or the hub's database file: the same as "
        "--hub or --db",
    )
    where = export.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, help="the hub's SQLite file, read directly")
    where.add_argument("--hub", help="a running hub, e.g. ws://127.0.0.1:8765")
    export.add_argument(
        "--token",
        default=None,
        help="bearer token for a hub (default: WARROOM_TOKEN, then token in the config file, as "
        "warroom join finds it)",
    )
    export.add_argument("--cafile", default=None, help="CA bundle for a wss:// hub")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--incident", action="append", help="incident id (repeatable)")
    which.add_argument("--all", action="store_true", help="every incident in the source")
    export.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the export file (.db for SQLite, .md for a Markdown draft)",
    )
    export.add_argument(
        "--format",
        choices=("sqlite", "markdown"),
        default=None,
        help="sqlite or markdown (default: markdown for a .md file, else sqlite)",
    )
    export.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=cmd_export)


def _where_from(args: argparse.Namespace) -> str | None:
    """Fill ``args.hub`` or ``args.db`` from the positional source; a message if it cannot."""
    if args.source is None:
        if args.db is None and args.hub is None:
            return (
                "say where from: a running hub (warroom export ws://HOST:PORT ...) or the hub's "
                "database file (warroom export --db FILE ...)."
            )
        return None
    if args.db is not None or args.hub is not None:
        return f"{args.source!r} and --db/--hub both say where from; give one."
    if args.source.startswith(("ws://", "wss://")):
        args.hub = args.source
    else:
        args.db = Path(args.source)
    return None


def cmd_export(args: argparse.Namespace) -> int:
    from warroom.export.exporter import ExportFileError, export_incidents
    from warroom.export.sources import DatabaseSource, ExportSourceError, HubSource

    problem = _where_from(args)
    if problem is not None:
        return _fail(problem)
    if args.hub is not None:
        # As `warroom join` finds it, so a token need not be typed where the shell keeps it.
        from warroom.config import ConfigError, hub_token

        try:
            args.token = hub_token(args.token)
        except ConfigError as exc:
            return _fail(str(exc))
    fmt = args.format or ("markdown" if args.out.suffix in MARKDOWN_SUFFIXES else "sqlite")
    if args.db is not None and args.out.resolve() == args.db.resolve():
        return _fail("--out is the hub's own database; choose another file.")
    if args.out.is_dir():
        example = args.out / ("review.md" if fmt == "markdown" else "review.db")
        return _fail(f"{args.out} is a directory; give a file name, like {example}.")
    try:
        source: Source = (
            DatabaseSource(args.db) if args.db else HubSource(args.hub, args.token, args.cafile)
        )
    except ExportSourceError as exc:
        return _fail(str(exc))
    try:
        known = source.incident_ids()
        wanted = known if args.all else list(dict.fromkeys(args.incident))
        missing = [i for i in wanted if i not in known]
        if missing:
            return _fail(
                f"no incident {', '.join(missing)} in {args.db or args.hub} "
                f"(there: {', '.join(known) or 'none'})."
            )
        if not wanted:
            return _fail(f"there are no incidents in {args.db or args.hub}.")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "markdown":
            return _markdown(source, wanted, args.out)
        progress = None if args.quiet or not sys.stderr.isatty() else _progress_bar
        result = export_incidents(source, args.out, wanted, progress=progress)
    except (ExportSourceError, ExportFileError) as exc:
        return _fail(str(exc))
    except (OSError, sqlite3.Error) as exc:
        return _fail(f"writing {args.out} failed: {exc}")
    finally:
        source.close()
    if progress:
        print(file=sys.stderr)
    print(
        f"Exported {len(result.incidents)} incident(s), {result.events} events, to "
        f"{result.path.resolve()}"
    )
    return 0


def _markdown(source: Source, wanted: list[str], out: Path) -> int:
    from warroom.export.postmortem import draft

    parts = [draft(None, source.events(incident_id)) for incident_id in wanted]
    out.write_text("\n\n".join(parts), encoding="utf-8")
    print(f"Wrote the postmortem draft for {', '.join(wanted)} to {out.resolve()}")
    return 0


def _fail(message: str) -> int:
    print(f"warroom export: {message}", file=sys.stderr)
    return 1


def _progress_bar(incident_id: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r{incident_id} [{bar}] {done}/{total} events")
    sys.stderr.flush()
