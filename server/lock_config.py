"""The ``[lock]`` section of the hub's config file: how long a production-lock lease lasts.

Example::

    [lock]
    ttl_minutes = 10    # a lease lasts this long from its grant or last renewal

The value is stamped into each incident when it is declared (``settings.lock_ttl``), so changing
it affects new incidents only; every console of an incident counts down from the same number.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

#: Shorter leases would expire while someone is still typing; longer ones are not leases.
MIN_TTL = timedelta(minutes=1)
MAX_TTL = timedelta(hours=4)


class LockConfigError(ValueError):
    """A ``[lock]`` section the hub will not start with; the message says what to change."""


def lock_ttl_from_config(section: Any) -> timedelta:
    """The lease time to live from a parsed ``[lock]`` table."""
    if not isinstance(section, dict):
        raise LockConfigError("[lock] must be a table, e.g. [lock] ttl_minutes = 10.")
    unknown = set(section) - {"ttl_minutes"}
    if unknown:
        raise LockConfigError(
            f"[lock] has unknown keys: {', '.join(sorted(unknown))}; the only key is ttl_minutes."
        )
    value = section.get("ttl_minutes", 10)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LockConfigError(f"[lock] ttl_minutes = {value!r}: expected a number of minutes.")
    ttl = timedelta(minutes=value)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise LockConfigError(
            f"[lock] ttl_minutes = {value}: a lease lasts between 1 and 240 minutes."
        )
    return ttl
