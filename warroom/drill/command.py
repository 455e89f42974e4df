"""``warroom drill``: a GameDay in one command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from warroom.core.roles import JOINABLE_ROLES, Role

# The scenarios and the scorecard are imported by the handlers: every ``warroom`` command builds
# this parser, and ``warroom join`` must not load them before its first frame (issue 24).


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    drill = sub.add_parser(
        "drill",
        help="practise: a scripted incident with simulated responders (a GameDay)",
        description="Start a practice incident on an embedded hub, with simulated responders "
        "acting on a script, and open the console for you in the role you choose.",
    )
    drill.add_argument(
        "--scenario",
        default="checkout-db-pool",
        help="a shipped scenario (see --list) or the path of a scenario file",
    )
    drill.add_argument("--list", action="store_true", help="list the shipped scenarios")
    drill.add_argument(
        "--role",
        default="ic",
        choices=[r.value for r in JOINABLE_ROLES if r != Role.OBSERVER],
        help="the role you play (default ic)",
    )
    drill.add_argument(
        "--name",
        default=None,
        help="your name in the drill (default: config file, then your login name)",
    )
    drill.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="scenario time per real second (1 = real time; 10 = ten times faster)",
    )
    drill.add_argument("--seed", type=int, default=0, help="seed for the script's variations")
    drill.add_argument(
        "--db",
        type=Path,
        default=None,
        help="keep the drill's record in this file (default: a temporary file)",
    )
    drill.add_argument(
        "--headless",
        action="store_true",
        help="no console: every role is simulated; print the scorecard",
    )
    drill.add_argument(
        "--export",
        type=Path,
        default=None,
        help="with --headless: write the export of the drill to this SQLite file",
    )
    drill.add_argument("--theme", default=None, help="console theme")
    drill.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="with --headless: print each step as it happens",
    )
    drill.set_defaults(handler=cmd_drill)


def cmd_drill(args: argparse.Namespace) -> int:
    from warroom.drill.scenario import ScenarioError, load, shipped

    if args.list:
        for name, path in shipped().items():
            scenario = load(path)
            print(f"{name:20} {scenario.scenario.severity}  {scenario.scenario.title}")
            print(f"{'':20}       {scenario.scenario.summary}")
        return 0
    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:
        print(f"warroom drill: {exc}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("warroom drill: --speed must be positive.", file=sys.stderr)
        return 2
    if args.headless:
        return _headless(args, scenario)
    return _live(args, scenario)


def _headless(args: argparse.Namespace, scenario) -> int:  # noqa: ANN001
    from warroom.drill.scorecard import render_text
    from warroom.drill.session import run_headless

    narrate = print if args.verbose else None
    outcome = asyncio.run(run_headless(scenario, seed=args.seed, db=args.db, narrate=narrate))
    print(render_text(outcome.scorecard))
    print(f"\n{outcome.events} events recorded in {outcome.db} (incident {outcome.incident_id}).")
    if args.export:
        from warroom.export.exporter import export_incidents
        from warroom.export.sources import DatabaseSource

        source = DatabaseSource(outcome.db)
        try:
            export_incidents(source, args.export, [outcome.incident_id])
        finally:
            source.close()
        print(f"Exported to {args.export.resolve()}")
    return 0


def _user_name(args: argparse.Namespace) -> str:
    if args.name:
        return args.name
    try:
        from warroom.config import load_config

        configured = load_config().name
    except Exception:  # a broken config file must not stop a drill
        configured = None
    if configured:
        return configured
    try:
        return getpass.getuser() or "you"
    except Exception:
        return "you"


def _live(args: argparse.Namespace, scenario) -> int:  # noqa: ANN001
    from warroom.console.app import WarroomApp
    from warroom.drill.scorecard import render_text
    from warroom.drill.session import LiveDrill

    role = Role(args.role)
    name = _user_name(args)
    if name in {r.name for r in scenario.responders}:
        name = f"{name}-you"
    live = LiveDrill(scenario, role, name, args.speed, args.seed, db=args.db)
    print(f"Starting drill '{scenario.scenario.name}' at {args.speed:g}x speed ...", flush=True)
    live.start()
    try:
        # No outbox on disk: the drill's hub lives and dies with this process.
        app = WarroomApp(
            live.url, name, role, incident=live.incident_id, theme=args.theme, clock=live.clock,
            outbox_dir=None,
        )  # fmt: skip
        app.run()
    finally:
        live.stop()
    if live.scorecard is not None:
        print(render_text(live.scorecard))
    print(
        f"\nThe drill's record is in {live.db} (incident {live.incident_id}); "
        f"export it with: warroom export --db {live.db} --incident {live.incident_id} "
        "--out drill.db"
    )
    return 0
