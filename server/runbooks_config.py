"""The ``[runbooks]`` section of the hub's config file: where the team's runbooks are.

Example::

    [runbooks]
    dir = "/etc/warroom/runbooks"   # every *.toml in it (relative: to the config file)
    examples = false                # also serve the example runbooks that ship with warroom

docs/RUNBOOKS.md describes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYS = frozenset({"dir", "examples"})


class RunbooksConfigError(ValueError):
    """A ``[runbooks]`` section the hub cannot use; the message names the key to fix."""


@dataclass
class RunbooksConfig:
    dir: Path | None = None
    examples: bool = False


def runbooks_from_config(section: Any, source: str | Path | None = None) -> RunbooksConfig:
    """The section as read from the file at ``source`` (a relative ``dir`` is under its folder)."""
    if not isinstance(section, dict):
        raise RunbooksConfigError("[runbooks] must be a table.")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise RunbooksConfigError(
            f"[runbooks] has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}."
        )
    config = RunbooksConfig()
    if "dir" in section:
        folder = section["dir"]
        if not isinstance(folder, str) or not folder.strip():
            raise RunbooksConfigError("[runbooks] dir: expected the path of a directory.")
        path = Path(folder).expanduser()
        if not path.is_absolute() and source is not None:
            path = Path(source).parent / path
        config.dir = path
    if "examples" in section:
        if type(section["examples"]) is not bool:
            raise RunbooksConfigError("[runbooks] examples: expected true or false.")
        config.examples = section["examples"]
    if config.dir is None and not config.examples:
        raise RunbooksConfigError("[runbooks] needs dir (or examples = true).")
    return config
