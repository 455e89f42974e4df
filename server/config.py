"""Reading the hub's TOML configuration file (``warroom serve --config FILE``).

Example::

    [hub]
    host = "127.0.0.1"
    port = 8765
    db = "/var/lib/warroom/warroom.db"
    certfile = "/etc/warroom/hub.pem"   # TLS (wss://); keyfile = "..." if the key is apart
    durability = "full"                 # or "normal": see docs/SECURITY.md

    [tokens]          # name = secret; people join with --token SECRET
    oncall = "s3cret-team-token"

    [limits]          # optional; these are the defaults
    rate = 50         # messages a second per connection (burst below); 0 = no limit
    burst = 200
    per_name = 8      # connections one name may hold open
    credential_rate = 100   # messages a second all connections of one token or join code
    credential_burst = 200  #   may send together (and their burst); 0 = no limit
    per_code = 100    # connections one join code may hold open (0 = no limit)
    per_token = 500   # connections one token (or the open hub) may hold open
    stall_timeout = 30      # seconds a console may leave its socket full before it is cut off
    hello_timeout = 10
    open_timeout = 10 # seconds for the TCP/TLS/websocket handshake
    ping_interval = 20
    ping_timeout = 20
    max_connections = 2000

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

The ``[severity]`` section (meanings, expected times to mitigate, update cadences) is described in
``server/severity_config.py``. The ``[lock]`` section (``ttl_minutes``, the production-lock
lease) is described in ``server/lock_config.py``; ``[roles]`` (handoff offers, IC rotation) in
``server/roles_config.py``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.lock_config import LockConfigError, lock_ttl_from_config
from warroom.hub.roles_config import RolesConfigError, roles_settings_from_config
from warroom.hub.severity_config import SeverityConfigError, severity_policy_from_config
from warroom.hub.webhooks import WebhookConfigError, policy_from_config, targets_from_config


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
    _apply_security(config, hub, data.get("limits", {}))
    try:
        if "webhooks" in data:
            config.webhooks = targets_from_config(data["webhooks"])
        if "webhook_delivery" in data:
            config.delivery = policy_from_config(data["webhook_delivery"])
    except WebhookConfigError as exc:
        raise HubConfigError(str(exc)) from exc
    if "severity" in data:
        try:
            policy = severity_policy_from_config(data["severity"], config.settings.policy)
        except SeverityConfigError as exc:
            raise HubConfigError(str(exc)) from exc
        config.settings = config.settings.model_copy(update={"policy": policy})
    if "lock" in data:
        try:
            ttl = lock_ttl_from_config(data["lock"])
        except LockConfigError as exc:
            raise HubConfigError(str(exc)) from exc
        config.settings = config.settings.model_copy(update={"lock_ttl": ttl})
    if "roles" in data:
        try:
            config.settings = roles_settings_from_config(data["roles"], config.settings)
        except RolesConfigError as exc:
            raise HubConfigError(str(exc)) from exc
    return config


#: ``[limits]`` keys: those of the hub's per-connection limits, then the server's own.
_HUB_LIMITS = {
    "rate": float,
    "burst": int,
    "per_name": int,
    "hello_timeout": float,
    "max_lag": int,
    "direct_queue": int,
    "credential_rate": float,
    "credential_burst": int,
    "per_code": int,
    "per_token": int,
    "stall_timeout": float,
}
_SERVER_LIMITS = {
    "open_timeout": float,
    "ping_interval": float,
    "ping_timeout": float,
    "close_timeout": float,
    "max_connections": int,
}


def _apply_security(config: HubConfig, hub: dict[str, Any], limits: dict[str, Any]) -> None:
    """TLS and durability from ``[hub]``; abuse limits and timeouts from ``[limits]``."""
    for key in ("certfile", "keyfile"):
        if key in hub:
            setattr(config, key, Path(hub[key]).expanduser())
    if "durability" in hub:
        config.durability = str(hub["durability"])
    if not isinstance(limits, dict):
        raise HubConfigError("[limits] must be a table.")
    for key, value in limits.items():
        kind = _HUB_LIMITS.get(key) or _SERVER_LIMITS.get(key)
        if kind is None or isinstance(value, bool) or not isinstance(value, int | float):
            known = ", ".join([*_HUB_LIMITS, *_SERVER_LIMITS])
            raise HubConfigError(
                f"[limits] {key} = {value!r}: expected a number for one of {known}."
            )
        target = config.limits if key in _HUB_LIMITS else config
        setattr(target, key, kind(value))
