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

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RunbooksConfigError(ValueError):
    """A ``[runbooks]`` section the hub cannot use; the message names the key to fix."""


@dataclass
class RunbooksConfig:
    dir: Path | None = None
    examples: bool = False


class _Section(BaseModel):
    """The section as written: checked strictly, so ``examples = "yes"`` is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    dir: str | None = Field(default=None, min_length=1)
    examples: bool = False


def runbooks_from_config(section: Any, source: str | Path | None = None) -> RunbooksConfig:
    """The section as read from the file at ``source`` (a relative ``dir`` is under its folder)."""
    try:
        parsed = _Section.model_validate(section)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        what = {"dir": "expected the path of a directory", "examples": "expected true or false"}
        message = (
            what.get(key, err["msg"])
            if err["type"] != "extra_forbidden"
            else ("unknown key; known: dir, examples")
        )
        raise RunbooksConfigError(f"[runbooks] {key or 'section'}: {message}.") from None
    if parsed.dir is None and not parsed.examples:
        raise RunbooksConfigError("[runbooks] needs dir (or examples = true).")
    config = RunbooksConfig(examples=parsed.examples)
    if parsed.dir is not None:
        path = Path(parsed.dir).expanduser()
        config.dir = path if path.is_absolute() or source is None else Path(source).parent / path
    return config
