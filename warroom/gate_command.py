"""``warroom gate``: the deploy gate from a pipeline, and its credentials on the hub's host.

``check`` asks the hub whether a change to a target may go ahead (docs/GATE.md). Exit codes, for
a pipeline step to act on:

* 0 — go ahead (allowed; the reason is printed on stdout);
* 1 — refused: a change freeze holds and the token is missing, stale or expired (stderr says why);
* 2 — the request itself is wrong: the credential, the target's name, an unknown incident;
* 3 — the hub could not be reached or answered nonsense, unless ``--unreachable allow|deny``
  says what that means for this pipeline (then 0 or 1, with a warning on stderr).

``report`` is ``check --started``: the change is starting, and with the live lease's token it is
recorded as a production action of the lock holder, whose console asks how it went.

``add``, ``list`` and ``revoke`` manage gate credentials like ``warroom people`` manages personal
tokens: run on the hub's host against its database; the secret is printed once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from warroom.paths import database, default_db

#: The environment variable a pipeline keeps its gate credential in.
CREDENTIAL_ENV = "WARROOM_GATE_CREDENTIAL"
GO, REFUSED, BAD_REQUEST, UNREACHABLE = 0, 1, 2, 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    about = "the deploy gate: ask before changing production (docs/GATE.md); its credentials"
    actions = sub.add_parser("gate", help=about, description=about).add_subparsers(
        dest="gate_command", metavar="ACTION", required=True
    )
    for action, help_text in (
        ("check", "may this change go ahead? exit 0 yes, 1 refused, 2 bad request, 3 no hub"),
        ("report", "the change is starting: check it and record it as a production action"),
    ):
        parser = actions.add_parser(action, help=help_text, description=help_text)
        parser.add_argument(
            "--hub", required=True, help="the hub's URL (ws://, wss://, http(s)://)"
        )
        parser.add_argument("--target", required=True, help="what is changed: checkout-api, ...")
        parser.add_argument("--token", type=int, default=None, help="the lock's fencing token")
        parser.add_argument("--incident", default=None, help="only this incident (default: all)")
        parser.add_argument(
            "--unreachable",
            choices=("allow", "deny"),
            default=None,
            help="what an unreachable hub means (default: exit 3 and let the pipeline decide)",
        )
        parser.add_argument("--cafile", default=None, help="CA bundle for a wss:// hub")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
        if action == "check":
            parser.add_argument("--started", action="store_true", help="same as `gate report`")
        parser.add_argument("--kind", default=None, help="with --started: rollback, restart...")
        parser.add_argument("--expect", default=None, help="with --started: what it should do")
        parser.add_argument("--metric", default=None, help="with --started: the metric to watch")
        parser.add_argument("--before", default=None, help="with --started: its value now")
        parser.set_defaults(handler=cmd_check)
    add = actions.add_parser("add", help="make a gate credential for a pipeline, shown once")
    add.add_argument("name", help="the pipeline's name, like deploy-prod")
    revoke = actions.add_parser("revoke", help="end a pipeline's gate credential now")
    revoke.add_argument("name", help="the pipeline's name")
    listing = actions.add_parser("list", help="the gate credentials (never the secrets)")
    for parser in (add, revoke, listing):
        parser.set_defaults(handler=cmd_credentials)
        hub_db = parser.add_mutually_exclusive_group()
        hub_db.add_argument(
            "--db", type=database, help=f"the hub's SQLite file ({default_db()}) or PostgreSQL URL"
        )
        hub_db.add_argument("--config", type=Path, help="the hub's TOML config file")


def _say(text: str) -> None:
    print(f"warroom gate: {text}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    import httpx

    from warroom.client.urls import client_ssl, http_base

    credential = os.environ.get(CREDENTIAL_ENV, "").strip()
    if not credential:
        _say(f"set {CREDENTIAL_ENV} to the pipeline's gate credential (warroom gate add NAME).")
        return BAD_REQUEST
    params: dict[str, Any] = {"target": args.target}
    started = args.gate_command == "report" or getattr(args, "started", False)
    for key in ("token", "incident", "kind", "expect", "metric", "before"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if started:
        params["started"] = "1"
    try:
        answer = httpx.get(
            http_base(args.hub) + "/gate/check",
            params=params,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=args.timeout,
            verify=client_ssl(args.hub, args.cafile) or True,
        )
        body = answer.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except (httpx.HTTPError, ValueError) as exc:
        return _unreachable(args, f"{type(exc).__name__}: {exc}")
    if answer.status_code != 200:
        _say(f"{body.get('error', answer.status_code)}: {body.get('message', '')}")
        return BAD_REQUEST if answer.status_code < 500 else _unreachable(args, "hub error")
    for row in body.get("incidents", []):
        line = f"{row['incident']}: {'allowed' if row['allowed'] else 'REFUSED'} ({row['message']})"
        if row.get("action"):
            line += f"; recorded as production action {row['action']}"
        elif started and args.token is not None and row["allowed"]:
            line += f"; not recorded as an action: token {args.token} is not a live lease"
        print(line, file=sys.stdout if row["allowed"] else sys.stderr)
    if body.get("allowed"):
        print(body.get("message", "allowed"))
        return GO
    _say(f"refused: {body.get('message', '')}")
    return REFUSED


def _unreachable(args: argparse.Namespace, why: str) -> int:
    if args.unreachable == "allow":
        _say(f"the hub at {args.hub} cannot be reached ({why}); going ahead (--unreachable allow).")
        return GO
    if args.unreachable == "deny":
        _say(f"the hub at {args.hub} cannot be reached ({why}); refusing (--unreachable deny).")
        return REFUSED
    _say(f"the hub at {args.hub} cannot be reached ({why}).")
    return UNREACHABLE


def cmd_credentials(args: argparse.Namespace) -> int:
    from warroom.hub.gate_store import GateCredentialError, GateCredentials
    from warroom.people_command import _database, missing_sqlite_file

    try:
        db = _database(args)
    except ValueError as exc:
        _say(str(exc))
        return 2
    if args.gate_command != "add" and missing_sqlite_file(db):
        _say(f"No hub database at {db}.")
        return 1
    try:
        store = GateCredentials(db)
        if args.gate_command == "add":
            secret = store.add(args.name)
            print(f"Gate credential for {args.name} (shown once; the hub keeps only its digest):\n")
            print(f"    {secret}\n")
            print(
                f"Store it as a secret of the pipeline, in the {CREDENTIAL_ENV} environment\n"
                "variable. It can check and report changes, nothing else; "
                f"`warroom gate revoke {args.name}` ends it."
            )
        elif args.gate_command == "revoke":
            store.revoke(args.name)
            print(f"Revoked {args.name}'s gate credential; the hub refuses it from now on.")
        else:
            rows = store.listing()
            for name, created, revoked in rows:
                print(f"{name}\tsince {created}\t{'revoked ' + revoked if revoked else 'active'}")
            if not rows:
                print("No gate credentials on this hub.")
    except GateCredentialError as exc:
        _say(str(exc))
        return 1
    except Exception as exc:  # not a database, unreadable, a directory...
        _say(f"cannot use the hub's database: {exc}")
        return 2
    return 0
