"""Reading the hub's TOML configuration file (``warroom serve --config FILE``).

Example::

    [hub]
    host = "127.0.0.1"
    port = 8765
    db = "/var/lib/warroom/warroom.db"

    [tokens]          # name = secret; people join with --token SECRET
    oncall = "s3cret-team-token"

    [[webhooks]]      # where published stakeholder updates are posted (repeatable)
    name = "status-channel"
    kind = "slack"    # "slack" posts {"text": ...}; "json" posts the whole update
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    audience = "external"   # "internal", "external" or "all" (default)
    timeout = 5             # seconds per attempt

    [webhook_delivery]      # optional
    attempts = 4
    backoff = 1.0           # seconds before the first retry, doubling, with jitter
    max_backoff = 30

Later sections (severity policy, webhooks) are read by the features that use them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from server.app import HubConfig, HubConfigError
from server.webhooks import WebhookConfigError, policy_from_config, targets_from_config


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
    try:
        if "webhooks" in data:
            config.webhooks = targets_from_config(data["webhooks"])
        if "webhook_delivery" in data:
            config.delivery = policy_from_config(data["webhook_delivery"])
    except WebhookConfigError as exc:
        raise HubConfigError(str(exc)) from exc
    return config
