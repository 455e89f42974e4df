"""Starting the console from the command line: ``warroom join ...`` and ``warroom`` alone.

``warroom`` with no command is for the first person awake: it runs a hub inside the same process
(database in the user's data directory), opens the console on it and prints the line teammates
use to join. Command-line options win over the config file, which wins over the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from dataclasses import dataclass, field

from warroom.config import ConfigError, UserConfig, hub_token, load_config, parse_role
from warroom.core.names import MAX_NAME, normalise_name
from warroom.core.roles import JOINABLE_ROLES, Role
from warroom.paths import config_file, default_db

DEFAULT_PORT = 8765


@dataclass
class Seat:
    """Who is at this console and where it connects, after options and config are merged."""

    url: str
    name: str
    role: Role
    token: str | None
    theme: str | None
    #: More hubs on the same record (``warroom join ws://a:8765,ws://b:8765``), tried in turn.
    fallback: list[str] = field(default_factory=list)


def add_person_options(parser: argparse.ArgumentParser) -> None:
    """Who sits at the console when ``warroom`` runs alone: the person options of ``join``.

    Stored under ``here_*`` so that they never collide with ``join``'s own options (argparse
    lets a subcommand's defaults overwrite the parent's values of the same name).
    """
    roles = ", ".join(r.value for r in JOINABLE_ROLES)
    group = parser.add_argument_group("with no command (a hub here and the console on it)")
    group.add_argument("--name", dest="here_name", default=None, help="your name in the room")
    group.add_argument("--role", dest="here_role", default=None,
                       help=f"the seat you take: {roles} (default ic)")  # fmt: skip
    group.add_argument("--incident", dest="here_incident", default=None,
                       help="follow this incident at once instead of choosing from the list")  # fmt: skip
    group.add_argument("--theme", dest="here_theme", default=None,
                       help="warroom-dark (default), warroom-light or warroom-contrast")  # fmt: skip


@dataclass
class HereSeat:
    """Who sits at the console of ``warroom`` alone, after options and the config file."""

    name: str
    role: Role
    theme: str | None
    incident: str | None
    token: str | None = None


def resolve_here(args: argparse.Namespace, config: UserConfig) -> HereSeat:
    """Options win over the config file, which wins over the login name and the IC seat."""
    name = normalise_name(
        getattr(args, "here_name", None) or config.name or getpass.getuser() or "me"
    )
    if not name:
        raise ConfigError("--name is empty")
    if len(name) > MAX_NAME:
        raise ConfigError(f"--name is longer than {MAX_NAME} characters")
    wanted = getattr(args, "here_role", None)
    role = parse_role(wanted, "--role") if wanted else (config.role or Role.IC)
    theme = getattr(args, "here_theme", None) or config.theme
    token = hub_token(None, config)
    return HereSeat(name, role, theme, getattr(args, "here_incident", None), token)


def add_join_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roles = ", ".join(r.value for r in JOINABLE_ROLES)
    join = sub.add_parser(
        "join", help="open the console on a hub",
        description=f"Open the console on a hub. Defaults come from {config_file()}.",
    )  # fmt: skip
    join.add_argument(
        "url",
        nargs="?",
        default=None,
        help="the hub, e.g. ws://10.0.0.5:8765, or several hubs on one record separated by "
        "commas, tried in turn when the link drops (default: 'hub' in the config file)",
    )
    join.add_argument("--name", default=None, help="your name in the room")
    join.add_argument("--role", default=None, help=f"the seat you take: {roles}")
    join.add_argument(
        "--incident",
        default=None,
        help="follow this incident at once instead of choosing from the list",
    )
    join.add_argument(
        "--token",
        default=None,
        help="the hub's token (prefer WARROOM_TOKEN or token in the config file: a token on the "
        "command line stays in your shell history)",
    )
    join.add_argument("--join-code", default=None,
                      help="a guest's join code from the IC (INCIDENT:ID:SECRET); opens that "
                           "incident")  # fmt: skip
    join.add_argument(
        "--cafile",
        default=None,
        help="CA certificate(s) to trust for a wss:// hub with a private CA",
    )
    join.add_argument(
        "--theme", default=None, help="warroom-dark (default), warroom-light or warroom-contrast"
    )
    join.set_defaults(handler=cmd_join)  # fmt: skip


def hub_url(text: str) -> str:
    """``host:port`` → ``ws://host:port``; ws and wss URLs as they are."""
    value = text.strip().rstrip("/")
    if value.startswith(("ws://", "wss://")):
        return value
    if "://" in value:
        raise ConfigError(f"{text!r} is not a hub address; use ws://HOST:PORT")
    return f"ws://{value}"


def resolve_seat(args: argparse.Namespace, config: UserConfig) -> Seat:
    url = args.url or config.hub
    if not url:
        raise ConfigError(
            f"which hub? give its address (warroom join ws://HOST:PORT) or set hub in {config_file()}"
        )
    name = normalise_name(args.name or config.name or "")
    if not name:
        raise ConfigError(f"who are you? give --name, or set name in {config_file()}")
    if len(name) > MAX_NAME:
        raise ConfigError(f"--name is longer than {MAX_NAME} characters")
    role = parse_role(args.role, "--role") if args.role else (config.role or Role.RESPONDER)
    token = hub_token(args.token, config)
    first, *others = [hub_url(u) for u in url.split(",") if u.strip()] or [hub_url(url)]
    return Seat(first, name, role, token, args.theme or config.theme, others)


def cmd_join(args: argparse.Namespace) -> int:
    from warroom.console.app import WarroomApp

    try:
        config = load_config()
        seat = resolve_seat(args, config)
    except ConfigError as exc:
        print(f"warroom join: {exc}", file=sys.stderr)
        return 2
    if seat.token is None and not args.join_code and sys.stdin.isatty():
        seat.token = _ask_for_token(seat.url, args.cafile)
    incident = args.incident
    if args.join_code and not incident:
        incident = args.join_code.split(":", 1)[0]  # a join code names its incident
    app = WarroomApp(url=seat.url, name=seat.name, role=seat.role, incident=incident,
                     token=seat.token, theme=seat.theme, cafile=args.cafile,
                     join_code=args.join_code, keymap=config.keys,
                     user_themes=config.themes, fallback=seat.fallback,
                     timezone=config.timezone)  # fmt: skip
    app.run()
    return 0


def _ask_for_token(url: str, cafile: str | None) -> str | None:
    """Prompt (without echo) for a token if the hub refuses us without one."""
    if hub_status(url, cafile) != 401:
        return None  # let in, or unreachable now: the console says so and keeps retrying
    token = getpass.getpass(f"Token for {url} (your personal token; not echoed): ").strip()
    return token or None


def hub_status(url: str, cafile: str | None = None, timeout: float = 5.0) -> int | None:
    """The HTTP status of the hub's ``GET /incidents`` without credentials (None: unreachable).

    Asked before the console starts, so it uses the standard library's HTTP client: httpx and its
    TLS set-up cost about half a second of start-up, before the first frame, for one request
    (issue 24). The same TLS context as the console's own link (:func:`client_ssl`).
    """
    import http.client
    import urllib.error
    import urllib.request

    from warroom.client.urls import client_ssl, http_base

    try:
        with urllib.request.urlopen(
            http_base(url) + "/incidents", timeout=timeout, context=client_ssl(url, cafile)
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError, http.client.HTTPException):  # refused, timed out, TLS, garbled
        return None


# --- warroom alone ----------------------------------------------------------------------------
def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def share_line(url: str, token: str | None = None) -> str:
    extra = f" --token {token}" if token else ""
    return f"warroom join {url} --name NAME --role ROLE{extra}"


def cmd_here(args: argparse.Namespace) -> int:
    """Run a hub in this process and open the console on it."""
    try:
        config = load_config()
        seat = resolve_here(args, config)
    except ConfigError as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return 2
    port = config.port if config.port is not None else DEFAULT_PORT
    if port and not port_is_free(port):
        print(f"warroom: port {port} is taken; the hub takes a free one instead.", file=sys.stderr)
        port = 0
    from warroom.hub.dbfile import DatabaseInUse, DatabaseUnusable

    try:
        return asyncio.run(_run_here(seat, port, config))
    except DatabaseInUse as exc:
        where = exc.url or "its address"
        print(
            f"warroom: a hub already serves {default_db()} ({exc.holder}); join it with "
            f"`{share_line(where)}`, or stop it first.",
            file=sys.stderr,
        )
        return exc.exit_code
    except DatabaseUnusable as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"warroom: cannot start the hub: {exc}", file=sys.stderr)
        return 1


async def _run_here(seat: HereSeat, port: int, config: UserConfig) -> int:
    from warroom.console.app import WarroomApp
    from warroom.hub.app import HubConfig, HubServer

    db = default_db()
    server = HubServer(HubConfig(host="127.0.0.1", port=port, db=db))
    await server.start()
    line = share_line(server.url)
    print(f"warroom hub on {server.url} (database {db})")
    print(f"Teammates on this machine join with:\n    {line}", flush=True)
    try:
        # If this user is a registered person on this hub, their personal token proves it.
        app = WarroomApp(url=server.url, name=seat.name, role=seat.role, theme=seat.theme,
                         incident=seat.incident, share_hint=line, token=seat.token,
                         keymap=config.keys, user_themes=config.themes,
                         timezone=config.timezone)  # fmt: skip
        await app.run_async()
    finally:
        await server.stop()
    print(f"warroom hub on {server.url} stopped; the record is in {db}.")
    print("To keep the room open for others, run a hub of its own: warroom serve")
    return 0
