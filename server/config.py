"""Reading the hub's TOML configuration file (``warroom serve --config FILE``).

Example::

    [hub]
    host = "127.0.0.1"
    port = 8765
    db = "/var/lib/warroom/warroom.db"
    certfile = "/etc/warroom/hub.pem"   # TLS (wss://); keyfile = "..." if the key is apart
    durability = "full"                 # or "normal": see docs/SECURITY.md
    peer_lease = 15                     # on PostgreSQL: see docs/POSTGRES.md

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

    [memory]          # optional; what the hub keeps in memory (README)
    checkpoint_every = 1000 # events of an incident between two checkpoints of its state
    tail_frames = 2000      # newest events of each loaded incident kept ready to send
    recent_ids = 50000      # command ids kept in memory (older ones are looked up)
    unload_after = 60       # seconds a closed incident nobody follows stays loaded

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
``server/roles_config.py``; ``[intake]`` (the alert intake's port, credentials and severity
mapping) in ``server/intake_config.py`` and docs/ALERTS.md; ``[runbooks]`` (the directory of
runbook files) in ``server/runbooks_config.py`` and docs/RUNBOOKS.md.

The file is read into :class:`HubConfigFile`, a pydantic model: unknown sections and keys, wrong
types and bad values stop the hub with one line per problem, ``FILE: [section] key: what is
wrong``, the same style as the user's config file (``warroom/config.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.intake_config import IntakeConfigError, intake_from_config
from warroom.hub.lock_config import LockConfigError, lock_ttl_from_config
from warroom.hub.roles_config import RolesConfigError, roles_settings_from_config
from warroom.hub.runbooks_config import RunbooksConfigError, runbooks_from_config
from warroom.hub.severity_config import SeverityConfigError, severity_policy_from_config
from warroom.hub.status_config import StatusConfigError, status_from_config
from warroom.hub.webhooks import WebhookConfigError, policy_from_config, targets_from_config

from warroom.config_file import explain, read_toml
from warroom.paths import database

Positive = Annotated[int, Field(gt=0)]
#: A count or rate where 0 may mean "no limit" (see HubLimits).
Count = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0)]
Seconds = Annotated[float, Field(gt=0)]


class _Table(BaseModel):
    """A table whose keys are all known and whose values keep their TOML types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HubSection(_Table):
    """``[hub]``: where the hub listens and keeps its record."""

    host: str | None = None
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    db: str | None = None
    max_message: Positive | None = None
    certfile: str | None = None
    keyfile: str | None = None
    #: The keys of ``storage.DURABILITY``.
    durability: Literal["full", "normal"] | None = None
    #: Seconds another hub on the same PostgreSQL lists this one after its last heartbeat.
    peer_lease: Seconds | None = None


class LimitsSection(_Table):
    """``[limits]``: abuse limits and timeouts. A new limit is one more field here."""

    # the hub's per-connection limits (HubLimits)
    rate: Rate | None = None
    burst: Count | None = None
    per_name: Count | None = None
    hello_timeout: Seconds | None = None
    max_lag: Count | None = None
    direct_queue: Count | None = None
    # per credential (a token, a join code, the open hub)
    credential_rate: Rate | None = None
    credential_burst: Count | None = None
    per_code: Count | None = None
    per_token: Count | None = None
    stall_timeout: Seconds | None = None
    # the server's own (HubConfig)
    open_timeout: Seconds | None = None
    ping_interval: Seconds | None = None
    ping_timeout: Seconds | None = None
    close_timeout: Seconds | None = None
    max_connections: Count | None = None


class MemorySection(_Table):
    """``[memory]``: what the hub keeps in memory (``server.loading.MemoryLimits``)."""

    checkpoint_every: Count | None = None
    tail_frames: Positive | None = None
    recent_ids: Positive | None = None
    unload_after: Rate | None = None


class HubConfigFile(_Table):
    """The whole file. The sections with helpers of their own stay raw here and are checked by
    those helpers (``severity_config``, ``lock_config``, ``roles_config``, ``webhooks``), whose
    messages name the key in the same way."""

    hub: HubSection = Field(default_factory=HubSection)
    tokens: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    limits: LimitsSection = Field(default_factory=LimitsSection)
    memory: MemorySection = Field(default_factory=MemorySection)
    webhooks: Any = None
    webhook_delivery: Any = None
    severity: Any = None
    lock: Any = None
    roles: Any = None
    intake: Any = None
    status: Any = None
    runbooks: Any = None


#: ``[limits]`` keys that belong to the hub's per-connection limits; the rest are the server's.
_HUB_LIMITS = frozenset(
    {
        "rate",
        "burst",
        "per_name",
        "hello_timeout",
        "max_lag",
        "direct_queue",
        "credential_rate",
        "credential_burst",
        "per_code",
        "per_token",
        "stall_timeout",
    }
)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The file's tables, unchecked; :func:`apply_config_file` checks them."""
    try:
        return read_toml(Path(path))
    except FileNotFoundError as exc:
        raise HubConfigError(f"No config file at {path}.") from exc
    except OSError as exc:
        raise HubConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise HubConfigError(str(exc)) from exc


def read_config_file(path: str | Path, config: HubConfig) -> HubConfig:
    """``config`` filled from the file at ``path``; every error names the file."""
    return apply_config_file(config, load_config_file(path), source=path)


def apply_config_file(
    config: HubConfig, data: dict[str, Any], source: str | Path | None = None
) -> HubConfig:
    """Fill ``config`` from the file's sections; command-line flags are applied after this.

    ``source`` (the file's path) starts every error message.
    """
    prefix = f"{source}: " if source else ""
    try:
        parsed = HubConfigFile.model_validate(data)
    except ValidationError as exc:
        raise HubConfigError(explain(exc, source, HubConfigFile)) from None
    try:
        _apply(config, parsed)
        if parsed.runbooks is not None:  # #19: a relative dir is under the file's folder
            config.runbooks = runbooks_from_config(parsed.runbooks, source)
    except (
        WebhookConfigError,
        SeverityConfigError,
        LockConfigError,
        RolesConfigError,
        IntakeConfigError,
        StatusConfigError,
        RunbooksConfigError,
    ) as exc:
        raise HubConfigError(f"{prefix}{exc}") from None
    return config


def _apply(config: HubConfig, parsed: HubConfigFile) -> None:
    hub = parsed.hub
    if hub.host is not None:
        config.host = hub.host
    if hub.port is not None:
        config.port = hub.port
    if hub.db is not None:
        config.db = database(hub.db)
    if hub.max_message is not None:
        config.max_message = hub.max_message
    if hub.certfile is not None:
        config.certfile = Path(hub.certfile).expanduser()
    if hub.keyfile is not None:
        config.keyfile = Path(hub.keyfile).expanduser()
    if hub.durability is not None:
        config.durability = hub.durability
    if hub.peer_lease is not None:
        config.peer_lease = hub.peer_lease
    config.tokens.update(parsed.tokens)
    for key, value in parsed.limits.model_dump(exclude_none=True).items():
        setattr(config.limits if key in _HUB_LIMITS else config, key, value)
    for key, value in parsed.memory.model_dump(exclude_none=True).items():
        setattr(config.memory, key, value)
    if parsed.webhooks is not None:
        config.webhooks = targets_from_config(parsed.webhooks)
    if parsed.webhook_delivery is not None:
        config.delivery = policy_from_config(parsed.webhook_delivery)
    if parsed.severity is not None:
        policy = severity_policy_from_config(parsed.severity, config.settings.policy)
        config.settings = config.settings.model_copy(update={"policy": policy})
    if parsed.lock is not None:
        ttl = lock_ttl_from_config(parsed.lock)
        config.settings = config.settings.model_copy(update={"lock_ttl": ttl})
    if parsed.roles is not None:
        config.settings = roles_settings_from_config(parsed.roles, config.settings)
    if parsed.intake is not None:
        config.intake = intake_from_config(parsed.intake)
    if parsed.status is not None:
        config.status = status_from_config(parsed.status)
