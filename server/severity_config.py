"""The ``[severity]`` section of the hub's config file: what each level means and expects.

Example::

    [severity]
    first_update_minutes = 10          # the first stakeholder update, after declaring

    [severity.SEV1]
    meaning = "Checkout or login down for everyone, or data at risk."
    time_to_mitigate_minutes = 60      # past this before "monitoring", the hub proposes escalation
    update_cadence_minutes = 15        # stakeholder updates at least this often

    [severity.SEV4]
    time_to_mitigate_minutes = "none"  # no expectation: never escalates
    update_cadence_minutes = "none"    # no scheduled updates

Levels and keys left out keep their defaults. The hub stamps the resulting policy onto each
incident it declares, so an incident keeps the numbers it started with if the file changes later.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from warroom.core.severity import Severity, SeverityPolicy

#: The keys a ``[severity.SEVn]`` table may have.
LEVEL_KEYS = frozenset({"meaning", "time_to_mitigate_minutes", "update_cadence_minutes"})
#: Values that mean "no expectation" for a level (TOML has no null).
NONE_WORDS = frozenset({"none", "never", "off"})


class SeverityConfigError(ValueError):
    """A ``[severity]`` section the hub cannot use; the message names the key to fix."""


def severity_policy_from_config(section: Any, base: SeverityPolicy | None = None) -> SeverityPolicy:
    """The policy ``base`` (the defaults if omitted) with the file's ``[severity]`` applied."""
    policy = base or SeverityPolicy()
    if not isinstance(section, dict):
        raise SeverityConfigError("[severity] must be a table.")
    mitigate = dict(policy.time_to_mitigate)
    cadence = dict(policy.update_cadence)
    definitions = dict(policy.definitions)
    first_update = policy.first_update_after
    for key, value in section.items():
        if key == "first_update_minutes":
            minutes = _minutes(value, "[severity] first_update_minutes", allow_none=False)
            assert minutes is not None
            first_update = minutes
            continue
        try:
            level = Severity(key.upper())
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise SeverityConfigError(
                f"[severity.{key}] is not a severity level; use {names} or first_update_minutes."
            ) from None
        if not isinstance(value, dict):
            raise SeverityConfigError(f"[severity.{level}] must be a table.")
        unknown = sorted(set(value) - LEVEL_KEYS)
        if unknown:
            raise SeverityConfigError(
                f"[severity.{level}] has unknown keys {', '.join(unknown)}; "
                f"known: {', '.join(sorted(LEVEL_KEYS))}."
            )
        if "meaning" in value:
            meaning = value["meaning"]
            if not isinstance(meaning, str) or not meaning.strip():
                raise SeverityConfigError(f"[severity.{level}] meaning must be a non-empty text.")
            definitions[level] = meaning.strip()
        if "time_to_mitigate_minutes" in value:
            where = f"[severity.{level}] time_to_mitigate_minutes"
            mitigate[level] = _minutes(value["time_to_mitigate_minutes"], where)
        if "update_cadence_minutes" in value:
            where = f"[severity.{level}] update_cadence_minutes"
            cadence[level] = _minutes(value["update_cadence_minutes"], where)
    return policy.model_copy(
        update={
            "time_to_mitigate": mitigate,
            "update_cadence": cadence,
            "definitions": definitions,
            "first_update_after": first_update,
        }
    )


def _minutes(value: Any, where: str, allow_none: bool = True) -> timedelta | None:
    if allow_none and (value is False or (isinstance(value, str) and value.lower() in NONE_WORDS)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        hint = ' or "none"' if allow_none else ""
        raise SeverityConfigError(f"{where} must be a number of minutes above 0{hint}.")
    return timedelta(minutes=value)
