"""The ``[intake]`` section of the hub's config file: where monitoring posts its alerts.

Example::

    [intake]
    port = 8766                  # the intake's own HTTP listener (same host and TLS as the hub)
    max_body = 2097152           # bytes; a bigger notification is refused with 413
    severity_label = "severity"  # the label whose value picks the severity
    severity = { critical = "SEV1", error = "SEV2", warning = "SEV3", info = "SEV4" }

    [intake.credentials]         # name = secret, or name = "sha256:<hex digest of the secret>"
    alertmanager = "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
    grafana = "another-long-random-secret"

The hub keeps only the SHA-256 digest of each credential (a plain secret is hashed as the file is
read), so the file may hold digests alone: ``printf %s "$SECRET" | sha256sum``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from warroom.core.alerts import DEFAULT_SEVERITY_LABEL, DEFAULT_SEVERITY_MAP
from warroom.core.alerts_incident import DEFAULT_SCOPE_LABELS, AutoDeclareRule
from warroom.core.severity import Severity

DEFAULT_INTAKE_PORT = 8766
#: Alertmanager sends every alert of a group in one body; 2 MiB holds thousands of alerts.
DEFAULT_MAX_BODY = 2 * 1024 * 1024
KEYS = frozenset(
    {"port", "max_body", "severity_label", "severity", "credentials", "scope", "timeline_every",
     "auto_declare"}
)  # fmt: skip
#: Seconds between two timeline entries of one attached group (news in between is gathered).
DEFAULT_TIMELINE_EVERY = 5.0
_DIGEST = re.compile(r"sha256:([0-9a-fA-F]{64})")


class IntakeConfigError(ValueError):
    """An ``[intake]`` section the hub cannot use; the message names the key to fix."""


@dataclass
class IntakeConfig:
    port: int = DEFAULT_INTAKE_PORT
    max_body: int = DEFAULT_MAX_BODY
    #: Credential name -> hex SHA-256 digest of its secret (never the secret itself).
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    severity_label: str = DEFAULT_SEVERITY_LABEL
    severity: dict[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITY_MAP))
    #: The labels a declaration's scope is read from, in order.
    scope: tuple[str, ...] = DEFAULT_SCOPE_LABELS
    timeline_every: float = DEFAULT_TIMELINE_EVERY
    #: Groups that are declared incidents at once (none by default: declaring stays human).
    auto_declare: tuple[AutoDeclareRule, ...] = ()


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def intake_from_config(section: Any) -> IntakeConfig:
    """The intake the file's ``[intake]`` table describes."""
    if not isinstance(section, dict):
        raise IntakeConfigError("[intake] must be a table.")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise IntakeConfigError(
            f"[intake] has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}."
        )
    config = IntakeConfig()
    if "port" in section:
        port = section["port"]
        if type(port) is not int or not 0 <= port <= 65535:
            raise IntakeConfigError(f"[intake] port: expected a port number, got {port!r}.")
        config.port = port
    if "max_body" in section:
        size = section["max_body"]
        if type(size) is not int or size < 1024:
            raise IntakeConfigError(f"[intake] max_body: expected bytes >= 1024, got {size!r}.")
        config.max_body = size
    if "severity_label" in section:
        label = section["severity_label"]
        if not isinstance(label, str) or not label.strip():
            raise IntakeConfigError("[intake] severity_label: expected a label name.")
        config.severity_label = label.strip()
    if "severity" in section:
        config.severity = _severity_map(section["severity"])
    if "scope" in section:
        names = section["scope"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise IntakeConfigError(
                '[intake] scope: expected a list of label names, e.g. ["service", "region"].'
            )
        config.scope = tuple(n.strip() for n in names)
    if "timeline_every" in section:
        every = section["timeline_every"]
        if type(every) not in (int, float) or not 0 <= every <= 3600:
            raise IntakeConfigError(
                f"[intake] timeline_every: expected seconds from 0 to 3600, got {every!r}."
            )
        config.timeline_every = float(every)
    if "auto_declare" in section:
        config.auto_declare = _auto_rules(section["auto_declare"])
    config.credentials = _credentials(section.get("credentials"))
    return config


def _auto_rules(rules: Any) -> tuple[AutoDeclareRule, ...]:
    example = '[[intake.auto_declare]] with match = { severity = "critical" }'
    if not isinstance(rules, list):
        raise IntakeConfigError(f"[intake] auto_declare: expected a list of rules ({example}).")
    parsed = []
    for number, rule in enumerate(rules, start=1):
        where = f"[[intake.auto_declare]] rule {number}"
        if not isinstance(rule, dict) or set(rule) - {"match", "severity"}:
            raise IntakeConfigError(f"{where}: takes match and severity ({example}).")
        match = rule.get("match")
        if (
            not isinstance(match, dict)
            or not match
            or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in match.items())
        ):
            raise IntakeConfigError(f'{where}: match needs label = "value" pairs ({example}).')
        severity = rule.get("severity")
        try:
            level = Severity(str(severity).upper()) if severity is not None else None
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise IntakeConfigError(
                f"{where}: severity {severity!r} is not one of {names}."
            ) from None
        parsed.append(AutoDeclareRule(match=match, severity=level))
    return tuple(parsed)


def _severity_map(table: Any) -> dict[str, Severity]:
    if not isinstance(table, dict):
        raise IntakeConfigError('[intake] severity: expected a table, e.g. { critical = "SEV1" }.')
    mapping: dict[str, Severity] = {}
    for value, level in table.items():
        try:
            mapping[value.lower()] = Severity(str(level).upper())
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise IntakeConfigError(
                f"[intake] severity.{value}: {level!r} is not a severity; use {names}."
            ) from None
    return mapping


def _credentials(table: Any) -> dict[str, str]:
    if not isinstance(table, dict) or not table:
        raise IntakeConfigError(
            "[intake.credentials] must name at least one credential (name = secret); "
            "monitoring presents it as 'Authorization: Bearer <secret>'."
        )
    digests: dict[str, str] = {}
    for name, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise IntakeConfigError(f"[intake.credentials] {name}: expected a secret in quotes.")
        value = value.strip()
        match = _DIGEST.fullmatch(value)
        if match:
            digests[name] = match.group(1).lower()
        elif value.startswith("sha256:"):
            raise IntakeConfigError(
                f"[intake.credentials] {name}: a digest is 'sha256:' and 64 hex digits."
            )
        elif len(value) < 16:
            raise IntakeConfigError(
                f"[intake.credentials] {name}: too short; use at least 16 random characters."
            )
        else:
            digests[name] = secret_digest(value)
    return digests
