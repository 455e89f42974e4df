"""A runbook as data: its title, what it applies to, and its ordered steps.

Runbooks are written as TOML files by the team (see docs/RUNBOOKS.md) and read by the hub; the
file format and its line-numbered errors live in :mod:`warroom.hub.runbooks`. This module holds
only the validated shape, shared by the hub (which serves and suggests runbooks) and the checklist
events (which copy a runbook's steps into the incident when it is attached, so a later edit of
the file never rewrites what the room worked through).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from warroom.core.roles import Role

if TYPE_CHECKING:
    from warroom.core.state import IncidentState

MAX_INSTRUCTION = 500
MAX_COMMAND = 1000
MAX_TITLE = 200
MAX_STEPS = 60
#: A runbook's name: its file name without ``.toml``, as a slug.
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]*")
#: Roles a step may expect (a step for "anyone" leaves the role out).
STEP_ROLES: tuple[Role, ...] = (Role.IC, Role.SCRIBE, Role.COMMS, Role.LEAD, Role.RESPONDER)


class RunbookStep(BaseModel):
    """One step of a runbook: what to do, what to run, who is expected to, and whether it
    changes production (then it is done only as a production action under the lock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    do: str = Field(min_length=1, max_length=MAX_INSTRUCTION)
    command: str = Field(default="", max_length=MAX_COMMAND)
    role: Role | None = None
    #: Strict: a file saying "yes" or 1 is asked to say true, not guessed at.
    changes_production: StrictBool = False

    @field_validator("do")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what the step is")
        return value.strip()

    @field_validator("role")
    @classmethod
    def _a_working_role(cls, role: Role | None) -> Role | None:
        if role is not None and role not in STEP_ROLES:
            raise ValueError(f"role must be one of {', '.join(STEP_ROLES)}")
        return role


class AppliesTo(BaseModel):
    """What a runbook is for; the hub suggests it when any of these match the incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Service names, matched as words of the incident's title, scope and triage answers.
    services: tuple[str, ...] = ()
    #: Words matched in the incident's title.
    titles: tuple[str, ...] = ()
    #: Words matched in the triage answers (where, what features) and the declared scope.
    scope: tuple[str, ...] = ()
    #: Alert labels (``name=value``), for alerts attached to an incident later.
    alert_labels: dict[str, str] = Field(default_factory=dict)


class Runbook(BaseModel):
    """A runbook the hub serves: ``name`` is its file name without ``.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    summary: str = Field(default="", max_length=MAX_INSTRUCTION)
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    steps: tuple[RunbookStep, ...] = Field(min_length=1, max_length=MAX_STEPS)


def words(text: str) -> set[str]:
    """The lower-case words of ``text`` (service names keep their dashes and dots)."""
    return set(_WORD.findall(text.lower()))


def _incident_words(state: IncidentState) -> tuple[set[str], set[str]]:
    """(title words, scope words) of the incident as the room has described it."""
    triage = state.triage
    scope = " ".join((state.scope, state.symptoms, triage.where, triage.features, triage.who))
    return words(state.title), words(scope)


def matches(runbook: Runbook, state: IncidentState) -> list[str]:
    """Why ``runbook`` applies to the incident: the matched words, empty when it does not."""
    title, scope = _incident_words(state)
    applies = runbook.applies_to
    found = [s for s in applies.services if s.lower() in title | scope]
    found += [t for t in applies.titles if words(t) and words(t) <= title]
    found += [s for s in applies.scope if words(s) and words(s) <= scope]
    return list(dict.fromkeys(found))


def suggested(runbooks: list[Runbook], state: IncidentState) -> list[Runbook]:
    """The runbooks that apply to the incident and are not attached yet, best match first."""
    attached = {c.runbook for c in state.checklists.values()}
    scored = [(len(matches(r, state)), r) for r in runbooks if r.name not in attached]
    return [r for score, r in sorted(scored, key=lambda p: -p[0]) if score]
