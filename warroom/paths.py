"""Where warroom keeps its files: XDG data and config directories, honoured when set."""

from __future__ import annotations

import os
from pathlib import Path


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
