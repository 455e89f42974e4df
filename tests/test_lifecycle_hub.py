"""Severity, phases and escalation against a real hub on 127.0.0.1 with real websocket clients."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded
from warroom.core.lifecycle import (
    EscalationDismissed,
    PhaseChanged,
    SeverityChanged,
    TriageAnswered,
    TriageConfirmed,
    escalation_id,
    open_escalation,
)
from warroom.core.lifecycle_state import EscalationStatus
from warroom.core.phases import Phase
from warroom.core.settings import HubSettings
from warroom.core.severity import Severity, SeverityPolicy

HOUR = timedelta(hours=1)


async def room(hub, *names: str, severity: str = "SEV2"):
    """Declare an incident as ana (the IC) and connect ana plus ``names`` as responders."""
    incident = await declare_incident(hub.url, severity=severity)
    ana = await client(hub.url, "ana", "ic", incident)
    others = [await client(hub.url, n, "responder", incident) for n in names]
    for c in (ana, *others):
        await eventually(lambda c=c: set(c.state.participants) >= {"ana", *names})
    return incident, ana, others


def stored(hub, incident: str, type_: str):
    return [e for e in hub.store.events(incident) if e.type == type_]


def entry(c, seq: int):
    """The event a client holds at ``seq`` (other features' timers may have added later ones)."""
    return next(e for e in c.log if e.seq == seq)


async def escalations_after_tick(hub, incident: str) -> int:
    """Let the hub record what is due (other features' timers too); count escalations stored."""
    await hub.hub.tick()
    return len(stored(hub, incident, "escalation_due"))


async def close_all(*clients) -> None:
    await asyncio.gather(*(c.close() for c in clients))


async def test_only_the_ic_changes_severity_and_everyone_sees_it(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident, ana, [bo] = await room(hub, "bo")
        refused = await bo.post(SeverityChanged(severity="SEV1", reason="looks bad"))
        assert refused.op == "error" and refused.code == "forbidden"
        refused = await ana.post(SeverityChanged(severity="SEV1"))
        assert refused.op == "error" and refused.code == "reason_required"
        assert stored(hub, incident, "severity_changed") == []

        ack = await ana.post(
            SeverityChanged(severity="SEV1", reason="all regions", previous="SEV2")
        )
        assert ack.op == "ack", ack
        await bo.wait_for_seq(ack.seq)
        assert bo.state.severity == Severity.SEV1
        assert bo.state.severity_history[-1].reason == "all regions"
        assert entry(bo, ack.seq).describe() == "Severity: SEV2 → SEV1 (all regions)"
        await close_all(ana, bo)


async def test_phases_through_to_closed_and_the_refusals_on_the_way(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, [bo] = await room(hub, "bo")
        skip = await ana.post(PhaseChanged(phase="closed"))
        assert skip.op == "error" and skip.code == "not_resolved"
        assert (await bo.post(PhaseChanged(phase="triage"))).code == "forbidden"
        for minutes, phase in ((5, "triage"), (15, "mitigating"), (40, "monitoring")):
            clock.advance(timedelta(minutes=minutes))
            assert (await ana.post(PhaseChanged(phase=phase))).op == "ack"
        silent = await ana.post(PhaseChanged(phase="resolved"))
        assert silent.op == "error" and silent.code == "resolution_required"
        assert (
            await ana.post(PhaseChanged(phase="resolved", resolution="Rolled back v2.3.1"))
        ).op == "ack"
        ack = await ana.post(PhaseChanged(phase="closed"))
        assert ack.op == "ack"
        await bo.wait_for_seq(ack.seq)
        assert bo.state.phase == Phase.CLOSED
        assert bo.state.mitigated_at == T0 + timedelta(minutes=60)
        assert hub.hub.rooms[incident].state == bo.state

        late = await bo.post(NoteAdded(text="one more thing"))
        assert late.op == "error" and late.code == "closed"
        reopen = await ana.post(PhaseChanged(phase="mitigating", reason="errors are back"))
        assert reopen.op == "ack"
        await bo.wait_for_seq(reopen.seq)
        assert bo.state.phase == Phase.MITIGATING and bo.state.closed_at is None
        await close_all(ana, bo)


async def test_escalation_fires_once_at_the_deadline_and_the_ic_accepts_it(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, [bo] = await room(hub, "bo", severity="SEV2")
        clock.advance(4 * HOUR - timedelta(seconds=1))
        assert await escalations_after_tick(hub, incident) == 0
        clock.advance(timedelta(seconds=1))
        assert await escalations_after_tick(hub, incident) == 1
        clock.advance(timedelta(minutes=30))
        assert await escalations_after_tick(hub, incident) == 1
        [due] = stored(hub, incident, "escalation_due")
        assert due.id == escalation_id(incident, T0 + 4 * HOUR) and due.at == T0 + 4 * HOUR
        await bo.wait_for_seq(due.seq)
        proposal = open_escalation(bo.state)
        assert proposal is not None and proposal.proposed == Severity.SEV1

        assert (await bo.post(EscalationDismissed(reason="no"))).code == "forbidden"
        ack = await ana.post(
            SeverityChanged(
                severity="SEV1",
                previous="SEV2",
                reason="Past the expected time to mitigate",
                escalation=True,
            )
        )
        assert ack.op == "ack", ack
        await bo.wait_for_seq(ack.seq)
        assert bo.state.severity == Severity.SEV1
        assert bo.state.escalations[-1].status == EscalationStatus.ACCEPTED
        assert entry(bo, ack.seq).describe().startswith("Escalation accepted: SEV2 → SEV1")
        await close_all(ana, bo)


async def test_escalation_survives_a_restart_without_firing_twice(tmp_path):
    clock = ManualClock(T0)
    db = tmp_path / "hub.db"
    async with running_hub(db, clock=clock) as hub:
        incident, ana, _ = await room(hub, severity="SEV1")
        await ana.close()
        clock.advance(HOUR + timedelta(minutes=1))
        assert await escalations_after_tick(hub, incident) == 1
    async with running_hub(db, clock=clock) as hub:
        clock.advance(timedelta(minutes=5))
        assert await escalations_after_tick(hub, incident) == 1
        assert len(stored(hub, incident, "escalation_due")) == 1
        assert open_escalation(hub.hub.rooms[incident].state) is not None


async def test_a_deadline_that_passed_while_the_hub_was_down_fires_once_after_restart(tmp_path):
    clock = ManualClock(T0)
    db = tmp_path / "hub.db"
    async with running_hub(db, clock=clock) as hub:
        incident, ana, _ = await room(hub, severity="SEV1")
        await ana.close()
    clock.advance(3 * HOUR)
    async with running_hub(db, clock=clock) as hub:
        assert await escalations_after_tick(hub, incident) == 1
        assert await escalations_after_tick(hub, incident) == 1
        [due] = stored(hub, incident, "escalation_due")
        assert due.due_at == T0 + HOUR


async def test_no_escalation_once_the_incident_reaches_monitoring(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident, ana, _ = await room(hub, severity="SEV1")
        clock.advance(timedelta(minutes=50))
        assert (await ana.post(PhaseChanged(phase="monitoring"))).op == "ack"
        clock.advance(10 * HOUR)
        assert await escalations_after_tick(hub, incident) == 0
        assert stored(hub, incident, "escalation_due") == []
        await ana.close()


async def test_dismissal_is_on_the_timeline_and_the_hub_waits_one_more_expected_time(tmp_path):
    clock = ManualClock(T0)
    policy = SeverityPolicy(
        time_to_mitigate={**SeverityPolicy().time_to_mitigate, Severity.SEV2: timedelta(minutes=30)}
    )
    async with running_hub(
        tmp_path / "hub.db", clock=clock, settings=HubSettings(policy=policy)
    ) as hub:
        incident, ana, [bo] = await room(hub, "bo", severity="SEV2")
        clock.advance(timedelta(minutes=30))
        assert await escalations_after_tick(hub, incident) == 1
        clock.advance(timedelta(minutes=2))
        ack = await ana.post(EscalationDismissed(reason="rollback finishing in 5 min"))
        assert ack.op == "ack"
        await bo.wait_for_seq(ack.seq)
        assert entry(bo, ack.seq).describe() == "Escalation dismissed (rollback finishing in 5 min)"
        assert open_escalation(bo.state) is None
        clock.advance(timedelta(minutes=29))
        assert await escalations_after_tick(hub, incident) == 1
        clock.advance(timedelta(minutes=1))
        assert await escalations_after_tick(hub, incident) == 2
        assert [e.due_at for e in stored(hub, incident, "escalation_due")] == [
            T0 + timedelta(minutes=30),
            T0 + timedelta(minutes=62),
        ]
        await close_all(ana, bo)


async def test_triage_answers_from_anyone_confirmed_by_the_ic(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident, ana, [bo] = await room(hub, "bo")
        ack = await bo.post(
            TriageAnswered(
                question="data_integrity",
                answer="suspected",
                detail="balances may be double-charged",
            )
        )
        assert ack.op == "ack"
        bad = await bo.post(TriageAnswered(question="trend", answer="worse"))
        assert bad.op == "error" and bad.code == "invalid"
        assert (await bo.post(TriageConfirmed(question="data_integrity"))).code == "forbidden"
        ok = await ana.post(TriageConfirmed(question="data_integrity", answer_seq=ack.seq))
        assert ok.op == "ack"
        await bo.wait_for_seq(ok.seq)
        mark = bo.state.triage_marks["data_integrity"]
        assert (mark.by, mark.confirmed_by) == ("bo", "ana")
        assert bo.state.triage.data_integrity_detail == "balances may be double-charged"
        await close_all(ana, bo)
