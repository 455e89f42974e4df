"""The discriminated union of every event type, and parsing to and from the wire.

Importing this module imports every feature module, so every ``@event`` class is registered
before the union is built. A new feature adds its module to ``FEATURE_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar, Union

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from warroom.core.events import EVENT_TYPES, EventBase

#: Modules that define events. Order only affects the order of the union in the schema.
FEATURE_MODULES: tuple[str, ...] = (
    "warroom.core.incident",
    "warroom.core.lifecycle",
    "warroom.core.board",
    "warroom.core.decisions",
    "warroom.core.lock",
    "warroom.core.actions",
    "warroom.core.handoff",
    "warroom.core.comms",
    "warroom.core.access",
    "warroom.core.drill",
    "warroom.core.corrections",
    "warroom.core.status_page",  # page links (#21)
    "warroom.core.alerts_incident",  # issue 20: alert groups in an incident
    "warroom.core.checklist",  # #19: runbooks as checklists
    "warroom.core.gate",  # #19: the change freeze and the deploy gate's checks
    "warroom.core.redaction",  # #23: redaction of secrets
)

for _module in FEATURE_MODULES:
    importlib.import_module(_module)

#: Every registered event class, told apart by ``type``. Built at import time from the registry,
#: so a type checker sees only what it is: some event.
AnyEvent: Any = Annotated[Union[tuple(EVENT_TYPES.values())], Field(discriminator="type")]  # noqa: UP007
EVENT_ADAPTER: TypeAdapter[EventBase] = TypeAdapter(AnyEvent, config=ConfigDict(defer_build=True))


class EventError(ValueError):
    """A command or event that does not match any event's schema; ``message`` is for people."""


def parse_event(data: Any) -> EventBase:
    """Validate a dict (or JSON string) as one of the registered events."""
    try:
        if isinstance(data, str | bytes):
            return EVENT_ADAPTER.validate_json(data)
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise EventError(explain(exc)) from exc


_P = ParamSpec("_P")
_E = TypeVar("_E", bound=EventBase)


def draft(cls: Callable[_P, _E], *args: _P.args, **kwargs: _P.kwargs) -> _E:
    """Build a command of event class ``cls``; a bad payload raises :class:`EventError` in words.

    For payloads that come from people (forms, panes, drill scripts): construct the class
    directly where the values cannot be wrong.
    """
    try:
        return cls(*args, **kwargs)
    except ValidationError as exc:
        raise EventError(explain(exc)) from exc


def explain(exc: ValidationError) -> str:
    """Turn pydantic's errors into one short sentence a responder can act on."""
    parts = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        where = ".".join(loc) or "command"
        if err["type"] == "union_tag_invalid":
            tag = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else "?"
            parts.append(f"unknown event type {tag!r} (known: {', '.join(EVENT_TYPES)})")
        elif err["type"] == "union_tag_not_found":
            parts.append("the command has no 'type'")
        else:
            parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
