"""Runbook files: reading a directory of TOML runbooks, with the file and line of every error,
and serving them to consoles (``GET /runbooks``).

The hub reads every ``*.toml`` in ``[runbooks] dir`` when it starts and refuses to start if one
is broken, naming the file, the line and what is wrong, the way drill scenarios are checked
(``warroom runbooks check DIR`` does the same check without a hub, for a CI job). A runbook's name
is its file name without ``.toml``. The format is described in docs/RUNBOOKS.md.
"""

from __future__ import annotations

import re
import tomllib
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from warroom.hub.runbooks_config import RunbooksConfig

from warroom.core.checklist_runbook import NAME_PATTERN, Runbook, matches
from warroom.drill.scenario import locate

if TYPE_CHECKING:
    from warroom.hub.app import HubServer
    from warroom.hub.credentials import Credential
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Response

#: Most errors reported for one file (the first ones are what to fix first).
MAX_PROBLEMS = 8


class RunbookError(ValueError):
    """Runbook files that cannot be used; one ``FILE:LINE: where: problem`` per line."""


def shipped_dir() -> Path:
    """The example runbooks that ship with warroom."""
    return Path(str(resources.files("warroom") / "runbooks"))


def parse(text: str, source: str) -> Runbook:
    """The runbook in ``text`` (the file ``source``); its name is the file's stem."""
    name = Path(source).name.removesuffix(".toml")
    if not re.match(NAME_PATTERN, name):
        raise RunbookError(
            f"{source}:1: file name: a runbook's file is named like roll-back-deploy.toml "
            "(lower-case letters, digits and dashes)"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise RunbookError(
            f"{source}:{line.group(1) if line else 1}: not valid TOML: {exc}"
        ) from None
    if "name" in data:
        return _fail(source, text, [(["name"], "leave the name out: it is the file's name")])
    try:
        return Runbook.model_validate({**data, "name": name})
    except ValidationError as exc:
        problems = [
            (list(err["loc"]), err["msg"].removeprefix("Value error, "))
            for err in exc.errors()[:MAX_PROBLEMS]
        ]
        return _fail(source, text, problems)


def _fail(source: str, text: str, problems: list[tuple[list[Any], str]]) -> Runbook:
    lines = []
    for loc, message in problems:
        where = ".".join(str(p) for p in loc) or "file"
        lines.append(f"{source}:{_line(text, loc)}: {where}: {message}")
    raise RunbookError("\n".join(lines))


def _line(text: str, loc: list[Any]) -> int:
    """The line ``loc`` refers to: a top-level key, or a key of a table (``locate``)."""
    if len(loc) == 1:
        for i, line in enumerate(text.splitlines()):
            if line.strip().startswith("["):
                break
            if re.match(rf"\s*{re.escape(str(loc[0]))}\s*=", line):
                return i + 1
        return 1
    if loc[0] == "applies_to" and len(loc) > 2:
        loc = loc[:2]  # a list item: the key's line
    return locate(text, loc)


def load_dir(folder: Path) -> list[Runbook]:
    """Every runbook in ``folder``, by name; all the broken files are reported at once."""
    if not folder.is_dir():
        raise RunbookError(f"{folder}: no such directory of runbooks ([runbooks] dir).")
    found: list[Runbook] = []
    errors: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            found.append(parse(path.read_text(encoding="utf-8"), str(path)))
        except RunbookError as exc:
            errors.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}:1: cannot read it: {exc}")
    if errors:
        raise RunbookError("\n".join(errors))
    return found


def load_runbooks(config: RunbooksConfig | None) -> list[Runbook]:
    """The runbooks the hub serves; a broken file is a :class:`HubConfigError` naming it."""
    from warroom.hub.app import HubConfigError

    try:
        return load(config)
    except RunbookError as exc:
        raise HubConfigError(str(exc)) from None


def load(config: RunbooksConfig | None) -> list[Runbook]:
    """The runbooks the hub serves: the configured directory's, and the examples if asked."""
    if config is None:
        return []
    folders = ([config.dir] if config.dir is not None else []) + (
        [shipped_dir()] if config.examples else []
    )
    by_name: dict[str, Runbook] = {}
    for folder in folders:
        for runbook in load_dir(folder):
            if runbook.name in by_name:
                raise RunbookError(
                    f"{folder / (runbook.name + '.toml')}:1: file name: a runbook called "
                    f"{runbook.name!r} is already loaded (the examples have one of that name)."
                )
            by_name[runbook.name] = runbook
    return sorted(by_name.values(), key=lambda r: r.name)


def runbooks_response(
    server: HubServer, connection: ServerConnection, credential: Credential, query: str
) -> Response:
    """``GET /runbooks[?incident=ID]``: every runbook, with why each applies to the incident
    (``matches``, best first) when one is named."""
    from warroom.hub.app import json_response

    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    incident = params.get("incident", "")
    if credential.guest and incident != credential.incident_id:
        return json_response(
            connection,
            HTTPStatus.FORBIDDEN,
            {
                "error": "forbidden",
                "message": "A join code shows its own incident's runbooks only.",
            },
        )
    state = server._incident_state(incident) if incident else None
    if incident and state is None:
        return json_response(
            connection,
            HTTPStatus.NOT_FOUND,
            {"error": "unknown_incident", "message": f"No incident {incident!r} on this hub."},
        )
    rows = []
    for runbook in server.runbooks:
        row = runbook.model_dump(mode="json")
        row["matches"] = matches(runbook, state) if state is not None else []
        rows.append(row)
    rows.sort(key=lambda r: -len(r["matches"]))
    return json_response(connection, HTTPStatus.OK, rows)
