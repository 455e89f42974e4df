"""The briefing: the incident as someone taking over needs it, assembled from the folded state.

One function, :func:`build_briefing`, serves three readers: the outgoing and incoming IC on the
handoff screen (everything), the holder of another role handing it over (a shorter cut for that
role), and a newcomer's read-in. Because it is a pure function of the state, the hub can check
that the briefing an offer carries is the one its own state gives, and the offer keeps it on the
timeline as it was.

Each feature that feeds the briefing (lifecycle, board, decisions, lock, comms) has one small
reader below. Nothing here reads the clock: times are kept absolute, and :func:`briefing_blocks`
adds "in 4m" only when given a ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warroom.core.actions import open_actions, undo_pending
from warroom.core.board import Column, ItemStatus, column, quote
from warroom.core.cadence import next_update_due
from warroom.core.checklist_state import progress_line
from warroom.core.handoff_state import SECTION_TITLES, Briefing, BriefLine, Section
from warroom.core.incident import without_drill_mark
from warroom.core.lifecycle import escalation_deadline, open_escalation, raised
from warroom.core.lifecycle_state import Impact, Trend, TriageQuestion
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.state import IncidentState

#: What each role's briefing covers: the IC gets everything, the others what their work needs.
ROLE_SECTIONS: dict[Role, tuple[Section, ...]] = {
    Role.IC: tuple(Section),
    Role.LEAD: (
        Section.SITUATION,
        Section.TRIAGE,
        Section.FACTS,
        Section.GUESSES,
        Section.PRODUCTION,
        Section.DECISIONS,
    ),
    Role.COMMS: (
        Section.SITUATION,
        Section.TRIAGE,
        Section.FACTS,
        Section.DECISIONS,
        Section.COMMS,
    ),
    Role.SCRIBE: (
        Section.SITUATION,
        Section.ROLES,
        Section.DECISIONS,
        Section.FOLLOW_UPS,
    ),
}

#: A newcomer's read-in: enough to follow the room without asking it to repeat itself.
READ_IN_SECTIONS: tuple[Section, ...] = (
    Section.SITUATION,
    Section.ROLES,
    Section.FACTS,
    Section.GUESSES,
    Section.PRODUCTION,
    Section.COMMS,
)

#: Most lines per list; the briefing is read in a minute, the board holds the rest.
MAX_LINES = 8
#: How many of the latest decisions the briefing repeats.
LAST_DECISIONS = 3
#: Someone joining this long after the declaration missed enough to be read in.
READ_IN_AFTER = timedelta(minutes=2)

#: Triage answers that say nothing yet; the briefing lists those questions as still open.
_UNANSWERED = {"", Impact.UNKNOWN.value, Trend.UNKNOWN.value}


def build_briefing(state: IncidentState, role: Role = Role.IC) -> Briefing:
    """The briefing for whoever takes over ``role`` (the IC's when ``role`` is not a held role)."""
    sections = ROLE_SECTIONS.get(role, ROLE_SECTIONS[Role.IC])
    return _assemble(state, role if role in HELD_ROLES else Role.IC, sections)


def read_in(state: IncidentState) -> Briefing:
    """The short read-in a newcomer's console opens with."""
    return _assemble(state, Role.RESPONDER, READ_IN_SECTIONS)


def read_in_due(state: IncidentState, name: str) -> bool:
    """Whether ``name`` is a newcomer whose console should open with the read-in.

    A newcomer arrived a while after the declaration and is on their first visit (someone coming
    back after a break has their own memory of the room and is not read in again).
    """
    person = state.participants.get(name)
    if person is None or person.joined_at is None or state.declared_at is None:
        return False
    if name == state.declared_by:
        return False
    first_visit = person.last_seen is None or person.last_seen == person.joined_at
    return first_visit and person.joined_at - state.declared_at >= READ_IN_AFTER


def _assemble(state: IncidentState, role: Role, sections: tuple[Section, ...]) -> Briefing:
    wanted = set(sections)
    lock = state.lock
    due = next_update_due(state) if Section.COMMS in wanted else None
    last = state.comms.last_update if Section.COMMS in wanted else None
    production = Section.PRODUCTION in wanted
    return Briefing(
        role=role,
        sections=sections,
        title=state.title,
        severity=state.severity,
        phase=state.phase,
        drill=state.drill,
        detected_at=state.detected_at,
        declared_at=state.declared_at,
        phase_since=phase_since(state),
        impact_started_at=state.impact_started_at,
        mitigated_at=state.mitigated_at,
        resolved_at=state.resolved_at,
        resolution=state.resolution,
        escalation=escalation_line(state),
        scope=state.scope,
        symptoms=state.symptoms,
        trigger=state.trigger,
        triage=tuple(triage_lines(state)) if Section.TRIAGE in wanted else (),
        roles=tuple(role_lines(state)) if Section.ROLES in wanted else (),
        facts=tuple(fact_lines(state)) if Section.FACTS in wanted else (),
        guesses=tuple(guess_lines(state)) if Section.GUESSES in wanted else (),
        lock_holder=lock.holder if production else None,
        lock_since=lock.granted_at if production else None,
        lock_queue=tuple(lock.queue) if production else (),
        actions=tuple(action_lines(state)) if production else (),
        decisions=tuple(decision_lines(state)) if Section.DECISIONS in wanted else (),
        follow_ups=tuple(follow_up_lines(state)) if Section.FOLLOW_UPS in wanted else (),
        last_update_at=last.at if last is not None else None,
        next_update_due=due,
        checklists=progress_line(state.checklists) if production else "",  # #19
    )


# --- one reader per feature -------------------------------------------------------------------
def phase_since(state: IncidentState) -> datetime | None:
    """When the incident entered its current phase (the declaration if it never moved)."""
    if state.phase_history:
        return state.phase_history[-1].at
    return state.declared_at


def escalation_line(state: IncidentState) -> str:
    """Where the automatic escalation stands: proposed and waiting, or due at a time, or none."""
    proposal = open_escalation(state)
    if proposal is not None:
        to = proposal.proposed or proposal.severity
        return f"The hub proposes {to} ({hhmm(proposal.at)}); the IC decides"
    deadline = escalation_deadline(state)
    higher = raised(state.severity)
    if deadline is None or higher is None:
        return ""
    return f"Escalates to {higher} at {hhmm(deadline)} unless mitigated"


def triage_lines(state: IncidentState) -> Iterable[BriefLine]:
    """The triage answers so far, each marked confirmed by the IC or not; then what is unknown."""
    unknown = []
    for question in TriageQuestion:
        answer = state.triage.answer(question)
        label = question.value.replace("_", " ").capitalize()
        if answer in _UNANSWERED:
            unknown.append(label.lower())
            continue
        mark = state.triage_marks.get(question)
        confirmed = mark is not None and mark.confirmed
        yield BriefLine(
            ref=f"{label}:",
            text=f"{quote(answer, 100)}{'' if confirmed else ' (unconfirmed)'}",
            who=mark.by if mark else "",
            at=mark.at if mark else None,
        )
    if unknown:
        yield BriefLine(ref="Unknown yet:", text=", ".join(unknown))


def role_lines(state: IncidentState) -> Iterable[BriefLine]:
    """Each held role's holder and since when; vacant roles are listed so the gap is seen."""
    for role in HELD_ROLES:
        holding = state.roles.get(role)
        if holding is None:
            yield BriefLine(ref=f"{ROLE_TITLES[role]}:", text="vacant")
        else:
            yield BriefLine(
                ref=f"{ROLE_TITLES[role]}:",
                text=holding.holder,
                who=holding.holder,
                at=holding.since,
            )


def fact_lines(state: IncidentState) -> Iterable[BriefLine]:
    """Confirmed facts (retracted ones left out), oldest first, at most the latest few."""
    facts = [i for i in column(state, Column.FACTS) if i.status == ItemStatus.CONFIRMED]
    lines = [
        BriefLine(
            ref=item.label,
            text=quote(item.text),
            who=item.resolved_by or item.author,
            at=item.resolved_at or item.added_at,
        )
        for item in facts
    ]
    return _latest(lines, "earlier facts on the board")


def guess_lines(state: IncidentState) -> Iterable[BriefLine]:
    """Open guesses with whoever is checking each (blank when nobody is)."""
    lines = [
        BriefLine(ref=item.label, text=quote(item.text), who=item.owner or "", at=item.added_at)
        for item in column(state, Column.GUESSES)
    ]
    return _latest(lines, "earlier guesses on the board")


def action_lines(state: IncidentState) -> Iterable[BriefLine]:
    """Production actions still running, then those that did not help and wait for an undo."""
    for action in open_actions(state):
        yield BriefLine(
            ref="Running:",
            text=f"{action.kind.label} {action.target}; watching {action.metric} "
            f"(was {action.value_before})",
            who=action.by,
            at=action.started_at,
        )
    for action in undo_pending(state):
        outcome = action.outcome.label if action.outcome else "no result"
        yield BriefLine(
            ref="Undo first:",
            text=f"{action.kind.label} {action.target} ({outcome})",
            who=action.by,
            at=action.finished_at,
        )


def decision_lines(state: IncidentState) -> Iterable[BriefLine]:
    """The latest decisions still standing, newest first, with their rationale."""
    standing = [d for d in state.decisions.values() if d.active]
    standing.sort(key=lambda d: d.no, reverse=True)
    for decision in standing[:LAST_DECISIONS]:
        yield BriefLine(
            ref=decision.label,
            text=f"{quote(decision.what)} (why: {quote(decision.why, 60)})",
            who=decision.owner or "",
            at=decision.at,
        )


def follow_up_lines(state: IncidentState) -> Iterable[BriefLine]:
    """Follow-ups noted so far, with owner and due date."""
    lines = [
        BriefLine(
            ref=item.label,
            text=f"{quote(item.text)} (due {item.due.isoformat()})",
            who=item.owner,
            at=item.at,
        )
        for item in sorted(state.follow_ups.values(), key=lambda f: f.no)
    ]
    return _latest(lines, "earlier follow-ups")


def _latest(lines: list[BriefLine], what: str) -> list[BriefLine]:
    if len(lines) <= MAX_LINES:
        return lines
    hidden = len(lines) - (MAX_LINES - 1)
    return [BriefLine(ref="…", text=f"{hidden} {what}"), *lines[-(MAX_LINES - 1) :]]


# --- reading it out ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BriefingBlock:
    """One titled block of a briefing as text lines, ready for any screen."""

    section: Section
    title: str
    lines: list[str] = field(default_factory=list)


def hhmm(at: datetime | None) -> str:
    """``09:42``: the room's clock is UTC, and minutes are precise enough for a briefing."""
    return at.strftime("%H:%M") if at else "--:--"


def span(delta: timedelta) -> str:
    """``4m``, ``1h05m``: how long ago or how long until, in words short enough for a line."""
    minutes = int(abs(delta).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def briefing_blocks(briefing: Briefing, now: datetime | None = None) -> list[BriefingBlock]:
    """The briefing as readable blocks, in reading order, only the sections it covers."""
    builders = {
        Section.SITUATION: _situation,
        Section.TRIAGE: lambda b, n: _lines(b.triage, "nothing recorded yet"),
        Section.ROLES: lambda b, n: _lines(b.roles, "nobody holds a role"),
        Section.FACTS: lambda b, n: _lines(b.facts, "none confirmed yet"),
        Section.GUESSES: lambda b, n: _guesses(b.guesses),
        Section.PRODUCTION: _production,
        Section.DECISIONS: lambda b, n: _lines(b.decisions, "none recorded yet"),
        Section.FOLLOW_UPS: lambda b, n: _lines(b.follow_ups, "none noted yet"),
        Section.COMMS: _comms,
    }
    return [
        BriefingBlock(section, SECTION_TITLES[section], builders[section](briefing, now))
        for section in Section
        if briefing.covers(section)
    ]


def briefing_text(briefing: Briefing, now: datetime | None = None) -> str:
    """The whole briefing as plain text (for the timeline's detail view and exports)."""
    out: list[str] = []
    for block in briefing_blocks(briefing, now):
        out.append(block.title)
        out.extend(f"  {line}" for line in block.lines)
    return "\n".join(out)


def _line(item: BriefLine) -> str:
    parts = [item.ref] if item.ref else []
    parts.append(item.text)
    text = " ".join(parts)
    if item.who and item.who != item.text:
        text += f" ({item.who})"
    return text


def _lines(items: tuple[BriefLine, ...], empty: str) -> list[str]:
    return [_line(i) for i in items] or [empty]


def _guesses(items: tuple[BriefLine, ...]) -> list[str]:
    if not items:
        return ["none open"]
    out = []
    for item in items:
        owner = f" (checking: {item.who})" if item.who else " (nobody checking)"
        out.append(f"{item.ref} {item.text}{owner}" if item.ref != "…" else _line(item))
    return out


def _situation(b: Briefing, now: datetime | None) -> list[str]:
    drill = "DRILL · " if b.drill else ""
    title = without_drill_mark(b.title) if b.drill else b.title
    lines = [f"{drill}{b.severity} · {title}"]
    since = f" since {hhmm(b.phase_since)}" if b.phase_since else ""
    lines.append(f"Phase: {b.phase.value}{since}")
    times = f"Detected {hhmm(b.detected_at)}, declared {hhmm(b.declared_at)}"
    if now is not None and b.declared_at is not None:
        times += f" ({span(now - b.declared_at)} ago)"
    if b.impact_started_at is not None:
        times += f"; impact began {hhmm(b.impact_started_at)}"
    if b.mitigated_at is not None:
        times += f"; mitigated {hhmm(b.mitigated_at)}"
    if b.resolved_at is not None:
        times += f"; resolved {hhmm(b.resolved_at)}"
    lines.append(times)
    if b.resolution.strip():
        lines.append(f"Resolution: {quote(b.resolution, 120)}")
    if b.escalation:
        lines.append(b.escalation)
    for label, value in (("Scope", b.scope), ("Symptoms", b.symptoms), ("Trigger", b.trigger)):
        if value.strip():
            lines.append(f"{label}: {quote(value, 120)}")
    return lines


def _production(b: Briefing, now: datetime | None) -> list[str]:
    if b.lock_holder:
        lines = [f"Lock held by {b.lock_holder} since {hhmm(b.lock_since)}"]
    else:
        lines = ["Lock free: nobody is changing production"]
    if b.lock_queue:
        lines.append("Waiting for the lock: " + ", ".join(b.lock_queue))
    lines.extend(_line(a) for a in b.actions)
    if b.checklists:  # #19
        lines.append(f"Checklists: {b.checklists}")
    return lines


def _comms(b: Briefing, now: datetime | None) -> list[str]:
    last = f"last update {hhmm(b.last_update_at)}" if b.last_update_at else "no update sent yet"
    if b.next_update_due is None:
        return [last[0].upper() + last[1:] + "; none scheduled"]
    due = f"next due {hhmm(b.next_update_due)}"
    if now is not None:
        left = b.next_update_due - now
        due += f" (in {span(left)})" if left > timedelta(0) else f" (OVERDUE by {span(left)})"
    text = f"{last}; {due}"
    return [text[0].upper() + text[1:]]
