"""The briefing, computed from a fixed event log: what a new IC reads in their first minute."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import T0, make_event
from warroom.core.briefing import (
    MAX_LINES,
    briefing_blocks,
    briefing_text,
    build_briefing,
    read_in,
    read_in_due,
)
from warroom.core.fold import replay
from warroom.core.handoff import briefing_summary
from warroom.core.handoff_state import BriefLine, Section
from warroom.core.phases import Phase
from warroom.core.roles import Role
from warroom.core.severity import Severity


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def ev(type_: str, seq: int, minutes: int, actor: str = "ana", role: str = "ic", **payload):
    return make_event(type_, seq, actor=actor, role=role, at=at(minutes), **payload)


#: Forty minutes into a checkout incident: facts, guesses, a decision, a running action.
LOG = [
    ev(
        "incident_declared",
        1,
        0,
        title="Checkout errors after deploy",
        severity="SEV2",
        detected_at=at(-4).isoformat(),
        scope="EU checkout, card payments only",
        symptoms="5xx on /pay at 12%",
        trigger="alert: checkout-5xx",
    ),
    ev("participant_joined", 2, 0, name="ana", seat="ic"),
    ev("participant_joined", 3, 1, actor="bo", role="responder", name="bo", seat="responder"),
    ev("participant_joined", 4, 1, actor="dee", role="lead", name="dee", seat="lead"),
    ev("role_assigned", 5, 1, assigned_role="lead", holder="dee"),
    ev("role_assigned", 6, 2, assigned_role="scribe", holder="ana"),
    ev("board_item_added", 7, 5, actor="dee", role="lead", kind="fact", text="Errors began 08:56"),
    ev("board_item_added", 8, 6, actor="bo", role="responder", kind="guess", text="Pricing flag"),
    ev("guess_claimed", 9, 7, actor="bo", role="responder", item=8),
    ev("board_item_added", 10, 8, actor="bo", role="responder", kind="guess", text="DB pool"),
    ev("board_item_added", 11, 9, actor="dee", role="lead", kind="guess", text="CDN cache"),
    ev("guess_confirmed", 12, 12, actor="dee", role="lead", item=11),
    ev("decision_recorded", 13, 15, what="Turn off new pricing", why="flag went live at 08:55"),
    ev("decision_recorded", 14, 16, what="Page payments on-call", why="DB pool owned by them"),
    ev("lock_requested", 15, 20, actor="dee", role="lead"),
    ev(
        "action_started",
        16,
        21,
        actor="dee",
        role="lead",
        token=1,
        kind="feature_flag_off",
        target="new-pricing",
        expected="5xx under 1%",
        metric="checkout 5xx",
        value_before="12%",
    ),
    ev(
        "follow_up_noted",
        17,
        25,
        actor="bo",
        role="responder",
        text="Alert on pricing flag flips",
        owner="bo",
        due="2026-03-20",
    ),
    ev("phase_changed", 18, 26, phase="triage"),
    ev("triage_answered", 19, 27, actor="dee", role="lead", question="where", answer="EU only"),
    ev(
        "triage_answered",
        20,
        28,
        actor="bo",
        role="responder",
        question="customer_impact",
        answer="confirmed",
        detail="EU card checkouts fail",
    ),
    ev("triage_confirmed", 21, 29, question="customer_impact"),
    ev("impact_start_set", 22, 30, started_at=at(-6).isoformat()),
]
#: The next free seq after the fixed log.
NEXT = len(LOG) + 1


def test_the_ic_briefing_has_every_section_from_the_fixed_log():
    state = replay(LOG)
    b = build_briefing(state)

    assert b.role == Role.IC and b.sections == tuple(Section)
    assert (b.title, b.severity, b.phase) == (
        "Checkout errors after deploy",
        Severity.SEV2,
        Phase.TRIAGE,
    )
    assert (b.detected_at, b.declared_at, b.phase_since) == (at(-4), at(0), at(26))
    assert b.impact_started_at == at(-6) and b.mitigated_at is None
    assert b.escalation == "Escalates to SEV1 at 13:00 unless mitigated"
    assert b.triage == (
        BriefLine(ref="Where:", text="EU only (unconfirmed)", who="dee", at=at(27)),
        BriefLine(
            ref="Customer impact:", text="confirmed: EU card checkouts fail", who="bo", at=at(28)
        ),
        BriefLine(
            ref="Unknown yet:",
            text="who, features, financial impact, data integrity, trend, recent changes",
        ),
    )
    assert b.scope == "EU checkout, card payments only" and b.symptoms == "5xx on /pay at 12%"
    # A guess confirmed later is a fact too, with who confirmed it.
    assert b.facts == (
        BriefLine(ref="#7", text="Errors began 08:56", who="dee", at=at(5)),
        BriefLine(ref="#11", text="CDN cache", who="dee", at=at(12)),
    )
    assert b.guesses == (
        BriefLine(ref="#8", text="Pricing flag", who="bo", at=at(6)),
        BriefLine(ref="#10", text="DB pool", who="", at=at(8)),
    )
    assert [line.ref for line in b.decisions] == ["D2", "D1"]
    assert b.decisions[0].text == "Page payments on-call (why: DB pool owned by them)"
    assert b.lock_holder == "dee" and b.lock_since == at(20)
    assert b.actions == (
        BriefLine(
            ref="Running:",
            text="feature flag off new-pricing; watching checkout 5xx (was 12%)",
            who="dee",
            at=at(21),
        ),
    )
    assert [(f.ref, f.who) for f in b.follow_ups] == [("A1", "bo")]
    # ana is IC and scribe: the roles section says both.
    assert [(r.ref, r.who) for r in b.roles] == [
        ("Incident commander:", "ana"),
        ("Technical lead:", "dee"),
        ("Comms lead:", ""),
        ("Scribe:", "ana"),
    ]
    # No update yet: the first is due ten minutes after the declaration.
    assert b.last_update_at is None and b.next_update_due == at(10)


def test_the_briefing_reads_out_in_order_with_owners_and_countdown():
    state = replay(LOG)
    blocks = briefing_blocks(build_briefing(state), now=at(40))
    assert [b.title for b in blocks] == [
        "Situation",
        "Triage scope",
        "Who holds what",
        "Confirmed facts",
        "Open guesses",
        "Production",
        "Last decisions",
        "Follow-ups",
        "Stakeholder updates",
    ]
    by = {b.section: b.lines for b in blocks}
    assert by[Section.SITUATION][:4] == [
        "SEV2 · Checkout errors after deploy",
        "Phase: triage since 09:26",
        "Detected 08:56, declared 09:00 (40m ago); impact began 08:54",
        "Escalates to SEV1 at 13:00 unless mitigated",
    ]
    assert by[Section.TRIAGE][0] == "Where: EU only (unconfirmed) (dee)"
    assert by[Section.PRODUCTION][1] == (
        "Running: feature flag off new-pricing; watching checkout 5xx (was 12%) (dee)"
    )
    assert by[Section.GUESSES] == [
        "#8 Pricing flag (checking: bo)",
        "#10 DB pool (nobody checking)",
    ]
    assert by[Section.PRODUCTION][0] == "Lock held by dee since 09:20"
    assert by[Section.COMMS] == ["No update sent yet; next due 09:10 (OVERDUE by 30m)"]
    assert "Scribe: ana" in briefing_text(build_briefing(state))
    assert briefing_summary(build_briefing(state)) == (
        " (briefing: 2 facts, 2 open guesses, 2 decisions, 1 production action)"
    )


def test_other_roles_get_a_shorter_briefing_for_their_work():
    state = replay(LOG)
    comms = build_briefing(state, Role.COMMS)
    assert Section.COMMS in comms.sections and Section.PRODUCTION not in comms.sections
    assert comms.lock_holder is None and comms.actions == () and comms.guesses == ()
    assert comms.facts == build_briefing(state).facts
    scribe = build_briefing(state, Role.SCRIBE)
    assert scribe.sections == (
        Section.SITUATION,
        Section.ROLES,
        Section.DECISIONS,
        Section.FOLLOW_UPS,
    )
    assert scribe.facts == () and scribe.next_update_due is None
    lead = build_briefing(state, Role.LEAD)
    assert lead.actions and lead.guesses and lead.follow_ups == ()
    assert len(briefing_blocks(scribe)) < len(briefing_blocks(build_briefing(state)))


def test_the_briefing_does_not_change_with_notes_or_presence():
    """Only what a successor must know is in it, so an offer is rarely refused as stale."""
    state = replay(LOG)
    busier = replay(
        [
            ev("note_added", NEXT, 30, text="still looking"),
            ev("participant_left", NEXT + 1, 31, name="bo"),
        ],
        state,
    )
    assert build_briefing(busier) == build_briefing(state)
    moved = replay([ev("board_item_added", NEXT, 30, kind="fact", text="Only EU")], state)
    assert build_briefing(moved) != build_briefing(state)


def test_long_lists_keep_the_latest_and_say_how_many_are_left_out():
    events = list(LOG)
    for i in range(12):
        events.append(ev("board_item_added", NEXT + i, 30, kind="guess", text=f"idea {i}"))
    b = build_briefing(replay(events))
    assert len(b.guesses) == MAX_LINES
    assert b.guesses[0] == BriefLine(ref="…", text="7 earlier guesses on the board")
    assert b.guesses[-1].text == "idea 11"


def test_read_in_is_a_shorter_cut_and_only_newcomers_get_it():
    state = replay(LOG)
    brief = read_in(state)
    assert Section.DECISIONS not in brief.sections and brief.facts and brief.guesses
    # dee and bo joined a minute after the declaration: they were there from the start.
    assert not read_in_due(state, "dee") and not read_in_due(state, "ana")
    late = replay(
        [
            ev(
                "participant_joined",
                NEXT,
                35,
                actor="cy",
                role="responder",
                name="cy",
                seat="responder",
            )
        ],
        state,
    )
    assert read_in_due(late, "cy")
    # Someone coming back after a break is not read in again.
    back = replay(
        [
            ev("participant_left", NEXT + 1, 36, actor="cy", role="responder", name="cy"),
            ev(
                "participant_joined",
                NEXT + 2,
                50,
                actor="cy",
                role="responder",
                name="cy",
                seat="responder",
            ),
        ],
        late,
    )
    assert not read_in_due(back, "cy")


def test_an_action_that_did_not_help_is_flagged_for_undo():
    state = replay(LOG)
    action_id = next(iter(state.actions))
    finished = replay(
        [
            ev(
                "action_finished",
                NEXT,
                35,
                actor="dee",
                role="lead",
                action_id=action_id,
                value_after="12%",
                outcome="no_change",
            )
        ],
        state,
    )
    b = build_briefing(finished)
    assert b.actions == (
        BriefLine(
            ref="Undo first:", text="feature flag off new-pricing (no change)", who="dee", at=at(35)
        ),
    )
    production = {x.section: x.lines for x in briefing_blocks(b)}[Section.PRODUCTION]
    assert production[-1] == "Undo first: feature flag off new-pricing (no change) (dee)"


def test_a_mitigated_then_resolved_incident_says_when_and_how():
    state = replay(
        [
            ev("phase_changed", NEXT, 50, phase="monitoring"),
            ev(
                "phase_changed",
                NEXT + 1,
                70,
                phase="resolved",
                resolution="Pricing flag off; 5xx back to 0.1%",
            ),
        ],
        replay(LOG),
    )
    b = build_briefing(state)
    assert (b.mitigated_at, b.resolved_at) == (at(50), at(70)) and b.escalation == ""
    lines = briefing_blocks(b)[0].lines
    assert lines[1:4] == [
        "Phase: resolved since 10:10",
        "Detected 08:56, declared 09:00; impact began 08:54; mitigated 09:50; resolved 10:10",
        "Resolution: Pricing flag off; 5xx back to 0.1%",
    ]
