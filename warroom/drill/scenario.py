"""The scenario format: a TOML file describing the incident, the cast and the script.

A scenario is data, so teams can write their own. Loading validates it completely before a drill
starts, and every problem is reported with the line of the file it is on.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warroom.core.events import EVENT_TYPES, EventBase
from warroom.core.gate import GATE_NAME_PATTERN
from warroom.core.incident import NoteAdded
from warroom.core.log import EventError, draft
from warroom.core.roles import JOINABLE_ROLES, Role
from warroom.core.severity import Severity


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, line and problem."""


class Do(StrEnum):
    """What a step does. Steps by the IC or comms lead wait for the person playing that role."""

    NOTE = "note"
    FACT = "fact"
    GUESS = "guess"
    CLAIM = "claim"
    CONFIRM = "confirm"
    RULE_OUT = "rule_out"
    EVIDENCE = "evidence"
    LOCK = "lock"
    RELEASE = "release"
    ACTION = "action"
    FINISH = "finish"
    DECIDE = "decide"
    PHASE = "phase"
    SEVERITY = "severity"
    UPDATE = "update"
    FOLLOW_UP = "follow_up"
    ASSIGN = "assign"
    # runbooks and the deploy gate (#19)
    ATTACH = "attach"
    CLAIM_STEP = "claim_step"
    DONE_STEP = "done_step"
    FREEZE = "freeze"
    THAW = "thaw"
    PIPELINE = "pipeline"


#: Which fields each kind of step needs.
REQUIRED: dict[Do, tuple[str, ...]] = {
    Do.NOTE: ("text",),
    Do.FACT: ("key", "text"),
    Do.GUESS: ("key", "text"),
    Do.CLAIM: ("item",),
    Do.CONFIRM: ("item",),
    Do.RULE_OUT: ("item", "evidence"),
    Do.EVIDENCE: ("item", "evidence"),
    Do.LOCK: (),
    Do.RELEASE: (),
    Do.ACTION: ("kind", "target", "expected", "metric", "before"),
    Do.FINISH: ("after", "outcome"),
    Do.DECIDE: ("what", "why"),
    Do.PHASE: ("to",),
    Do.SEVERITY: ("to", "reason"),
    Do.UPDATE: ("affected",),
    Do.FOLLOW_UP: ("text", "owner"),
    Do.ASSIGN: ("role", "to"),
    Do.ATTACH: ("runbook",),
    Do.CLAIM_STEP: ("runbook", "step"),
    Do.DONE_STEP: ("runbook", "step"),
    Do.FREEZE: ("targets",),
    Do.THAW: (),
    Do.PIPELINE: ("target",),
}

#: What a pipeline step's pipeline shows the gate: no token, the live lease's token (its holder
#: handed it over), or the token of the lease before it (a stale one, kept from earlier).
Presents = Literal["none", "lock", "previous"]


class Responder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    role: Role
    #: One line shown to the user about who this is ("on-call DBA").
    about: str = ""

    @field_validator("role")
    @classmethod
    def _joinable(cls, role: Role) -> Role:
        if role not in JOINABLE_ROLES:
            raise ValueError(f"role must be one of {', '.join(JOINABLE_ROLES)}")
        return role


class Step(BaseModel):
    """One line of the script. ``at`` is scenario time after the declaration ("mm:ss")."""

    model_config = ConfigDict(extra="forbid")

    at: str = "0:00"
    by: str
    do: Do
    hint: str = ""
    # payload fields, used according to ``do``
    text: str = ""
    kind: str = ""
    key: str = ""
    item: str = ""
    evidence: str = ""
    target: str = ""
    expected: str = ""
    metric: str = ""
    before: str = ""
    after: str = ""
    outcome: str = ""
    what: str = ""
    why: str = ""
    options: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    owner: str = ""
    to: str = ""
    reason: str = ""
    role: str = ""
    audience: str = "external"
    affected: str = ""
    not_affected: str = ""
    expect: str = ""
    doing: str = ""
    resolution: str = ""
    next_update_minutes: int | None = None
    due_days: int = 7
    #: Picked at random (with the drill's seed) instead of ``text``, for variety between runs.
    texts: list[str] = Field(default_factory=list)
    # runbooks and the gate: the runbook (a shipped one's name) and its step (1-based)
    runbook: str = ""
    step: int = Field(default=0, ge=0)
    targets: list[str] = Field(default_factory=list)
    presents: Presents = "none"
    #: A pipeline step: the change is starting (``warroom gate report``), so with the live
    #: lease's token the hub records it as the holder's production action.
    started: bool = False

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"\d{1,4}:[0-5]\d", value):
            raise ValueError('at must be minutes:seconds after the declaration, like "12:30"')
        return value

    @property
    def seconds(self) -> int:
        minutes, secs = self.at.split(":")
        return int(minutes) * 60 + int(secs)

    @model_validator(mode="after")
    def _needs(self) -> Step:
        missing = [
            f
            for f in REQUIRED[self.do]
            if not getattr(self, f) and not (f == "text" and self.texts)
        ]
        if missing:
            raise ValueError(f"a '{self.do}' step needs {', '.join(missing)}")
        return self


class Reaction(BaseModel):
    """What a simulated responder does when something happens (an overdue update, say)."""

    model_config = ConfigDict(extra="forbid")

    on: str
    by: str
    text: str
    kind: str = "note"

    @field_validator("on")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"on: no event type {value!r}")
        return value

    @property
    def trigger(self) -> type[EventBase]:
        """The event class this reaction answers."""
        return EVENT_TYPES[self.on]


class Expectation(BaseModel):
    """What a good response to this scenario looks like, for the scorecard's observations."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity | None = None
    helpful_actions: list[str] = Field(default_factory=list)
    unhelpful_actions: list[str] = Field(default_factory=list)
    mitigate_within_minutes: int | None = None
    #: The runbook the room should attach (a shipped one's name), and how soon.
    runbook: str = ""
    attach_within_minutes: int | None = Field(default=None, ge=0)

    @field_validator("runbook")
    @classmethod
    def _shipped(cls, name: str) -> str:
        from warroom.drill.scenario_gate import runbook_named, unknown_runbook

        if name and runbook_named(name) is None:
            raise ValueError(unknown_runbook(name))
        return name


class ScenarioInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1, max_length=200)
    summary: str = ""
    severity: Severity
    trigger: str = ""
    symptoms: str = ""
    scope: str = ""
    #: How long before the declaration the problem was detected.
    detected_minutes_before: int = Field(default=3, ge=0)
    #: Scenario time at which the drill ends by itself if nothing else ends it.
    ends_at: str = "60:00"

    @field_validator("ends_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"\d{1,4}:[0-5]\d", value):
            raise ValueError('ends_at must be minutes:seconds, like "45:00"')
        return value


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: ScenarioInfo
    responders: list[Responder] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    reactions: list[Reaction] = Field(default_factory=list)
    expect: Expectation = Field(default_factory=Expectation)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [r.name for r in self.responders]
        if len(set(names)) != len(names):
            raise ValueError("responders: two responders have the same name")
        if Role.IC not in {r.role for r in self.responders}:
            raise ValueError('responders: the cast needs one responder with role "ic"')
        known_items: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.do == Do.PIPELINE:
                pipeline_by(i, step, names)
            elif step.by not in names:
                raise StepProblem(i, "by", f"no responder called {step.by!r}")
            if step.do in (Do.FACT, Do.GUESS):
                if step.key in known_items:
                    raise StepProblem(i, "key", f"key {step.key!r} is used twice")
                known_items.add(step.key)
            if step.item and step.item not in known_items:
                raise StepProblem(i, "item", f"no earlier fact or guess with key {step.item!r}")
            for fact in step.facts:
                if fact not in known_items:
                    raise StepProblem(i, "facts", f"no earlier fact or guess with key {fact!r}")
        # Each step's command is built by the core's event class now, so a value the hub would
        # not take (a phase or note kind that does not exist, say) is reported at load.
        from warroom.drill.commands import problem  # it builds on this module
        from warroom.drill.scenario_gate import check_runbook_steps  # it builds on this module

        check_runbook_steps(self)
        for i, step in enumerate(self.steps):
            if (why := problem(step)) is not None:
                raise StepProblem(i, "do", f"the {step.do.value} command would not be valid: {why}")
        for i, reaction in enumerate(self.reactions):
            if reaction.by not in names:
                raise StepProblem(i, "by", f"no responder called {reaction.by!r}", "reactions")
            try:
                draft(NoteAdded, text=reaction.text, kind=reaction.kind)
            except EventError as exc:
                raise StepProblem(i, "kind", str(exc), "reactions") from exc
        return self

    @property
    def ic(self) -> Responder:
        return next(r for r in self.responders if r.role == Role.IC)

    def responder(self, name: str) -> Responder:
        return next(r for r in self.responders if r.name == name)

    def played_by_user(self, role: Role) -> Responder | None:
        """The cast member the user replaces when playing ``role`` (if the cast has one)."""
        return next((r for r in self.responders if r.role == role), None)


def pipeline_by(index: int, step: Step, responders: list[str]) -> None:
    """A pipeline step's ``by`` names the pipeline (its gate credential), never a person."""
    if step.by in responders:
        raise StepProblem(
            index, "by", f"{step.by!r} is a responder; a pipeline step's by names the pipeline"
        )
    if not re.match(GATE_NAME_PATTERN, step.by):
        raise StepProblem(
            index,
            "by",
            f"{step.by!r} is not a pipeline name (lower-case letters, digits, - and _, like "
            "deploy-prod)",
        )


class StepProblem(ValueError):
    def __init__(self, index: int, field: str, message: str, table: str = "steps") -> None:
        super().__init__(message)
        self.index, self.field, self.table, self.message = index, field, table, message


# --- loading ----------------------------------------------------------------------------------
def shipped() -> dict[str, Path]:
    """The scenarios that ship with warroom, by name."""
    folder = resources.files("warroom.drill") / "scenarios"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = Path(str(entry))
    return dict(sorted(found.items()))


def load(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if not path.exists():
        scenarios = shipped()
        if str(name_or_path) not in scenarios:
            raise ScenarioError(
                f"No scenario {str(name_or_path)!r}: give a file path or one of "
                f"{', '.join(scenarios)} (warroom drill --list)."
            )
        path = scenarios[str(name_or_path)]
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_explain(exc, text, source)) from exc


def _explain(exc: ValidationError, text: str, source: str) -> str:
    problems = []
    for err in exc.errors()[:5]:
        loc = list(err["loc"])
        ctx = err.get("ctx", {}) or {}
        inner = ctx.get("error")
        if isinstance(inner, StepProblem):
            loc = [inner.table, inner.index, inner.field]
            message = inner.message
        else:
            message = err["msg"].removeprefix("Value error, ")
        line = locate(text, loc)
        where = ".".join(str(p) for p in loc) or "file"
        problems.append(f"{source}:{line}: {where}: {message}")
    return "\n".join(problems)


def locate(text: str, loc: list[Any]) -> int:
    """The line number (1-based) that ``loc`` (e.g. ["steps", 3, "at"]) refers to, best effort."""
    lines = text.splitlines()
    if not loc:
        return 1
    table = str(loc[0])
    start, end = 0, len(lines)
    if len(loc) > 1 and isinstance(loc[1], int):
        headers = [i for i, line in enumerate(lines) if line.strip() == f"[[{table}]]"]
        if loc[1] < len(headers):
            start = headers[loc[1]]
            following = [
                i for i, line in enumerate(lines) if i > start and line.strip().startswith("[")
            ]
            end = following[0] if following else len(lines)
        field = str(loc[2]) if len(loc) > 2 else None
    else:
        header = next((i for i, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
        if header is not None:
            start = header
            following = [
                i for i, line in enumerate(lines) if i > start and line.strip().startswith("[")
            ]
            end = following[0] if following else len(lines)
        field = str(loc[1]) if len(loc) > 1 else None
    if field:
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(field)}\s*=", lines[i]):
                return i + 1
    return start + 1
