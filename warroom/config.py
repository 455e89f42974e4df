"""The user's config file, so regulars type less: who they are and how they like the console.

``~/.config/warroom/config.toml`` (honouring ``XDG_CONFIG_HOME``)::

    name = "ana"            # the name you join with
    role = "scribe"         # ic, scribe, comms, lead, responder, observer
    theme = "warroom-light" # warroom-dark (default), warroom-light, warroom-contrast
    hub = "ws://10.0.0.5:8765"   # what `warroom join` connects to when no URL is given
    token = "..."           # your personal token for that hub (keep the file mode 600)
    port = 8765             # where `warroom` alone starts its embedded hub

Everything is optional; command-line options win over the file. A file that holds a token must
be readable by you alone (``chmod 600``): warroom refuses to use one that others can read.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from warroom.core.protocol import MAX_NAME
from warroom.core.roles import JOINABLE_ROLES, Role
from warroom.paths import config_file


class ConfigError(ValueError):
    """A config file warroom cannot use; the message names the file and the fix."""


@dataclass
class UserConfig:
    name: str | None = None
    role: Role | None = None
    theme: str | None = None
    hub: str | None = None
    token: str | None = None
    port: int | None = None


def load_config(path: Path | None = None) -> UserConfig:
    """Read the config file; a missing file is an empty config, a broken one an error."""
    path = path or config_file()
    if not path.exists():
        return UserConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {f.name for f in fields(UserConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if "token" in data:
        _refuse_if_shared(path)
    config = UserConfig()
    for key in ("name", "theme", "hub", "token"):
        if key in data:
            if not isinstance(data[key], str) or not data[key].strip():
                raise ConfigError(f"{path}: {key} must be a non-empty string")
            setattr(config, key, data[key].strip())
    if config.name is not None and len(config.name) > MAX_NAME:
        raise ConfigError(f"{path}: name is longer than {MAX_NAME} characters")
    if "role" in data:
        config.role = parse_role(data["role"], where=str(path))
    if "port" in data:
        port = data["port"]
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError(f"{path}: port must be a number from 0 to 65535")
        config.port = port
    return config


def _refuse_if_shared(path: Path) -> None:
    """A token in a file others can read is a token others have."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"{path} holds a token but is readable by others (mode {mode:o}); run: chmod 600 {path}"
        )


def parse_role(value: object, where: str = "role") -> Role:
    """A joinable role from text, with the choices in the error."""
    choices = ", ".join(r.value for r in JOINABLE_ROLES)
    try:
        role = Role(str(value).strip().lower())
    except ValueError:
        raise ConfigError(f"{where}: unknown role {value!r}; choose one of {choices}") from None
    if role not in JOINABLE_ROLES:
        raise ConfigError(f"{where}: {role} is not a role people join as; choose one of {choices}")
    return role
