"""The ``[roles]`` section of the hub's config file: handoff offers and IC rotation.

Example::

    [roles]
    handoff_ttl_minutes = 5     # an unanswered handoff offer lapses after this long
    ic_rotation_hours = 3       # after this long as IC, the hub suggests a handoff

Both are stamped into each incident when it is declared (``settings.handoff_ttl``,
``settings.ic_rotation``), so changing them affects new incidents only, and every console of an
incident shows the same deadlines.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from warroom.core.settings import HubSettings

#: Bounds that keep the numbers meaningful: an offer must survive a read of the briefing, and a
#: rotation suggestion must come within a long shift.
HANDOFF_TTL = (timedelta(minutes=1), timedelta(hours=1))
IC_ROTATION = (timedelta(minutes=30), timedelta(hours=24))


class RolesConfigError(ValueError):
    """A ``[roles]`` section the hub will not start with; the message says what to change."""


def roles_settings_from_config(section: Any, settings: HubSettings) -> HubSettings:
    """``settings`` with the handoff timings of a parsed ``[roles]`` table."""
    if not isinstance(section, dict):
        raise RolesConfigError("[roles] must be a table, e.g. [roles] ic_rotation_hours = 3.")
    known = {"handoff_ttl_minutes": "handoff_ttl", "ic_rotation_hours": "ic_rotation"}
    unknown = set(section) - set(known)
    if unknown:
        raise RolesConfigError(
            f"[roles] has unknown keys: {', '.join(sorted(unknown))}; the keys are "
            f"{', '.join(known)}."
        )
    update: dict[str, timedelta] = {}
    for key, field in known.items():
        if key not in section:
            continue
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RolesConfigError(f"[roles] {key} = {value!r}: expected a number.")
        span = timedelta(minutes=value) if key.endswith("minutes") else timedelta(hours=value)
        low, high = HANDOFF_TTL if field == "handoff_ttl" else IC_ROTATION
        if not low <= span <= high:
            raise RolesConfigError(f"[roles] {key} = {value}: expected between {low} and {high}.")
        update[field] = span
    return settings.model_copy(update=update)
