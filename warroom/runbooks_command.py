"""``warroom runbooks check DIR`` and ``warroom runbooks examples``: runbook files without a hub.

``check`` reads a directory as the hub would at start-up (docs/RUNBOOKS.md) and prints every
problem with its file and line, so a CI job can refuse a broken runbook before it reaches the
hub; ``examples`` prints where the shipped examples are, to copy them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    about = "runbook files (docs/RUNBOOKS.md) without a hub: check them, find the examples"
    runbooks = sub.add_parser("runbooks", help=about, description=about)
    runbooks.set_defaults(handler=cmd_runbooks)
    verbs = runbooks.add_subparsers(dest="runbooks_command", metavar="ACTION", required=True)
    verbs.add_parser("check", help="check every *.toml in DIR as the hub would").add_argument(
        "dir", type=Path, help="the directory of runbook files"
    )
    verbs.add_parser("examples", help="print the directory of the shipped example runbooks")


def cmd_runbooks(args: argparse.Namespace) -> int:
    from warroom.hub.runbooks import RunbookError, load_dir, shipped_dir

    if args.runbooks_command == "examples":
        print(shipped_dir())
        return 0
    try:
        found = load_dir(args.dir)
    except RunbookError as exc:
        print(exc, file=sys.stderr)
        return 1
    for runbook in found:
        prod = sum(1 for s in runbook.steps if s.changes_production)
        print(
            f"{runbook.name}\t{len(runbook.steps)} steps ({prod} change production)\t{runbook.title}"
        )
    if not found:
        print(f"{args.dir}: no *.toml runbooks in it.")
    return 0
