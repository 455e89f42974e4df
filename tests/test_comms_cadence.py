"""When stakeholder updates are due, and how a missed one is recorded: real hub, manual clock."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import T0, client, declare_incident, make_event, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.cadence import countdown, next_update_due
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.fold import apply, replay
from warroom.core.lifecycle import SeverityChanged
from warroom.core.protocol import Ack
from warroom.core.update_text import prefill, promised_next, render

MIN = timedelta(minutes=1)


async def publish(
    c: IncidentClient, clock: ManualClock, audience: str = "internal", promise: int | None = None
) -> Ack:
    """Publish the prefilled update as the comms pane would, optionally promising ``promise`` min."""
    draft = prefill(c.state, Audience(audience), clock())
    next_at = promised_next(c.state, clock(), promise)
    draft = type(draft)(audience=draft.audience, fields=draft.fields, next_update_at=next_at)
    reply = await c.post(
        UpdatePublished(
            audience=audience,
            text=render(c.state, draft, clock()),
            fields=draft.fields.model_dump(mode="json"),
            next_update_at=next_at.isoformat() if next_at else None,
        )
    )
    assert isinstance(reply, Ack), reply
    await c.wait_for_seq(reply.seq)
    return reply


def overdue_events(c: IncidentClient) -> list:
    return [e for e in c.log if e.type == "update_overdue"]


# --- the arithmetic --------------------------------------------------------------------------
def declared(severity: str = "SEV2"):
    return replay([make_event("incident_declared", 1, title="Checkout errors", severity=severity)])


def published(state, seq: int, at, **payload):
    payload.setdefault("audience", "internal")
    payload.setdefault("text", "Checkout errors - update")
    return apply(state, make_event("update_published", seq, at=at, **payload))


def test_first_update_is_due_ten_minutes_after_declaration():
    state = declared("SEV2")
    assert next_update_due(state) == T0 + 10 * MIN
    shown = countdown(state, T0 + 5 * MIN + timedelta(seconds=28))
    assert shown is not None and not shown.overdue
    assert shown.label() == "next update 04:32"
    late = countdown(state, T0 + 12 * MIN + timedelta(seconds=10))
    assert late is not None and late.overdue and late.label() == "UPDATE OVERDUE 02:10"


def test_after_an_update_the_severity_cadence_applies_unless_an_earlier_time_was_promised():
    sev1 = published(declared("SEV1"), 2, T0 + 8 * MIN)
    assert next_update_due(sev1) == T0 + 23 * MIN  # SEV1: every 15 minutes
    sev2 = published(declared("SEV2"), 2, T0 + 8 * MIN)
    assert next_update_due(sev2) == T0 + 38 * MIN  # SEV2: every 30 minutes
    earlier = published(declared("SEV2"), 2, T0 + 8 * MIN, next_update_at=T0 + 20 * MIN)
    assert next_update_due(earlier) == T0 + 20 * MIN
    later = published(declared("SEV2"), 2, T0 + 8 * MIN, next_update_at=T0 + 90 * MIN)
    assert next_update_due(later) == T0 + 38 * MIN  # a later promise does not stretch the cadence


def test_a_severity_without_cadence_sets_no_deadline_and_the_promise_is_capped():
    assert next_update_due(declared("SEV4")) is None
    assert countdown(declared("SEV4"), T0) is None
    state = declared("SEV2")
    assert promised_next(state, T0, None) == T0 + 30 * MIN
    assert promised_next(state, T0, 20) == T0 + 20 * MIN
    assert promised_next(state, T0, 45) == T0 + 30 * MIN


# --- the hub's overdue timer -----------------------------------------------------------------
async def test_overdue_is_flagged_once_per_episode_even_across_a_restart(tmp_path):
    clock = ManualClock(T0)
    db = tmp_path / "hub.db"
    async with running_hub(db, clock=clock) as hub:
        incident = await declare_incident(hub.url, severity="SEV2")
        clock.advance(10 * MIN - timedelta(seconds=1))
        assert await hub.hub.tick() == 0
        clock.advance(timedelta(seconds=1))
        assert await hub.hub.tick() == 1
        assert await hub.hub.tick() == 0
        clock.advance(5 * MIN)
        assert await hub.hub.tick() == 0
    async with running_hub(db, clock=clock) as hub:
        clock.advance(MIN)
        assert await hub.hub.tick() == 0  # the same episode, remembered by the log
        ana = await client(hub.url, "ana", "ic", incident)
        [flagged] = overdue_events(ana)
        assert flagged.due_at == T0 + 10 * MIN and flagged.at == T0 + 10 * MIN
        assert flagged.actor == "warroom" and flagged.role == "hub"
        assert ana.state.comms.open_episode is not None

        await publish(ana, clock)  # at +16 min: ends the episode
        [episode] = ana.state.comms.overdue_episodes
        assert episode.ended_at == T0 + 16 * MIN and episode.due_at == T0 + 10 * MIN
        assert next_update_due(ana.state) == T0 + 46 * MIN
        clock.advance(30 * MIN - timedelta(seconds=1))
        assert await hub.hub.tick() == 0
        clock.advance(timedelta(seconds=1))
        assert await hub.hub.tick() == 1  # a second episode
        clock.advance(10 * MIN)
        assert await hub.hub.tick() == 0
        await ana.wait_for_seq(hub.hub.rooms[incident].head)
        assert [e.due_at for e in overdue_events(ana)] == [T0 + 10 * MIN, T0 + 46 * MIN]
        assert ana.state.comms.overdue_count == 2
        await ana.close()


async def test_an_earlier_promise_in_the_update_is_the_deadline_the_hub_enforces(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident = await declare_incident(hub.url, severity="SEV2")
        ana = await client(hub.url, "ana", "ic", incident)
        clock.advance(4 * MIN)
        await publish(ana, clock, promise=12)
        assert next_update_due(ana.state) == T0 + 16 * MIN
        clock.advance(12 * MIN - timedelta(seconds=1))
        assert await hub.hub.tick() == 0
        clock.advance(timedelta(seconds=1))
        assert await hub.hub.tick() == 1
        await ana.wait_for_seq(hub.hub.rooms[incident].head)
        assert overdue_events(ana)[0].due_at == T0 + 16 * MIN
        await ana.close()


async def test_a_severity_change_re_times_the_next_update(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident = await declare_incident(hub.url, severity="SEV3")
        ana = await client(hub.url, "ana", "ic", incident)
        assert next_update_due(ana.state) == T0 + 10 * MIN  # first update: +10 min, any severity
        clock.advance(5 * MIN)
        await publish(ana, clock)
        assert next_update_due(ana.state) == T0 + 65 * MIN  # SEV3: every 60 minutes

        clock.advance(20 * MIN)  # +25 min: raised to SEV1, whose cadence is 15 minutes
        raised = await ana.post(SeverityChanged(severity="SEV1", reason="all EU checkouts fail"))
        assert isinstance(raised, Ack), raised
        await ana.wait_for_seq(raised.seq)
        assert next_update_due(ana.state) == T0 + 40 * MIN
        clock.advance(15 * MIN - timedelta(seconds=1))
        assert await hub.hub.tick() == 0
        clock.advance(timedelta(seconds=1))
        assert await hub.hub.tick() == 1
        await ana.wait_for_seq(hub.hub.rooms[incident].head)
        assert overdue_events(ana)[0].due_at == T0 + 40 * MIN

        clock.advance(MIN)  # +41: an update at SEV1, then lowered to SEV3 at +45
        await publish(ana, clock)
        assert next_update_due(ana.state) == T0 + 56 * MIN
        clock.advance(4 * MIN)
        lowered = await ana.post(SeverityChanged(severity="SEV3", reason="only EU, workaround"))
        assert isinstance(lowered, Ack), lowered
        await ana.wait_for_seq(lowered.seq)
        # The deadline already promised stands; the SEV3 cadence applies after the next update.
        assert next_update_due(ana.state) == T0 + 56 * MIN
        clock.advance(11 * MIN)
        await publish(ana, clock)
        assert next_update_due(ana.state) == T0 + 116 * MIN
        await ana.close()


async def test_an_incident_raised_from_sev4_gets_its_first_deadline_from_the_raise(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        incident = await declare_incident(hub.url, severity="SEV4")
        ana = await client(hub.url, "ana", "ic", incident)
        assert next_update_due(ana.state) is None  # SEV4: no cadence, no countdown
        clock.advance(30 * MIN)
        assert await hub.hub.tick() == 0
        raised = await ana.post(SeverityChanged(severity="SEV2", reason="it spread"))
        assert isinstance(raised, Ack), raised
        await ana.wait_for_seq(raised.seq)
        assert next_update_due(ana.state) == T0 + 40 * MIN  # 10 minutes after it mattered
        await ana.close()
