"""A whole incident, played against a real hub with a fixed clock, that records every event type.

The export and the postmortem draft are tested on this record, so it has to hold everything an
incident can hold: client commands from several people in different seats, and the events the hub
records itself (presence, a guest let in by join code, timers for the first update, the lock
lease, a handoff offer, escalation and IC rotation, webhook deliveries that succeed and fail, a
drill scorecard). A future event type that this script does not produce fails
``test_the_scripted_incident_records_every_event_type`` until it is added here, so the export is
never left without a test for it.

Everything is fixed (names, texts, the incident id, the join code, the clock), so the draft is the
same on every run; only event ids differ, and the draft prints none.

The story: a GameDay drill of a payments-api deploy (v412) that cut each pod's database
connection pool from 50 to 10. Checkout fails for EU card payments; scaling up makes it worse and
is undone; the card processor is ruled out with its own on-call's help; the pool guess is
confirmed and a rollback mitigates it; the IC rotates after three hours; the drill is scored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from warroom.hub.app import HubServer
from warroom.hub.intake_config import IntakeConfig, secret_digest
from warroom.hub.webhooks import DeliveryPolicy, TargetKind, WebhookTarget

from tests.helpers import T0, client, declare_incident, eventually, fast_backoff, running_hub
from tests.scripted_checklist import play_runbook
from warroom.client.sync import IncidentClient
from warroom.core.access import JoinCodeCreated, JoinCodeRevoked, digest_of
from warroom.core.actions import ActionFinished, ActionStarted
from warroom.core.alerts_incident import AlertEvidenceConfirmed, AlertGroupAttached
from warroom.core.board import (
    BoardItemAdded,
    EvidenceAdded,
    FactRetracted,
    GuessClaimed,
    GuessConfirmed,
    GuessReleased,
    GuessRuledOut,
)
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdateDeliveryRetried, UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.corrections import EntryAmended, EntryRetimed
from warroom.core.decisions import DecisionRecorded, FollowUpNoted
from warroom.core.drill import DrillScored, Scorecard
from warroom.core.events import EventBase
from warroom.core.handoff import (
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HandoffWithdrawn,
    IcClaimed,
)
from warroom.core.incident import NoteAdded, RoleAssigned
from warroom.core.lifecycle import (
    EscalationDismissed,
    ImpactStartSet,
    PhaseChanged,
    SeverityChanged,
    TriageAnswered,
    TriageConfirmed,
)
from warroom.core.lock import (
    LockForceReleased,
    LockHandedOver,
    LockReleased,
    LockRenewed,
    LockRequested,
    LockWithdrawn,
)
from warroom.core.protocol import Ack
from warroom.core.redaction import EntryRedacted
from warroom.core.status_page import PageLinkCreated, PageLinkRevoked
from warroom.core.update_text import prefill, render

INCIDENT_ID = "inc-gameday-0314"
TITLE = "Checkout payments failing after payments-api deploy"
#: The alert fired at 08:52; the graphs later show the impact began at 08:40.
DETECTED = T0 - timedelta(minutes=8)
IMPACT_STARTED = T0 - timedelta(minutes=20)

#: The vendor's join code, fixed so the timeline reads the same on every run.
CODE_ID = "c0ffee01"
CODE_SECRET = "vendor-bridge-secret-0001"
JOIN_CODE = f"{INCIDENT_ID}:{CODE_ID}:{CODE_SECRET}"
PAGE_LINK_ID = "5a9e11b0c0de"
PAGE_LINK_SECRET = "support-desk-page-link-secret-000000000001"

#: Webhook targets: the internal one answers 200, the public status page answers 500.
INTERNAL_HOOK = "eng-updates"
EXTERNAL_HOOK = "status-page"

SCORECARD = Scorecard(
    scenario="checkout-db-pool (scripted)",
    time_to_declare_s=480.0,
    time_to_first_update_s=660.0,
    time_to_mitigate_s=6000.0,
    overdue_updates=1,
    actions_taken=4,
    actions_helped=2,
    changes_without_lock=0,
    decisions=2,
    observations=[
        "The first stakeholder update took 11.0 min; aim for 10.0 min.",
        "Every production change went through the lock.",
    ],
)


class FixedStatusServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that answers every POST with one fixed status."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                await reader.readexactly(length)
                self.requests += 1
                body = b"{}"
                writer.write(
                    f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class ScriptedRun:
    """What the script leaves behind: the hub's database file and the incident in it."""

    db: Path
    incident_id: str
    #: How many events the incident has; a hub started later on ``db`` must not add any.
    events: int
    #: How many POSTs each webhook server received (the retries included).
    webhook_posts: dict[str, int] = field(default_factory=dict)


class Script:
    """The room: a hub with a manual clock and one client per person, driven step by step.

    Every step waits until the hub has stored its events before the clock moves, so each event's
    time and place in the log is the same on every run.
    """

    def __init__(self, server: HubServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        self.people: dict[str, IncidentClient] = {}

    # --- time -------------------------------------------------------------------------------
    def at(self, hhmm: str) -> None:
        """Move the hub's clock forward to ``hh:mm`` (or ``hh:mm:ss``) on the day of the drill."""
        parts = [int(p) for p in hhmm.split(":")]
        hour, minute, second = (*parts, 0)[:3]
        when = T0.replace(hour=hour, minute=minute, second=second)
        assert when >= self.clock.now, f"the clock only moves forward ({hhmm})"
        self.clock.now = when

    async def tick(self, *expected: str) -> None:
        """Run the hub's timers now and check they recorded exactly ``expected``, in order."""
        before = self.head
        await self.server.hub.tick()
        recorded = [e.type for e in self.stored()[before:]]
        assert recorded == list(expected), f"timers at {self.clock.now:%H:%M}: {recorded}"

    # --- the record -------------------------------------------------------------------------
    @property
    def state(self) -> Any:
        return self.server.hub.rooms[INCIDENT_ID].state

    @property
    def head(self) -> int:
        return self.server.hub.rooms[INCIDENT_ID].head

    def stored(self) -> list[Any]:
        return list(self.server.store.events(INCIDENT_ID))

    async def until_stored(self, event_type: str, count: int) -> None:
        """Wait for a background event (presence, webhook outcome) the hub records by itself."""

        def recorded() -> bool:
            return sum(1 for e in self.stored() if e.type == event_type) >= count

        await eventually(recorded, timeout=10)

    def count(self, event_type: str) -> int:
        return sum(1 for e in self.stored() if e.type == event_type)

    # --- people -----------------------------------------------------------------------------
    async def join(self, name: str, seat: str, join_code: str | None = None) -> None:
        if join_code is None:
            person = await client(self.server.url, name, seat, INCIDENT_ID)
        else:
            person = IncidentClient(
                self.server.url, name, seat, INCIDENT_ID, join_code=join_code,
                backoff=fast_backoff(),
            )  # fmt: skip
            person.start()
            await person.wait_synced()
        self.people[name] = person
        # The hub's name for them: a guest is recorded as ``guest:NAME``.
        await eventually(lambda: self.state.participants.get(person.name) is not None)

    async def leave(self, name: str) -> None:
        """Close someone's console and wait for the hub to record that they went offline."""
        person = self.people.pop(name)
        await person.close()
        await eventually(lambda: not self.state.participants[person.name].online)

    async def do(self, name: str, command: EventBase) -> Ack:
        """``name`` sends a command; it must be accepted."""
        reply = await self.people[name].post(command)
        assert isinstance(reply, Ack), f"{name} {command.type}: {reply}"
        return reply

    async def publish(self, name: str, audience: str) -> Ack:
        """Publish the update the comms pane would prefill now, exactly as previewed."""
        now = self.clock()
        draft = prefill(self.state, Audience(audience), now)
        return await self.do(
            name,
            UpdatePublished(
                audience=audience,
                text=render(self.state, draft, now),
                fields=draft.fields.model_dump(mode="json"),
                next_update_at=draft.next_update_at.isoformat() if draft.next_update_at else None,
            ),
        )

    async def close_everyone(self) -> None:
        for name in list(self.people):
            person = self.people[name]
            if person.fatal is not None:  # disconnected by the hub (a revoked join code)
                await self.people.pop(name).close()
            else:
                await self.leave(name)


async def play(s: Script, hooks: dict[str, FixedStatusServer]) -> None:
    """The incident, minute by minute (times are UTC on the day of the drill)."""
    # 09:00 pat declares from a phone and never opens a console; ana takes over as IC.
    await declare_incident(
        s.server.url,
        name="pat",
        incident_id=INCIDENT_ID,
        title=TITLE,
        severity="SEV2",
        detected_at=DETECTED.isoformat(),
        trigger="Alert: checkout 5xx rate above 5% for 5 minutes",
        symptoms="HTTP 503 from /checkout/pay for about 30% of card payments",
        scope="Card checkout in the EU web shop",
        drill=True,
    )
    s.at("09:01")
    await s.join("ana", "ic")
    await s.do(
        "ana",
        IcClaimed(previous="pat", reason="pat declared from a phone and is on the way to a laptop"),
    )
    s.at("09:02")
    await s.join("bo", "lead")
    await s.join("cy", "comms")
    await s.join("dee", "responder")
    await s.join("eli", "responder")
    s.at("09:03")
    await s.do("ana", RoleAssigned(assigned_role="scribe", holder="dee"))
    await s.do(
        "dee", NoteAdded(kind="status", text="Bridge open; checkout 5xx alert firing since 08:52")
    )
    s.at("09:04")
    await s.do(
        "eli",
        ImpactStartSet(
            started_at=IMPACT_STARTED.isoformat(),
            note="the checkout 5xx graph starts climbing at 08:40",
        ),
    )
    await s.do(
        "eli",
        TriageAnswered(
            question="customer_impact",
            answer="confirmed",
            detail="about 30% of EU card payments fail with HTTP 503",
        ),
    )
    await s.do(
        "eli",
        TriageAnswered(question="recent_changes", answer="payments-api v412 deployed at 08:38"),
    )
    await s.do("eli", TriageAnswered(question="trend", answer="growing"))
    s.at("09:05")
    await s.do("ana", TriageConfirmed(question="customer_impact"))
    await s.do("ana", TriageConfirmed(question="recent_changes"))
    await s.do("ana", PhaseChanged(phase="triage", previous="detected"))
    s.at("09:06")
    await s.do(
        "ana",
        SeverityChanged(
            severity="SEV1",
            previous="SEV2",
            reason="Card payments failing across the EU and the error rate is growing",
        ),
    )
    began = await s.do(
        "bo",
        BoardItemAdded(
            kind="fact",
            text="Errors began at 08:40, two minutes after payments-api v412 was deployed",
            evidence=[
                {"kind": "link", "text": "https://grafana.example.com/d/checkout?from=0830"},
                {"kind": "query", "text": "deploys | where service == 'payments-api' | last 1h"},
            ],
        ),
    )
    s.at("09:07")
    processor = await s.do(
        "eli",
        BoardItemAdded(kind="guess", text="The card processor is declining our payment requests"),
    )
    pool = await s.do(
        "bo",
        BoardItemAdded(
            kind="guess", text="payments-api v412 lowered its database connection pool size"
        ),
    )
    redis = await s.do(
        "dee",
        BoardItemAdded(
            kind="guess", text="Redis evictions are sending extra load to the payments database"
        ),
    )
    s.at("09:08")
    us_fine = await s.do("eli", BoardItemAdded(kind="fact", text="US checkout is unaffected"))
    await s.do("eli", GuessClaimed(item=processor.seq))
    await s.do(
        "ana",
        JoinCodeCreated(
            code_id=CODE_ID, digest=digest_of(CODE_SECRET), label="card processor on-call"
        ),
    )
    s.at("09:09")
    await s.join("vic", "responder", join_code=JOIN_CODE)

    # 09:10 nobody has told stakeholders anything: the first update is overdue.
    s.at("09:10")
    await s.tick("update_overdue")
    s.at("09:11")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 1)
    s.at("09:12")
    public = await s.publish("cy", "external")
    await s.until_stored("update_delivery_failed", 1)
    s.at("09:13")
    await s.do("cy", UpdateDeliveryRetried(update_id=str(public.id), target=EXTERNAL_HOOK))
    await s.until_stored("update_delivery_failed", 2)

    # 09:14 the vendor rules their side out.
    s.at("09:14")
    await s.do(
        "vic",
        EvidenceAdded(
            item=processor.seq,
            evidence={
                "kind": "output",
                "text": "Processor gateway: 0 declines and 0 timeouts for this merchant since 08:30",
            },
        ),
    )
    s.at("09:15")
    await s.do(
        "eli",
        GuessRuledOut(
            item=processor.seq,
            evidence={
                "kind": "output",
                "text": "The processor saw no declines since 08:30; the 503s are ours",
            },
        ),
    )
    s.at("09:16")
    await s.do("ana", JoinCodeRevoked(code_id=CODE_ID))
    await s.until_stored("participant_left", 1)

    # 09:18 first call: scale up to buy time.
    s.at("09:18")
    await s.do(
        "ana",
        DecisionRecorded(
            what="Scale payments-api from 6 to 12 pods while the cause is found",
            why="The error rate is growing and more pods is the quickest lever we have",
            options=["Scale payments-api up", "Roll back to v411 now", "Wait for the diagnosis"],
            facts=[began.seq],
            owner="bo",
        ),
    )
    await s.do("ana", PhaseChanged(phase="mitigating", previous="triage"))
    s.at("09:19")
    await s.do("bo", LockRequested())
    await s.do("eli", LockRequested())
    s.at("09:20")
    await s.do("eli", LockWithdrawn())
    scale_up = await s.do(
        "bo",
        ActionStarted(
            token=1,
            kind="scale_up",
            target="payments-api (6 to 12 pods)",
            expected="fewer checkout requests waiting for a database connection",
            metric="checkout 5xx rate",
            value_before="31%",
        ),
    )
    s.at("09:24")
    await s.do(
        "bo",
        ActionFinished(
            action_id=str(scale_up.id),
            value_after="46%",
            outcome="made_worse",
            note="the new pods opened connections too and the database hit max_connections",
        ),
    )
    s.at("09:25")
    await s.do("bo", LockRenewed(token=1))
    scale_down = await s.do(
        "bo",
        ActionStarted(
            token=1,
            kind="scale_down",
            target="payments-api (12 to 6 pods)",
            expected="the 5xx rate back where it was",
            metric="checkout 5xx rate",
            value_before="46%",
            undoes=str(scale_up.id),
        ),
    )
    s.at("09:26")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 2)
    s.at("09:29")
    await s.do(
        "bo", ActionFinished(action_id=str(scale_down.id), value_after="32%", outcome="undone")
    )
    s.at("09:30")
    await s.do("bo", LockReleased(token=1, note="back to 6 pods"))

    # 09:31 the diagnosis.
    s.at("09:31")
    pasted = await s.do(
        "bo",
        NoteAdded(
            kind="command",
            # with the service account token pasted along: redacted in the review
            text="kubectl --token=kt_4f9c2e71 -n payments get configmap payments-api -o yaml "
            "| grep pool",
        ),
    )
    s.at("09:32")
    await s.do("bo", GuessClaimed(item=pool.seq))
    s.at("09:33")
    pool_query = await s.do(
        "bo",
        EvidenceAdded(
            item=pool.seq,
            evidence={
                "kind": "query",
                "text": "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'payments-api'",
            },
        ),
    )
    s.at("09:34")
    await s.do(
        "bo",
        NoteAdded(
            kind="finding",
            text="Pool wait timeouts in the payments-api logs match the 503s one for one",
        ),
    )
    s.at("09:35")
    await s.do(
        "bo",
        GuessConfirmed(
            item=pool.seq,
            evidence={
                "kind": "output",
                "text": "v412 config: db.pool.max = 10 (v411: 50)",
            },
        ),
    )
    s.at("09:36")
    scribe_offer = await s.do(
        "dee",
        HandoffOffered(offered_role="scribe", to="eli", notes="I have to step away in 20 minutes"),
    )
    s.at("09:37")
    await s.do(
        "eli",
        HandoffDeclined(
            offer=str(scribe_offer.id),
            offered_role="scribe",
            outgoing="dee",
            incoming="eli",
            reason="I am about to restart the stuck payment workers",
        ),
    )
    s.at("09:38")
    await s.do("dee", GuessClaimed(item=redis.seq))
    s.at("09:39")
    await s.do("dee", GuessReleased(item=redis.seq))
    s.at("09:40")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 3)

    # 09:50 second call: roll back.
    s.at("09:50")
    await s.do(
        "ana",
        DecisionRecorded(
            what="Roll back payments-api to v411",
            why="v412 cut the database pool from 50 to 10 connections per pod; "
            "v411 ran for weeks without pool waits",
            options=["Roll back to v411", "Hot-fix the pool size in v412"],
            facts=[began.seq, pool.seq],
            owner="bo",
            supersedes=1,
        ),
    )
    s.at("09:51")
    await s.do("bo", LockRequested())
    s.at("09:52")
    rollback = await s.do(
        "bo",
        ActionStarted(
            token=2,
            kind="rollback",
            target="payments-api (v412 to v411)",
            expected="the 5xx rate under 1% as the pools return to 50 connections",
            metric="checkout 5xx rate",
            value_before="32%",
        ),
    )
    s.at("09:54")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 4)
    # 10:02 the rollout is slow and the lease, never renewed, runs out.
    s.at("10:02")
    await s.tick("lock_expired")
    s.at("10:04")
    await s.do(
        "bo",
        ActionFinished(
            action_id=str(rollback.id),
            value_after="0.4%",
            outcome="helped",
            note="pool waits stopped two minutes into the rollout",
        ),
    )
    s.at("10:05")
    await s.do(
        "eli",
        FactRetracted(
            item=us_fine.seq, reason="US checkout 5xx rose to 3% too; the lower US traffic hid it"
        ),
    )

    # 10:06 an hour at SEV1 without mitigation.
    s.at("10:06")
    await s.tick("escalation_due")
    s.at("10:07")
    await s.do(
        "ana",
        EscalationDismissed(
            reason="The rollback has brought errors down to 0.4%; watching before monitoring"
        ),
    )
    s.at("10:08")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 5)
    await s.do(
        "ana",
        LockHandedOver(
            token=2, to="eli", reason="eli restarts the payment workers stuck during the outage"
        ),
    )
    s.at("10:09")
    restart = await s.do(
        "eli",
        ActionStarted(
            token=3,
            kind="restart",
            target="checkout-worker consumers",
            expected="the payment jobs stuck during the outage are retried",
            metric="payment jobs waiting",
            value_before="1840",
        ),
    )
    s.at("10:12")
    await s.do("eli", ActionFinished(action_id=str(restart.id), value_after="0", outcome="helped"))
    s.at("10:13")
    await s.do(
        "bo",
        HandoffOffered(
            offered_role="lead",
            to="eli",
            notes="Rollback done; v412 needs a pool-size fix before it ships again",
        ),
    )
    s.at("10:15")
    await s.leave("eli")
    s.at("10:16")
    await s.do(
        "ana",
        LockForceReleased(token=3, reason="eli went offline while holding the production lock"),
    )
    s.at("10:18")
    await s.tick("handoff_expired")
    s.at("10:20")
    await s.do("ana", PhaseChanged(phase="monitoring", previous="mitigating"))
    s.at("10:21")
    comms_offer = await s.do("cy", HandoffOffered(offered_role="comms", to="dee"))
    await s.do(
        "cy",
        HandoffWithdrawn(
            offer=str(comms_offer.id), offered_role="comms", outgoing="cy", incoming="dee"
        ),
    )
    s.at("10:22")
    await s.do(
        "ana",
        SeverityChanged(
            severity="SEV3",
            previous="SEV1",
            reason="Errors at baseline since the rollback; watching for a recurrence",
        ),
    )
    s.at("10:23")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 6)
    s.at("10:30")
    await s.do(
        "dee",
        FollowUpNoted(
            text="Fail the deploy pipeline when db.pool.max drops by more than half",
            owner="bo",
            due="2026-03-28",
        ),
    )
    s.at("10:31")
    await s.do(
        "bo",
        FollowUpNoted(
            text="Alert on payments-api pool wait timeouts, not only on the checkout 5xx rate",
            owner="eli",
            due="2026-03-21",
        ),
    )
    s.at("10:32")
    await s.do(
        "dee",
        NoteAdded(
            kind="decision_heard", text="No v412 redeploy until the pool-size fix is reviewed"
        ),
    )
    s.at("10:40")
    lunch = await s.do(
        "dee",
        NoteAdded(
            text="The lunch peak starts around 12:00; watching the pool wait graph until then",
            # typed at 10:39:20 on a train's wifi; the hub had it at 10:40
            noted_at=T0.replace(hour=10, minute=39, second=20),
        ),
    )
    s.at("11:20")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 7)

    # 12:01 ana has led for three hours: the hub suggests a rotation, and bo takes over.
    s.at("12:01")
    await s.tick("rotation_due")
    s.at("12:02")
    ic_offer = await s.do(
        "ana",
        HandoffOffered(
            offered_role="ic",
            to="bo",
            notes="Rollback holding; resolve once errors stay at baseline through the lunch peak",
        ),
    )
    s.at("12:03")
    await s.do(
        "bo",
        HandoffAccepted(offer=str(ic_offer.id), offered_role="ic", outgoing="ana", incoming="bo"),
    )
    s.at("12:15")
    await s.publish("cy", "internal")
    await s.until_stored("update_delivered", 8)
    s.at("12:20")  # the support desk gets a status page link for customers' questions (#21)
    await s.do(
        "cy",
        PageLinkCreated(
            link_id=PAGE_LINK_ID, digest=digest_of(PAGE_LINK_SECRET), audience="external",
            label="support desk",
        ),
    )  # fmt: skip
    # 12:20 bo attaches the alert that paged pat, still firing, to the incident (issue 20); at
    # 12:25 Alertmanager reports it resolved, and dee makes that a fact on the board.
    s.at("12:20")
    await post_alert(s.server, "firing")
    assert s.server.alerts is not None
    (group,) = s.server.alerts.open_groups()
    await s.do("bo", AlertGroupAttached(group_id=group["id"]))
    await eventually(lambda: s.server.alerts.open_groups() == [])  # type: ignore[union-attr]
    s.at("12:25")
    await post_alert(s.server, "resolved")
    await s.until_stored("alert_notified", 1)
    notified = next(e for e in s.stored() if e.type == "alert_notified")
    await s.do("dee", AlertEvidenceConfirmed(notification=notified.seq))
    s.at("12:26")
    await play_runbook(s, INCIDENT_ID)  # #19: a runbook worked, a freeze, the deploy gate
    s.at("12:30")
    await s.do(
        "bo",
        PhaseChanged(
            phase="resolved",
            previous="monitoring",
            resolution="Rolled payments-api back to v411, restoring 50 database connections "
            "per pod; errors at baseline since 10:04 and through the lunch peak",
        ),
    )
    s.at("12:40")
    await s.do("bo", PhaseChanged(phase="closed", previous="resolved"))
    await s.server.hub.record_by_hub(INCIDENT_ID, DrillScored(id=uuid.uuid4(), scorecard=SCORECARD))
    # 12:40 the review finds two slips in the record: the scribe puts them right (corrections are
    # accepted after the close, each with its reason).
    await s.do(
        "dee",
        EntryAmended(
            entry=lunch.seq,
            text="The lunch peak starts around 11:45; watching the pool wait graph until then",
            reason="the shop's traffic graph shows the peak from 11:45",
        ),
    )
    await s.do(
        "dee",
        EntryRetimed(
            entry=pool_query.seq,
            happened_at=T0.replace(hour=9, minute=29),
            reason="bo ran the query while the scale-up was still going",
        ),
    )
    await s.do("cy", PageLinkRevoked(link_id=PAGE_LINK_ID))  # the page is no longer needed
    await s.do("dee", EntryRedacted(entry=pasted.seq, reason="a service account token was pasted"))
    s.at("12:41")
    await s.close_everyone()
    assert s.count("participant_left") == 6  # vic, eli, and the four still there at the end
    assert hooks[INTERNAL_HOOK].requests == 8 and hooks[EXTERNAL_HOOK].requests == 4


#: The alert that paged pat, as Alertmanager sends it (issue 20).
INTAKE_SECRET = "scripted-intake-secret-0123456789"


async def post_alert(server: HubServer, status: str) -> None:
    alert = {
        "status": status,
        "labels": {"alertname": "CheckoutErrorRate", "service": "checkout", "severity": "page"},
        "annotations": {"summary": "Checkout 5xx rate above 5% for 5 minutes"},
        "startsAt": (DETECTED - timedelta(minutes=2)).isoformat(),
        "endsAt": T0.replace(hour=12, minute=24).isoformat()
        if status == "resolved"
        else "0001-01-01T00:00:00Z",
        "fingerprint": "c0ffee0000000001",
    }
    payload = {
        "version": "4", "groupKey": '{}:{alertname="CheckoutErrorRate"}', "status": status,
        "receiver": "warroom", "groupLabels": {"alertname": "CheckoutErrorRate"},
        "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
        "alerts": [alert],
    }  # fmt: skip
    assert server.intake is not None
    async with httpx.AsyncClient() as http:
        answer = await http.post(server.intake.url + "/alerts/alertmanager", json=payload,
                                 headers={"Authorization": f"Bearer {INTAKE_SECRET}"})  # fmt: skip
    assert answer.status_code == 200, answer.text


@contextlib.asynccontextmanager
async def webhook_servers() -> AsyncIterator[dict[str, FixedStatusServer]]:
    hooks = {INTERNAL_HOOK: FixedStatusServer(200), EXTERNAL_HOOK: FixedStatusServer(500)}
    for hook in hooks.values():
        await hook.start()
    try:
        yield hooks
    finally:
        for hook in hooks.values():
            await hook.close()


async def run_scripted_incident(db: Path) -> ScriptedRun:
    """Play the scripted incident on a fresh hub writing to ``db``; the hub is stopped after."""
    clock = ManualClock(T0)
    async with webhook_servers() as hooks:
        targets = [
            WebhookTarget(name=INTERNAL_HOOK, kind=TargetKind.JSON, url=hooks[INTERNAL_HOOK].url,
                          audiences=frozenset({Audience.INTERNAL}), timeout=5.0),
            WebhookTarget(name=EXTERNAL_HOOK, kind=TargetKind.SLACK, url=hooks[EXTERNAL_HOOK].url,
                          audiences=frozenset({Audience.EXTERNAL}), timeout=5.0),
        ]  # fmt: skip
        policy = DeliveryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
        intake = IntakeConfig(
            port=0, credentials={"am": secret_digest(INTAKE_SECRET)}, timeline_every=0
        )
        async with running_hub(
            db, clock=clock, webhooks=targets, delivery=policy, intake=intake
        ) as server:
            script = Script(server, clock)
            try:
                await play(script, hooks)
            finally:
                for person in script.people.values():
                    await person.close()
            events = script.head
        posts = {name: hook.requests for name, hook in hooks.items()}
    return ScriptedRun(db=db, incident_id=INCIDENT_ID, events=events, webhook_posts=posts)


_RECORDED: dict[str, ScriptedRun] = {}


def recorded_once(directory: Path) -> ScriptedRun:
    """The scripted incident, played once per test session into ``directory``.

    Tests only read the result (or copy the file before running a hub on it), so every test
    module shares one run instead of replaying two hours of incident each time.
    """
    if "run" not in _RECORDED:
        _RECORDED["run"] = asyncio.run(run_scripted_incident(directory / "scripted-hub.db"))
    return _RECORDED["run"]
