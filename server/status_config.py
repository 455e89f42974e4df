"""The ``[status]`` section of the hub's config file: the browser status pages (docs/STATUS.md).

Example::

    [status]
    open_external = false   # true: anyone who can reach the hub reads external pages, no link
    refresh = 60            # seconds between reloads of a page in a browser without JavaScript
    max_viewers = 500       # live page connections the hub keeps open at once

Without the section, pages exist but open only with a page link (or a hub or personal token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYS = frozenset({"open_external", "refresh", "max_viewers"})


class StatusConfigError(ValueError):
    """A ``[status]`` section the hub cannot use; the message names the key to fix."""


@dataclass
class StatusConfig:
    #: Whether external pages (external updates only) are readable without a link. Drills never.
    open_external: bool = False
    #: Seconds between reloads of a page shown without JavaScript.
    refresh: int = 60
    #: Live page connections at once; beyond that a page falls back to reloading itself.
    max_viewers: int = 500


def status_from_config(section: Any) -> StatusConfig:
    """The pages the file's ``[status]`` table describes."""
    if not isinstance(section, dict):
        raise StatusConfigError("[status] must be a table.")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise StatusConfigError(
            f"[status] has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}."
        )
    config = StatusConfig()
    if "open_external" in section:
        value = section["open_external"]
        if not isinstance(value, bool):
            raise StatusConfigError("[status] open_external: expected true or false.")
        config.open_external = value
    for key, low, high in (("refresh", 5, 3600), ("max_viewers", 0, 100_000)):
        if key in section:
            value = section[key]
            if type(value) is not int or not low <= value <= high:
                raise StatusConfigError(f"[status] {key}: expected a whole number {low}-{high}.")
            setattr(config, key, value)
    return config
