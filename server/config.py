"""Reading the hub's TOML configuration file (``warroom serve --config FILE``).

Example::

    [hub]
    host = "127.0.0.1"
    port = 8765
    db = "/var/lib/warroom/warroom.db"

    [tokens]          # name = secret; people join with --token SECRET
    oncall = "s3cret-team-token"

Later sections (severity policy, webhooks) are read by the features that use them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from server.app import HubConfig, HubConfigError


def load_config_file(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise HubConfigError(f"No config file at {path}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HubConfigError(f"{path} is not valid TOML: {exc}") from exc


def apply_config_file(config: HubConfig, data: dict[str, Any]) -> HubConfig:
    """Fill ``config`` from the file's sections; command-line flags are applied after this."""
    hub = data.get("hub", {})
    if "host" in hub:
        config.host = str(hub["host"])
    if "port" in hub:
        config.port = int(hub["port"])
    if "db" in hub:
        config.db = Path(hub["db"]).expanduser()
    if "max_message" in hub:
        config.max_message = int(hub["max_message"])
    tokens = data.get("tokens", {})
    if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
        raise HubConfigError("[tokens] must map names to secret strings.")
    config.tokens.update(tokens)
    return config
