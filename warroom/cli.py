"""The ``warroom`` command: serve a hub, join an incident, run a drill, export the record."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from warroom import __version__
from warroom.paths import database, default_db

Handler = Callable[[argparse.Namespace], int]

#: ``warroom serve`` exit codes (README, "Exit codes"): 3 and 4 come from
#: ``server.dbfile.DatabaseUnusable`` and ``DatabaseInUse``.
EXIT_CANNOT_LISTEN = 1
EXIT_CONFIG = 2


def port(text: str) -> int:
    """A TCP port from the command line, checked here as the config file's ``port`` is: the
    socket layer would refuse it later with a traceback."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0 to 65535") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: give 0 to 65535")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom",
        description="A terminal war-room console for production incidents. "
        "With no command, starts a hub on this machine and opens the console on it.",
    )
    parser.add_argument("--version", action="version", version=f"warroom {__version__}")
    from warroom.console.launch import add_person_options

    add_person_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run a hub that consoles join")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=None, help="port (default 8765; 0 = any free)")
    serve.add_argument(
        "--db",
        type=database,
        default=None,
        help=f"SQLite file (default {default_db()}), or a postgresql:// URL several hubs share",
    )
    serve.add_argument(
        "--token",
        action="append",
        default=[],
        help="bearer token consoles must present (repeatable)",
    )
    serve.add_argument("--config", type=Path, default=None, help="TOML configuration file")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without a token and TLS (not recommended)",
    )
    serve.add_argument(
        "--certfile",
        type=Path,
        default=None,
        help="PEM certificate (chain): consoles then join wss://",
    )
    serve.add_argument(
        "--keyfile",
        type=Path,
        default=None,
        help="private key for --certfile, if it is not in the same file",
    )
    serve.add_argument(
        "--durability",
        choices=("full", "normal"),
        default=None,
        help="full (default): fsync every commit, survives power loss; normal: "
        "survives a hub crash, may lose the last commits on power loss",
    )
    serve.add_argument(
        "--compression",
        action="store_true",
        help="compress websocket frames (costs hub CPU; for slow links only)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    serve.set_defaults(handler=cmd_serve)

    from warroom.console.launch import add_join_parser

    add_join_parser(sub)

    from warroom.export.command import add_parser as add_export

    add_export(sub)

    from warroom.drill.command import add_parser as add_drill

    add_drill(sub)

    from warroom.comms_command import add_parser as add_comms

    add_comms(sub)

    from warroom.people_command import add_parser as add_people

    add_people(sub)

    from warroom.runbooks_command import add_parser as add_runbooks  # #19

    add_runbooks(sub)

    from warroom.gate_command import add_parser as add_gate  # #19

    add_gate(sub)

    from warroom.migrate_command import add_parser as add_migrate  # #22

    add_migrate(sub)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    from warroom.hub.app import HubConfig, HubConfigError, HubServer
    from warroom.hub.config import read_config_file
    from warroom.hub.dbfile import DatabaseUnusable
    from warroom.hub.intake import IntakeListenError

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    config = HubConfig(db=default_db())
    try:
        if args.config:
            read_config_file(args.config, config)
        if args.host is not None:
            config.host = args.host
        if args.port is not None:
            config.port = args.port
        if args.db is not None:
            config.db = args.db
        for i, token in enumerate(args.token):
            config.tokens[f"cli-{i + 1}"] = token
        config.insecure = args.insecure or config.insecure
        config.compression = args.compression or config.compression
        if args.certfile is not None:
            config.certfile, config.keyfile = args.certfile, args.keyfile
        if args.durability is not None:
            config.durability = args.durability
        server = HubServer(config)
    except HubConfigError as exc:
        print(f"warroom serve: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnusable as exc:
        print(f"warroom serve: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        asyncio.run(server.serve_until_signalled())
    except DatabaseUnusable as exc:
        print(f"warroom serve: {exc}", file=sys.stderr)
        return exc.exit_code
    except IntakeListenError as exc:
        print(f"warroom serve: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    except OSError as exc:
        print(
            f"warroom serve: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return EXIT_CANNOT_LISTEN
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        from warroom.console.launch import cmd_here

        return cmd_here(args)  # no command: a hub in this process and the console on it
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
