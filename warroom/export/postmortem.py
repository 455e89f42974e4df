"""A blameless review draft in Markdown, written from the record rather than from memory.

People appear as the roles they held and by name only as participants, never as the subject of
blame: actions are stated as what was done and what it changed. The sections a team must write
itself (what went well, what was hard) are left as prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from warroom.core.events import EventBase
from warroom.core.state import IncidentState
from warroom.export import derived


def _t(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _hm(value: datetime | None) -> str:
    return value.strftime("%H:%M:%S") if value else "—"


def _dur(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _v(x: Any) -> str:
    return str(getattr(x, "value", x)).replace("_", " ")


def draft(state: IncidentState, log: Sequence[EventBase]) -> str:
    """The review draft for one incident, from its folded state and its log."""
    metrics = derived._metrics(state)
    tracker = derived.HistoryTracker(state.incident_id)
    # Severity history and updates come from the log itself.
    from warroom.core.fold import apply

    folded = IncidentState()
    for event in log:
        before = folded
        folded = apply(folded, event)
        tracker.observe(before, folded, event)

    out: list[str] = []
    add = out.append
    drill = " (drill)" if state.drill else ""
    add(f"# Incident review: {state.title}{drill}")
    add("")
    add(f"Incident `{state.incident_id}` · {state.severity.value} · phase {state.phase.value}")
    add("")
    add(
        "_A blameless review: we look at how the system and the response worked, not at who to "
        "blame. Everything below is drawn from the incident record; edit freely._"
    )
    add("")
    add("## Summary")
    add("")
    resolution = metrics.get("resolution") or ""
    add(f"- **What happened:** {state.symptoms or state.title}")
    add(f"- **Trigger:** {state.trigger or 'not recorded'}")
    add(f"- **Resolution:** {resolution or 'not recorded'}")
    add("")
    add("## Impact")
    add("")
    add(f"- **Scope:** {state.scope or 'not recorded'}")
    triage = getattr(state, "triage", None)
    if triage is not None and hasattr(triage, "model_dump"):
        for key, value in triage.model_dump().items():
            if value not in (None, "", [], {}):
                add(f"- **{key.replace('_', ' ').capitalize()}:** {_v(value)}")
    started = metrics.get("started_at")
    ended = metrics.get("resolved_at") or metrics.get("mitigated_at")
    duration = (ended - started) if started and ended else None
    add(f"- **Duration of impact:** {_dur(duration)}")
    history = ", ".join(
        f"{row['severity']} at {row['at'][11:19] if row['at'] else '—'}"
        + (f" ({row['reason']})" if row["reason"] and row["reason"] != "declared" else "")
        for row in tracker.severity
    )
    add(f"- **Severity history:** {history or state.severity.value}")
    add("")
    add("## Response times")
    add("")
    add("| measure | value |")
    add("|---|---|")
    add(f"| impact started | {_t(started)} |")
    add(f"| detected | {_t(state.detected_at)} |")
    add(f"| declared | {_t(state.declared_at)} |")
    add(f"| mitigated | {_t(metrics.get('mitigated_at'))} |")
    add(f"| resolved | {_t(metrics.get('resolved_at'))} |")
    add(f"| time to detect | {_dur(metrics.get('time_to_detect'))} |")
    add(f"| time to declare | {_dur(metrics.get('time_to_declare'))} |")
    add(f"| time to mitigate | {_dur(metrics.get('time_to_mitigate'))} |")
    add(f"| time to resolve | {_dur(metrics.get('time_to_resolve'))} |")
    overdue = metrics.get("overdue_updates")
    add(f"| stakeholder updates overdue | {overdue if overdue is not None else '—'} |")
    add("")
    add("## Who held which role")
    add("")
    for row in tracker.roles:
        until = row["until"][11:19] if row["until"] else "the end"
        add(f"- {row['role']}: {row['holder']}, from {row['since'][11:19]} to {until}")
    if not tracker.roles:
        add("- not recorded")
    add("")
    add("## Timeline")
    add("")
    for event in log:
        if event.type in ("participant_joined", "participant_left"):
            continue
        add(f"- {_hm(event.at)} · {event.role.value} · {event.describe()}")
    add("")
    add("## Decisions")
    add("")
    decisions = getattr(state, "decisions", {}) or {}
    for d in decisions.values():
        superseded = f" (superseded by #{d.superseded_by})" if d.superseded_by else ""
        add(f"### Decision {d.no}{superseded}: {d.what}")
        add("")
        add(f"- **When:** {_hm(d.at)}")
        add(f"- **Why:** {d.why}")
        if d.options:
            add(f"- **Options considered:** {'; '.join(d.options)}")
        if d.facts:
            add(f"- **Resting on facts:** {', '.join(f'#{n}' for n in d.facts)}")
        if d.owner:
            add(f"- **Carried out by:** {d.owner}")
        add("")
    if not decisions:
        add("No decisions were recorded.")
        add("")
    add("## What was changed in production")
    add("")
    actions = getattr(state, "actions", {}) or {}
    for a in actions.values():
        outcome = _v(a.outcome) if a.outcome else "not finished"
        add(
            f"- {_hm(a.started_at)} · {_v(a.kind)} on {a.target} (lock token {a.token}): "
            f"expected {a.expected or '—'}; {a.metric or 'metric'} {a.value_before or '?'} → "
            f"{a.value_after or '?'}; outcome: **{outcome}**"
        )
    if not actions:
        add("No production actions were recorded under the lock.")
    add("")
    add("## Facts established and guesses ruled out")
    add("")
    add("_Contributing factors start here._")
    add("")
    board = getattr(state, "board", {}) or {}
    for item in board.values():
        status = _v(item.status)
        if _v(item.kind) == "fact" or status == "confirmed":
            mark = " (retracted: " + item.reason + ")" if status == "retracted" else ""
            add(f"- Fact #{item.no}: {item.text}{mark}")
    for item in board.values():
        if status_is(item, "ruled out"):
            add(
                f"- Ruled out #{item.no}: {item.text}"
                + (f" — {item.reason}" if item.reason else "")
            )
    for item in board.values():
        if _v(item.kind) == "guess" and status_is(item, "open"):
            add(f"- Still open #{item.no}: {item.text}")
    if not board:
        add("- nothing was put on the board")
    add("")
    add("## What went well")
    add("")
    add("_Which parts of the response worked and should be kept?_")
    add("")
    add("## What was hard")
    add("")
    add("_Where did the response slow down, and what would have helped?_")
    add("")
    add("## Follow-ups")
    add("")
    follow_ups = getattr(state, "follow_ups", {}) or {}
    if follow_ups:
        add("| # | action | owner | due |")
        add("|---|---|---|---|")
        for f in follow_ups.values():
            add(f"| {f.no} | {f.text} | {f.owner} | {f.due.isoformat()} |")
    else:
        add("_No follow-ups were noted during the incident; add owned, dated items here._")
    add("")
    return "\n".join(out)


def status_is(item: Any, wanted: str) -> bool:
    return _v(item.status) == wanted
