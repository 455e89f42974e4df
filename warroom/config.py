"""The user's config file, so regulars type less: who they are and how they like the console.

``~/.config/warroom/config.toml`` (honouring ``XDG_CONFIG_HOME``)::

    name = "ana"            # the name you join with
    role = "scribe"         # ic, scribe, comms, lead, responder, observer
    theme = "warroom-light" # warroom-dark (default), warroom-light, warroom-contrast, or your own
    hub = "ws://10.0.0.5:8765"   # what `warroom join` connects to when no URL is given
    token = "..."           # your personal token for that hub (keep the file mode 600)
    port = 8765             # where `warroom` alone starts its embedded hub
    timezone = "Europe/Berlin"  # the clock the console shows times on (default: the system's)

    [keys]                  # your own keys, by binding id (see "Your own keys" in the README)
    "form.publish_anyway" = "ctrl+p"

Everything is optional; command-line options win over the file. A file that holds a token must
be readable by you alone (``chmod 600``): warroom refuses to use one that others can read.

Themes of your own live beside the file, one TOML file each, in ``themes/`` (for example
``~/.config/warroom/themes/night-shift.toml``); see :class:`UserTheme`.

A broken file stops warroom with one line per problem, ``FILE: KEY: what is wrong``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warroom.config_file import explain, known_keys, read_toml
from warroom.core.local_time import is_zone
from warroom.core.names import MAX_NAME
from warroom.core.roles import JOINABLE_ROLES, Role
from warroom.paths import config_file

#: The folder beside the config file that holds the user's own themes.
THEMES_FOLDER = "themes"


class ConfigError(ValueError):
    """A config file warroom cannot use; the message names the file and the fix."""


Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    """A table whose keys are all known and whose values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserTheme(_Strict):
    """One theme file: Textual's theme colours, plus warroom's own variables.

    Example ``themes/night-shift.toml``::

        primary = "#88c0d0"
        background = "#0b0e14"
        dark = true
        [variables]
        sev1 = "#ff5555"   # warroom's severity colours, link-live, link-down, pending

    ``name`` defaults to the file's name without ``.toml``.
    """

    name: Text
    primary: Text
    secondary: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    accent: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    dark: bool = True
    luminosity_spread: float = Field(default=0.15, ge=0, le=1)
    text_alpha: float = Field(default=0.95, ge=0, le=1)
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("luminosity_spread", "text_alpha", mode="before")
    @classmethod
    def _whole_numbers_are_numbers(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class UserConfig(_Strict):
    """What ``config.toml`` says; every field optional."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    role: Role | None = None
    theme: Text | None = None
    hub: Text | None = None
    token: Text | None = None
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    #: The IANA time zone the console shows times in (``U`` switches to UTC); the system's if
    #: left out. The hub, the wire and exports stay UTC.
    timezone: Text | None = None
    #: Binding id -> keys (``"ctrl+p"``, or several: ``"ctrl+p,f5"``), handed to Textual's keymap.
    keys: dict[str, Text] = Field(default_factory=dict)
    #: The user's own themes, from the ``themes/`` folder beside the file (not a key in it).
    themes: tuple[UserTheme, ...] = Field(default=(), exclude=True)

    @field_validator("name", "theme", "hub", "token", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must not be empty")
            return value.strip()
        return value

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: object) -> object:
        if isinstance(value, str) and not is_zone(value):
            raise ValueError(f"no time zone called {value!r}; use a name like Europe/Berlin or UTC")
        return value

    @field_validator("role", mode="before")
    @classmethod
    def _joinable(cls, value: object) -> Role:
        try:
            return parse_role(value, where="role")
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("role: ")) from None

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            raise ValueError("port must be a number from 0 to 65535")
        return value


def load_config(path: Path | None = None) -> UserConfig:
    """Read the config file and the themes beside it; missing is empty, broken is an error."""
    path = path or config_file()
    themes = load_user_themes(path.parent / THEMES_FOLDER)
    if not path.exists():
        return UserConfig(themes=themes)
    data = _read(path)
    if "themes" in data:
        raise ConfigError(
            f"{path}: unknown setting(s) themes; known: {known_keys(UserConfig)} "
            f"(themes are files in {path.parent / THEMES_FOLDER})"
        )
    try:
        config = UserConfig.model_validate({**data, "themes": themes})
    except ValidationError as exc:
        raise ConfigError(explain(exc, path, UserConfig)) from None
    if config.token is not None:
        _refuse_if_shared(path)
    return config


#: The environment variable a person's hub token may be kept in (never on a command line).
TOKEN_ENV = "WARROOM_TOKEN"


def hub_token(given: str | None, config: UserConfig | None = None) -> str | None:
    """The token for a hub, found as every command finds it: ``--token`` if given, then
    ``WARROOM_TOKEN``, then ``token`` in the config file (read here unless ``config`` is
    given; ``ConfigError`` if that file is broken or readable by others)."""
    return given or os.environ.get(TOKEN_ENV) or (config or load_config()).token


def load_user_themes(folder: Path) -> tuple[UserTheme, ...]:
    """Every ``*.toml`` theme in ``folder``, by file name; none if there is no folder."""
    if not folder.is_dir():
        return ()
    themes: list[UserTheme] = []
    for path in sorted(folder.glob("*.toml")):
        data = _read(path)
        try:
            themes.append(UserTheme.model_validate({"name": path.stem, **data}))
        except ValidationError as exc:
            raise ConfigError(explain(exc, path, UserTheme)) from None
    return tuple(themes)


def _read(path: Path) -> dict[str, object]:
    try:
        return read_toml(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
