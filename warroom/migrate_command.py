"""``warroom migrate --from FILE --to URL``: move a SQLite hub's history into PostgreSQL (#22).

Run it on the hub's host with the hub stopped: it copies every incident's log and what the hub
keeps beside it (see ``server/migrate.py``), checks the copy, and prints what it copied.
``--dry-run`` counts without writing. Exit codes: 0 copied (or counted), 1 refused (a hub holds
the file, or the target already holds incidents), 2 unusable (a missing or broken file, an
unreachable database).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "migrate",
        help="move a SQLite hub's history into PostgreSQL",
        description="Copy every incident, person, gate credential and alert group of a SQLite "
        "hub's database into a PostgreSQL database, verify the copy, and print a summary. Stop "
        "the hub first; start the hubs on PostgreSQL afterwards.",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="FILE",
        help="the SQLite hub's database file",
    )
    parser.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the PostgreSQL database, postgresql://USER:PASSWORD@HOST:PORT/NAME",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be copied; write nothing"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="copy into a database that already holds incidents (refused if any incident, "
        "person, gate credential or alert group is in both)",
    )
    parser.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    from warroom.hub.migrate import MigrationError, migrate

    def progress(line: str) -> None:
        print(f"  {line}...", file=sys.stderr, flush=True)

    try:
        summary = migrate(
            args.source.expanduser(),
            args.target,
            dry_run=args.dry_run,
            merge=args.merge,
            progress=progress,
        )
    except MigrationError as exc:
        print(f"warroom migrate: {exc}", file=sys.stderr)
        return exc.exit_code
    except ImportError:
        print(
            "warroom migrate: psycopg is not installed (pip install 'warroom[postgres]').",
            file=sys.stderr,
        )
        return 2
    print("\n".join(summary.lines()))
    return 1 if summary.dry_run and summary.blockers else 0
