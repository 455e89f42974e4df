"""Where warroom keeps its files: XDG data, config and state directories, honoured when set."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "warroom"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "warroom"


def default_db() -> Path:
    return data_dir() / "warroom.db"


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    """What a console keeps between runs on this machine (``XDG_STATE_HOME`` when set)."""
    return platformdirs.user_state_path("warroom")


def outbox_dir() -> Path:
    """Commands typed in a console and not yet acknowledged by the hub, one file per console."""
    return state_dir() / "outbox"


def database(text: str) -> Path | str:
    """A hub's ``--db``: a PostgreSQL URL as given (#22), else a SQLite file path."""
    if text.startswith(("postgresql://", "postgres://")):
        return text
    return Path(text).expanduser()
