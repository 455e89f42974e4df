"""A blameless review draft in Markdown, written from the record rather than from memory.

The draft states what happened, what was decided and why, and what each change to production did,
in the order it happened. People appear as participants and as the roles they held, never as the
subject of a judgement: an action reads as what was done and what the metric did, a decision as
what was chosen and the reasons given at the time. The sections only the team can write (what
went well, what was hard) are left as prompts.

The draft prints no event ids, so the same record always gives the same text; board cards are
named by their number (``#12``), decisions by theirs (``D2``), as the console names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.board import BoardItem, ItemKind, ItemStatus
from warroom.core.comms import UpdateDelivered, UpdatePublished
from warroom.core.comms_state import Audience, DeliveryStatus
from warroom.core.corrections import (
    EntryAmended,
    EntryRetimed,
    corrected,
    happened_at,
)
from warroom.core.events import EventBase
from warroom.core.fold import apply
from warroom.core.incident import ParticipantJoined, ParticipantLeft
from warroom.core.lifecycle_state import QUESTION_TEXT, Escalation, EscalationStatus
from warroom.core.metrics import ResponseMetrics, compute
from warroom.core.names import is_guest_name
from warroom.core.production import LEASE_END_WORDS, GrantVia
from warroom.core.roles import HELD_ROLES, ROLE_TITLES, Role
from warroom.core.state import IncidentState
from warroom.export.alerts import first_alert
from warroom.export.checklists import checklist_lines
from warroom.export.derived import HistoryTracker

#: Timeline entries the draft leaves out: comings and goings, and webhook posts that worked.
#: (Failed deliveries stay: stakeholders who heard nothing are part of the story.)
QUIET_TYPES = (ParticipantJoined, ParticipantLeft, UpdateDelivered)

PREAMBLE = (
    "_A blameless review: it looks at how the system and the response worked, not at who to "
    "blame. Everything below is drawn from the incident record; edit freely, and check the "
    "numbers against the export._"
)


class _Clock:
    """Times as the draft prints them: ``HH:MM`` on the day of the declaration, else dated."""

    def __init__(self, day: datetime | None) -> None:
        self.day = day.date() if day else None

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        if self.day is None or value.date() != self.day:
            return value.strftime("%Y-%m-%d %H:%M")
        return value.strftime("%H:%M")


def _full(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _dur(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min" if not secs else f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _title(role: Role) -> str:
    return ROLE_TITLES[role].lower()


#: One timeline line: when, in which role, what.
Entry = tuple[datetime | None, Role, str]


def draft(state: IncidentState | None, log: Iterable[EventBase]) -> str:
    """The review draft for one incident, from its log (read once, in ``seq`` order).

    ``state`` is the log's folded state if the caller already has it; with ``None`` the log is
    folded here, in the same pass that collects the history the end state no longer shows.
    """
    folded = IncidentState()
    tracker = HistoryTracker(state.incident_id if state else "")
    lines: list[tuple[EventBase, str]] = []
    #: The role each production action was made in, by action id.
    action_roles: dict[UUID, Role] = {}
    for event in log:
        before, folded = folded, apply(folded, event)
        tracker.observe(before, folded, event)
        if not isinstance(event, QUIET_TYPES):
            lines.append((event, _line(event, folded)))
        if isinstance(event, ActionStarted):
            action_roles[event.id] = event.role
    state = state or folded
    entries, corrections = _as_it_happened(folded, lines)
    return _Draft(state, tracker, entries, action_roles, corrections).render()


def _as_it_happened(
    state: IncidentState, lines: list[tuple[EventBase, str]]
) -> tuple[list[Entry], list[EventBase]]:
    """The timeline in the order things happened, each entry in its current words, and the
    entries that were corrected (amended or retimed), in the order they were first written.

    An entry stands at the time it happened: retimed by the scribe, else typed (``noted_at``),
    else stored by the hub. Corrections themselves are not timeline entries here: the
    corrections section lists them with the versions they replaced.
    """
    entries: list[tuple[datetime | None, int, Entry]] = []
    corrected_entries: list[EventBase] = []
    for event, line in lines:
        if isinstance(event, EntryAmended | EntryRetimed):
            continue
        amended = event.seq in state.corrections
        retimed = event.seq in state.retimes
        if amended:
            line = corrected(state, event).describe() + " _(amended)_"
        when = happened_at(state, event)
        if retimed and event.at is not None:
            line += f" _(retimed; recorded at {event.at:%H:%M})_"
        if amended or retimed:
            corrected_entries.append(event)
        entries.append((when, event.seq, (when, event.role, line)))
    entries.sort(key=lambda e: (e[0] is None, e[0] or datetime.min.replace(tzinfo=UTC), e[1]))
    return [e[2] for e in entries], corrected_entries


def _line(event: EventBase, after: IncidentState) -> str:
    """The event's timeline line, reworded where the console's line does not read on its own.

    A published update's first line restates the incident's title; the draft names the update
    by its number instead (its full text is in the export's ``comms_updates``). An action's
    result names the action it belongs to, with the metric before and after.
    """
    if isinstance(event, UpdatePublished) and after.comms.updates:
        update = after.comms.updates[-1]
        promise = f"; next by {update.next_update_at:%H:%M} UTC" if update.next_update_at else ""
        return (
            f"{update.audience.value.capitalize()} update #{update.number} published "
            f"({update.severity}, {update.phase.value}){promise}"
        )
    if isinstance(event, ActionFinished):
        action = after.actions.get(str(event.action_id))
        if action is not None and action.outcome is not None:
            note = f"; {action.note}" if action.note else ""
            return (
                f"Result of the {action.kind.label} of {action.target}: {action.outcome.label}; "
                f"{action.metric} {action.value_before} → {action.value_after}{note}"
            )
    return event.describe()


class _Draft:
    """The sections of one draft, in the order a review reads them."""

    def __init__(
        self,
        state: IncidentState,
        tracker: HistoryTracker,
        entries: list[Entry],
        action_roles: dict[UUID, Role],
        corrected_entries: list[EventBase] | None = None,
    ) -> None:
        self.state = state
        self.tracker = tracker
        self.entries = entries
        self.action_roles = action_roles
        self.corrected_entries = corrected_entries or []
        self.metrics: ResponseMetrics = compute(state)
        self.at = _Clock(state.declared_at)
        self.out: list[str] = []

    def add(self, *lines: str) -> None:
        self.out.extend(lines)

    def render(self) -> str:
        for section in (
            self.header,
            self.summary,
            self.impact,
            self.response_times,
            self.roles,
            self.timeline,
            self.corrections,
            self.redactions,
            self.decisions,
            self.production,
            lambda: self.add(*checklist_lines(self.state, self.at)),  # #19
            self.comms,
            self.board,
            self.prompts,
            self.follow_ups,
            self.scorecard,
        ):
            section()
        return "\n".join(self.out).rstrip("\n") + "\n"

    # --- sections ---------------------------------------------------------------------------
    def header(self) -> None:
        s, m = self.state, self.metrics
        drill = " (drill)" if s.drill else ""
        peak = m.peak_severity.value if m.peak_severity else s.severity.value
        severity = (
            peak if peak == s.severity.value else f"{peak} at its peak, {s.severity} at the end"
        )
        self.add(
            f"# Incident review: {s.title}{drill}",
            "",
            f"Incident `{s.incident_id}` · declared {_full(s.declared_at)} · {severity} · "
            f"phase: {s.phase.value}",
            "",
        )
        if s.drill:
            self.add("_This was a GameDay drill: the record is real, the incident was not._", "")
        self.add(PREAMBLE, "")

    def summary(self) -> None:
        s, m = self.state, self.metrics
        ended = m.mitigated_at or m.resolved_at
        start = m.started_at or m.detected_at
        lasted = _dur(ended - start) if ended and start else "not over when the record ends"
        origin = "impact start" if m.started_at else "detection"
        span = (
            f", from {self.at(start)} ({origin}) to {self.at(ended)} UTC (mitigated)"
            if ended and start
            else ""
        )
        self.add(
            "## Summary",
            "",
            f"- **What happened:** {s.symptoms or s.title}",
            f"- **How it was noticed:** {s.trigger or 'not recorded'}",
            f"- **How it ended:** {m.resolution or 'no resolution recorded'}",
            f"- **Impact lasted:** {lasted}{span}",
            "",
        )

    def impact(self) -> None:
        s = self.state
        self.add("## Impact", "", f"- **Scope:** {s.scope or 'not recorded'}")
        for question, mark in s.triage_marks.items():
            how = "confirmed by the incident commander" if mark.confirmed else "not confirmed"
            self.add(f"- **{QUESTION_TEXT[question]}** {s.triage.answer(question)} ({how})")
        self.add("- **Severity:**")
        for row in self.tracker.severity:
            why = " (declared)" if row["reason"] == "declared" else f": {row['reason']}"
            at = datetime.fromisoformat(row["at"]) if row["at"] else None
            self.add(f"  - {self.at(at)} {row['severity']}{why}")
        for esc in s.escalations:
            self.add(f"- **Escalation proposed at {self.at(esc.at)}:** {self._escalation(esc)}")
        self.add("")

    def _escalation(self, esc: Escalation) -> str:
        hours, minutes = divmod(esc.expected_minutes, 60)
        span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
        what = f"not mitigated within {span} at {esc.severity}"
        outcome = {
            EscalationStatus.OPEN: "still open when the record ends",
            EscalationStatus.ACCEPTED: f"accepted, raised to {esc.proposed}",
            EscalationStatus.DISMISSED: f"dismissed: {esc.reason}",
            EscalationStatus.SUPERSEDED: f"the severity was changed instead: {esc.reason}",
            EscalationStatus.LAPSED: "lapsed when the incident was mitigated",
        }[esc.status]
        return f"{what}; {outcome}"

    def response_times(self) -> None:
        m = self.metrics
        origin = "impact start" if m.measured_from == "impact_started" else "detection"
        overdue = m.overdue_updates if m.overdue_updates is not None else "—"
        self.add(
            "## Response times",
            "",
            "| measure | value |",
            "|---|---|",
            f"| impact started | {_full(m.started_at) if m.started_at else 'not recorded'} |",
            f"| detected | {_full(m.detected_at)} |",
            *self.first_alert_row(),
            f"| declared | {_full(m.declared_at)} |",
            f"| mitigated (monitoring) | {_full(m.mitigated_at)} |",
            f"| resolved | {_full(m.resolved_at)} |",
            f"| closed | {_full(m.closed_at)} |",
            f"| time to detect | {_dur(m.time_to_detect)} |",
            f"| time to declare | {_dur(m.time_to_declare)} |",
            f"| time to mitigate (from {origin}) | {_dur(m.time_to_mitigate)} |",
            f"| time to resolve (from {origin}) | {_dur(m.time_to_resolve)} |",
            f"| stakeholder update deadlines missed | {overdue} |",
            "",
        )

    def first_alert_row(self) -> list[str]:
        """Issue 20: when monitoring saw it first (the earliest alert behind the incident)."""
        found = first_alert(self.state)
        if found is None:
            return []
        what, started = found
        same = " (the detection time)" if started == self.metrics.detected_at else ""
        return [f"| first alert ({what}) | {_full(started)}{same} |"]

    def roles(self) -> None:
        self.add("## Who held which role", "")
        spells = self.tracker.roles
        for role in HELD_ROLES:
            mine = [r for r in spells if r["role"] == role.value]
            if not mine:
                continue
            held = ", ".join(
                f"{r['holder']} ({self._hm(r['since'])} to "
                f"{self._hm(r['until']) if r['until'] else 'the end'})"
                for r in mine
            )
            self.add(f"- **{ROLE_TITLES[role]}:** {held}")
        if not spells:
            self.add("- no role was held")
        holders = {r["holder"] for r in spells}
        others = [
            f"{p.name} ({self._seat(p.name, p.seat)})"
            for p in self.state.participants.values()
            if p.name not in holders
        ]
        if others:
            self.add(f"- **Also in the room:** {', '.join(others)}")
        self.add("")

    def _hm(self, text: str) -> str:
        return self.at(datetime.fromisoformat(text))

    def _seat(self, name: str, seat: Role) -> str:
        code = self.state.access.guests.get(name)
        if code is not None:
            label = self.state.access.codes[code].label if code in self.state.access.codes else ""
            if is_guest_name(name):  # the name says it already: guest:NAME
                return label or "join code"
            return f"guest, {label}" if label else "guest"
        return _title(seat)

    def timeline(self) -> None:
        zone = self.state.timezone
        local = (
            f" (the incident's reference time zone was {zone})" if zone not in ("", "UTC") else ""
        )
        self.add(
            "## Timeline",
            "",
            f"_Times are UTC{local}, in the order things happened: an entry typed before the hub "
            "received it stands at the time it was typed, and one the scribe retimed at the "
            "time it happened. Joins, departures and webhook posts that arrived are left out; "
            "the export's `timeline` table has every entry in the order it was recorded._",
            "",
        )
        for at, role, text in self.entries:
            self.add(f"- {self.at(at)} · {role.value} · {text}")
        self.add("")

    def corrections(self) -> None:
        """Every amended or retimed entry: what it said before, who put it right, and why."""
        if not self.corrected_entries:
            return
        self.add(
            "## Corrections",
            "",
            "_Entries put right after they were written; the timeline above reads the current "
            "text. Nothing was rewritten: each correction is an entry of the record._",
            "",
        )
        state = self.state
        for event in self.corrected_entries:
            kind = event.entry_kind().replace("_", " ")
            self.add(
                f"- **#{event.seq}** ({kind}, recorded from {event.actor} at {self.at(event.at)})"
            )
            if event.seq in state.corrections:
                self.add(f"  - First written: {event.describe()}")
                for version in state.corrections[event.seq]:
                    self.add(
                        f"  - Amended by {version.by} ({version.role.value}) at "
                        f"{self.at(version.at)}: {version.text} — because {version.reason}"
                    )
            for retime in state.retimes.get(event.seq, ()):
                self.add(
                    f"  - Retimed by {retime.by} at {self.at(retime.at)}: happened at "
                    f"{self.at(retime.happened_at)} — because {retime.reason}"
                )
        self.add("")

    def redactions(self) -> None:
        """Entries whose text was removed for good (a pasted secret): who did it, and why."""
        redactions = self.state.redactions
        if not redactions:
            return
        self.add(
            "## Redactions",
            "",
            "_The text of these entries was removed from the record for good; each reads "
            "[redacted by who: why] everywhere._",
            "",
        )
        for seq, redaction in sorted(redactions.items()):
            self.add(
                f"- **#{seq}** redacted by {redaction.by} ({redaction.role.value}) at "
                f"{self.at(redaction.at)} — because {redaction.reason}"
            )
        self.add("")

    def decisions(self) -> None:
        self.add("## Decisions", "")
        decisions = list(self.state.decisions.values())
        if not decisions:
            self.add("No decisions were recorded.", "")
        for d in decisions:
            superseded = f" (superseded by D{d.superseded_by})" if d.superseded_by else ""
            self.add(f"### D{d.no}: {d.what}{superseded}", "", f"- **When:** {self.at(d.at)}")
            if d.supersedes:
                self.add(f"- **Replaces:** D{d.supersedes}")
            self.add(f"- **Why:** {d.why}")
            if d.options:
                self.add(f"- **Options considered:** {'; '.join(d.options)}")
            for no in d.facts:
                card = self.state.board.get(no)
                line = f"- **Resting on:** #{no} {card.text if card else ''}".rstrip()
                if card is not None and card.status == ItemStatus.RETRACTED:
                    # The review must not read it as ground the decision still stands on.
                    line += f" — retracted at {self.at(card.resolved_at)}: {card.reason}"
                self.add(line)
            if d.owner:
                self.add(f"- **Carried out by:** {d.owner}")
            self.add("")

    def production(self) -> None:
        self.add("## What was changed in production", "")
        actions = list(self.state.actions.values())
        if not actions:
            self.add("No production actions were recorded under the lock.", "")
        else:
            self.add(
                "_Every change was made under the production lock; the values before and after "
                "are what was measured at the time._",
                "",
            )
        started = {a.id: a for a in actions}
        for a in actions:
            undo = "undo: " if a.undoes else ""
            role = self.action_roles.get(a.id)
            by = f"{a.by}, {_title(role)}" if role else a.by
            self.add(
                f"- **{self.at(a.started_at)} · {undo}{a.kind.label} {a.target}** "
                f"(lock token {a.token}, by {by})",
                f"  - Expected: {a.expected}",
            )
            if a.outcome is None:
                self.add(f"  - {a.metric}: {a.value_before} before; no result recorded")
            else:
                self.add(
                    f"  - {a.metric}: {a.value_before} → {a.value_after} at "
                    f"{self.at(a.finished_at)}: **{a.outcome.label}**"
                )
            if a.note:
                self.add(f"  - Note: {a.note}")
            if a.undoes and a.undoes in started:
                first = started[a.undoes]
                self.add(f"  - Reverses the {first.kind.label} of {self.at(first.started_at)}")
        grants = self.state.lock.grants
        if grants:
            self.add("", "The production lock:", "")
        for g in grants:
            via = {
                GrantVia.REQUEST: "",
                GrantVia.QUEUE: ", next in the queue",
                GrantVia.HANDOVER: ", handed over by the incident commander",
            }[g.via]
            if g.ended is None:
                end = "held at the end"
            else:
                end = f"{LEASE_END_WORDS[g.ended]} at {self.at(g.ended_at)}"
                if g.reason:
                    end += f" ({g.reason})"
            self.add(f"- Token {g.token}: {g.holder} from {self.at(g.granted_at)}{via}; {end}")
        self.add("")

    def comms(self) -> None:
        comms = self.state.comms
        self.add("## Stakeholder updates", "")
        updates = comms.updates
        if not updates:
            self.add("No stakeholder update was published.", "")
            return
        internal = sum(1 for u in updates if u.audience == Audience.INTERNAL)
        first = updates[0]
        wait = first.at - self.state.declared_at if first.at and self.state.declared_at else None
        self.add(
            f"- {len(updates)} published ({internal} internal, {len(updates) - internal} "
            f"external); the first at {self.at(first.at)}, {_dur(wait)} after the declaration."
        )
        missed = comms.overdue_episodes
        if missed:
            dues = ", ".join(self.at(e.due_at) for e in missed)
            self.add(f"- Deadlines passed without an update: {len(missed)} (due {dues}).")
        for u in updates:
            for d in comms.deliveries_of(u.update_id):
                if d.status == DeliveryStatus.FAILED:
                    self.add(
                        f"- Update #{u.number} ({u.audience.value}, {self.at(u.at)}) did not "
                        f"reach {d.target}: {d.detail} after {_attempts(d.attempts)}."
                    )
        self.add("")

    def board(self) -> None:
        self.add("## Facts established and guesses ruled out", "")
        self.add("_Contributing factors start here._", "")
        items = list(self.state.board.values())
        groups = [
            ("Facts", [i for i in items if i.status == ItemStatus.CONFIRMED], self._fact),
            ("Retracted", [i for i in items if i.status == ItemStatus.RETRACTED], self._closed),
            ("Ruled out", [i for i in items if i.status == ItemStatus.RULED_OUT], self._closed),
            ("Still open", [i for i in items if i.status == ItemStatus.OPEN], self._open),
        ]
        if not items:
            self.add("Nothing was put on the board.", "")
        for heading, group, line in groups:
            if group:
                self.add(f"### {heading}", "")
                for item in group:
                    line(item)
                self.add("")

    def _evidence(self, item: BoardItem, skip: str = "") -> None:
        for note in item.evidence:
            if note.text != skip:
                self.add(f"  - {note.kind.value}: {note.text}")

    def _fact(self, item: BoardItem) -> None:
        how = (
            f"a guess, confirmed at {self.at(item.resolved_at)}"
            if item.kind == ItemKind.GUESS
            else f"recorded as a fact at {self.at(item.added_at)}"
        )
        self.add(f"- #{item.no} {item.text} ({how})")
        self._evidence(item)

    def _closed(self, item: BoardItem) -> None:
        verb = "retracted" if item.status == ItemStatus.RETRACTED else "ruled out"
        self.add(f"- #{item.no} {item.text} — {verb} at {self.at(item.resolved_at)}: {item.reason}")
        self._evidence(item, skip=item.reason)

    def _open(self, item: BoardItem) -> None:
        self.add(f"- #{item.no} {item.text}")
        self._evidence(item)

    def prompts(self) -> None:
        self.add(
            "## What went well",
            "",
            "_Which parts of the response worked and should be kept?_",
            "",
            "## What was hard",
            "",
            "_Where did the response slow down or get confused, and what would have helped?_",
            "",
        )

    def follow_ups(self) -> None:
        self.add("## Follow-ups", "")
        follow_ups = list(self.state.follow_ups.values())
        if not follow_ups:
            self.add("_No follow-ups were noted during the incident; add owned, dated items._", "")
            return
        self.add("| # | action | owner | due |", "|---|---|---|---|")
        for f in follow_ups:
            self.add(f"| {f.no} | {f.text} | {f.owner} | {f.due.isoformat()} |")
        self.add("")

    def scorecard(self) -> None:
        card = self.state.drill_scorecard
        if card is None:
            return

        def minutes(value: float | None) -> str:
            return "—" if value is None else f"{value / 60:.1f} min"

        self.add(
            "## Drill scorecard",
            "",
            f"- Scenario: {card.scenario}",
            f"- Time to declare: {minutes(card.time_to_declare_s)}; to the first update: "
            f"{minutes(card.time_to_first_update_s)}; to mitigate: "
            f"{minutes(card.time_to_mitigate_s)}",
            f"- Updates overdue: {card.overdue_updates}; production changes: "
            f"{card.actions_taken} ({card.actions_helped} helped, "
            f"{card.changes_without_lock} tried without the lock); decisions: {card.decisions}",
            *(f"- {note}" for note in card.observations),
        )
