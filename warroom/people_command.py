"""``warroom people add|list|revoke``: the team's personal tokens, managed on the hub's host.

A personal token binds a name to a secret: a console that presents it speaks as that person and
nobody else can use the name. The token is printed once, by ``add``; the hub stores only its
SHA-256 digest, in its own database. Run these against the database the hub serves (``--db``, or
the hub's ``--config``); a running hub sees the change at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warroom.paths import database, default_db


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = sub.add_parser(
        "people",
        help="personal tokens: names the hub can prove",
        description="Manage the team's personal tokens on the hub's host.",
    )
    actions = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    for action, help_text in (
        ("add", "make a token for NAME and print it once"),
        ("list", "who has a token (never the tokens)"),
        ("revoke", "end NAME's token now; their open consoles are cut off"),
    ):
        parser = actions.add_parser(action, help=help_text, description=help_text)
        if action != "list":
            parser.add_argument("name", help="the person's name, as they join")
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--db",
            type=database,
            default=None,
            help=f"the hub's SQLite file (default {default_db()}) or PostgreSQL URL",
        )
        where.add_argument("--config", type=Path, default=None, help="the hub's TOML config file")
        parser.set_defaults(handler=cmd_people)


def cmd_people(args: argparse.Namespace) -> int:
    from warroom.hub.people import PeopleError
    from warroom.hub.storage_open import open_people

    try:
        db = _database(args)
    except ValueError as exc:
        print(f"warroom people: {exc}", file=sys.stderr)
        return 2
    if args.people_command != "add" and missing_sqlite_file(db):
        print(f"warroom people: No hub database at {db}.", file=sys.stderr)
        return 1
    try:
        people = open_people(db)
    except Exception as exc:  # not a database, unreadable, a directory...
        print(f"warroom people: cannot open {db}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.people_command == "add":
            name, token = people.add(args.name)
            print(f"Personal token for {name} (shown once; the hub keeps only its digest):\n")
            print(f"    {token}\n")
            print(
                f"Give it to {name} privately. They keep it in their config file\n"
                '(~/.config/warroom/config.toml, mode 600) as a line  token = "wrp_..."\n'
                "or in the WARROOM_TOKEN environment variable, and join with "
                f"--name {_quoted(name)}.\nIt lets them in as {name} and nobody else; "
                f"`warroom people revoke {_quoted(name)}` ends it."
            )
        elif args.people_command == "revoke":
            name = people.revoke(args.name)
            print(f"Revoked {name}'s token; a running hub cuts their consoles off within a second.")
        else:
            rows = people.all()
            if not rows:
                print(f"Nobody has a personal token on {db}.")
            for person in rows:
                status = f"revoked {person.revoked_at}" if person.revoked_at else "active"
                print(f"{person.name}\tsince {person.created_at}\t{status}")
    except PeopleError as exc:
        print(f"warroom people: {exc}", file=sys.stderr)
        return 1
    finally:
        people.close()
    return 0


def _database(args: argparse.Namespace) -> Path | str:
    if args.db is not None:
        return args.db
    if args.config is not None:
        from warroom.hub.app import HubConfig, HubConfigError
        from warroom.hub.config import read_config_file

        try:
            config = read_config_file(args.config, HubConfig(db=default_db()))
        except HubConfigError as exc:
            raise ValueError(str(exc)) from None
        return config.db
    return default_db()


def missing_sqlite_file(db: Path | str) -> bool:
    """Whether ``db`` names a SQLite file that is not there. Only an ``add`` makes the hub's
    database (it may come before the first ``serve``); a listing or a revocation would leave an
    empty database at a mistyped path and answer as if it were the hub's."""
    from warroom.hub.storage_api import is_postgres

    return not is_postgres(db) and not Path(db).exists()


def _quoted(name: str) -> str:
    return f"'{name}'" if " " in name else name
