"""Alert groups and incidents on a real hub: declaring from a group and attaching it, dismissing
a group with a reason, later notifications on the incident's timeline, and a notification turned
into a fact. Each right is refused for whoever lacks it and accepted for whoever has it. Every
test runs on a SQLite file and on PostgreSQL (``hub_db``, #22)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from warroom.hub.app import HubServer

from tests.alert_payloads import alertmanager, am_alert
from tests.helpers import client, declare_incident, eventually, recv_json, running_hub, until
from tests.test_alerts_intake import HUB_TOKEN, intake, open_groups, post
from warroom.client.alert_groups import dismiss_group, dismissal, list_alert_groups
from warroom.client.lobby import HubRefused
from warroom.client.sync import IncidentClient
from warroom.core.access import JOIN_CODE_HEADER, JoinCodeCreated, new_join_code
from warroom.core.alerts_incident import (
    AlertEvidenceConfirmed,
    AlertGroupAttached,
    AlertNotified,
    declaration_fields,
)
from warroom.core.board import ItemStatus
from warroom.core.lifecycle import PhaseChanged
from warroom.core.protocol import Ack, Error
from warroom.core.roles import Role

STARTS = "2026-03-14T08:50:00Z"


@pytest.fixture
async def hub(hub_db: Path | str) -> AsyncIterator[HubServer]:
    async with running_hub(
        hub_db, tokens={"oncall": HUB_TOKEN}, intake=intake(timeline_every=0)
    ) as server:
        yield server


def firing(**kw: Any) -> dict[str, Any]:
    return alertmanager(
        am_alert(fingerprint="aaa", starts_at=STARTS, region="eu-west-1"),
        am_alert(fingerprint="bbb", starts_at="2026-03-14T08:52:00Z", region="us-east-1"),
        **kw,
    )


def resolved_one() -> dict[str, Any]:
    return alertmanager(
        am_alert(
            fingerprint="aaa", status="resolved", starts_at=STARTS,
            ends_at="2026-03-14T09:03:00Z", region="eu-west-1",
        ),
        am_alert(fingerprint="bbb", starts_at="2026-03-14T08:52:00Z", region="us-east-1"),
    )  # fmt: skip


async def a_group(hub: HubServer) -> dict[str, Any]:
    answer = await post(hub, "/alerts/alertmanager", firing())
    assert answer.status_code == 200, answer.text
    (group,) = await open_groups(hub)
    return group


async def declare_from(hub: HubServer, group: dict[str, Any], name: str = "ana") -> str:
    fields = {k: v for k, v in declaration_fields(group).items() if v}
    return await declare_incident(hub.url, name=name, token=HUB_TOKEN, **fields)


async def attached(hub: HubServer) -> tuple[dict[str, Any], str, IncidentClient]:
    """A firing group, an incident ana declared from it, and ana (its IC) who attached it."""
    group = await a_group(hub)
    incident = await declare_from(hub, group)
    ana = await client(hub.url, "ana", "ic", incident, token=HUB_TOKEN)
    assert isinstance(await ana.post(AlertGroupAttached(group_id=group["id"])), Ack)
    await tied(hub, group["id"], incident)
    return group, incident, ana


async def tied(hub: HubServer, group: str, incident: str) -> None:
    await eventually(lambda: hub.alerts.group(group)["incident_id"] == incident)  # type: ignore[union-attr]


async def test_declaring_from_a_group_is_prefilled_and_attaching_ties_it(hub: HubServer) -> None:
    group = await a_group(hub)
    fields = declaration_fields(group)
    assert fields["title"] == "Checkout 5xx above 5%"
    assert fields["severity"] == "SEV1"
    assert fields["detected_at"] == "2026-03-14T08:50:00+00:00"  # the earliest startsAt
    assert fields["scope"] == "service=checkout, region=eu-west-1+us-east-1"
    incident = await declare_from(hub, group)
    ana = await client(hub.url, "ana", "ic", incident, token=HUB_TOKEN)
    reply = await ana.post(AlertGroupAttached(group_id=group["id"]))
    assert isinstance(reply, Ack), reply
    await eventually(
        lambda: hub.alerts is not None and hub.alerts.group(group["id"])["incident_id"]
    )
    assert await open_groups(hub) == []  # tied: no longer offered in the list
    state = ana.state
    assert state.detected_at is not None and state.detected_at.isoformat() == fields["detected_at"]
    attached = state.alerts.groups[group["id"]]
    assert (attached.source, attached.firing, attached.resolved) == ("alertmanager", 2, 0)
    assert hub.alerts is not None
    (action,) = hub.alerts.actions(group["id"])
    assert (action["action"], action["actor"], action["incident_id"]) == (
        "attached",
        "ana",
        incident,
    )
    await ana.close()


async def test_later_notifications_reach_the_timeline_once_with_their_source(
    hub: HubServer,
) -> None:
    group, incident, ana = await attached(hub)
    assert (await post(hub, "/alerts/alertmanager", resolved_one())).json()["new"] == 1
    assert (await post(hub, "/alerts/alertmanager", resolved_one())).json()["new"] == 0  # again

    def notified() -> list[AlertNotified]:
        return [e for e in ana.events_after(0) if isinstance(e, AlertNotified)]

    await eventually(lambda: len(notified()) == 1)
    (event,) = notified()
    assert event.role == Role.HUB and event.source == "alertmanager"
    assert event.describe() == ("alertmanager: HighErrorRate resolved at 09:03, firing 1 of 2")
    assert ana.state.alerts.firing == 1
    # The redelivery brought no news: still one entry after the hub had time to add another.
    await post(hub, "/alerts/alertmanager", firing())  # a late "firing" for a resolved alert
    assert len(notified()) == 1
    await ana.close()


async def test_a_notification_becomes_a_fact_with_one_command(hub: HubServer) -> None:
    group, incident, ana = await attached(hub)
    await post(hub, "/alerts/alertmanager", resolved_one())
    await eventually(lambda: bool(ana.state.alerts.offers()))
    (offer,) = ana.state.alerts.offers()
    ben = await client(hub.url, "ben", "responder", incident, token=HUB_TOKEN)
    ack = await ben.post(AlertEvidenceConfirmed(notification=offer.seq))
    assert isinstance(ack, Ack), ack
    await eventually(lambda: ana.state.seq >= ack.seq)
    card = ana.state.board[ack.seq]
    assert card.status == ItemStatus.CONFIRMED and card.author == "ben"
    assert card.text == "alertmanager: HighErrorRate resolved at 09:03, firing 1 of 2"
    assert ana.state.alerts.offers() == []
    again = await ben.post(AlertEvidenceConfirmed(notification=offer.seq))
    assert isinstance(again, Error) and again.code == "already_fact"
    viewer = await client(hub.url, "vic", "observer", incident, token=HUB_TOKEN)
    refused = await viewer.post(AlertEvidenceConfirmed(notification=offer.seq))
    assert isinstance(refused, Error) and refused.code == "forbidden"
    for c in (ana, ben, viewer):
        await c.close()


async def test_only_the_ic_attaches_and_only_a_known_group_not_tied_elsewhere(
    hub: HubServer,
) -> None:
    group = await a_group(hub)
    incident = await declare_from(hub, group)
    ben = await client(hub.url, "ben", "responder", incident, token=HUB_TOKEN)
    refused = await ben.post(AlertGroupAttached(group_id=group["id"]))
    assert isinstance(refused, Error) and refused.code == "forbidden"
    ana = await client(hub.url, "ana", "ic", incident, token=HUB_TOKEN)
    unknown = await ana.post(AlertGroupAttached(group_id="ag-0123456789abcdef"))
    assert isinstance(unknown, Error) and unknown.code == "unknown_alert_group"
    assert isinstance(await ana.post(AlertGroupAttached(group_id=group["id"])), Ack)
    await tied(hub, group["id"], incident)
    other = await declare_incident(hub.url, name="cy", token=HUB_TOKEN)
    cy = await client(hub.url, "cy", "ic", other, token=HUB_TOKEN)
    taken = await cy.post(AlertGroupAttached(group_id=group["id"]))
    assert isinstance(taken, Error) and taken.code == "already_attached"
    assert incident in taken.message
    for c in (ana, ben, cy):
        await c.close()


async def test_a_forged_stamp_does_not_attach_a_group_the_hub_does_not_have(
    hub: HubServer,
) -> None:
    incident = await declare_incident(hub.url, name="ana", token=HUB_TOKEN)
    async with websockets.connect(
        hub.url, additional_headers={"Authorization": f"Bearer {HUB_TOKEN}"}
    ) as ws:
        await ws.send('{"op": "hello", "protocol": 2, "name": "ana", "role": "ic"}')
        await until(ws, "welcome")
        await ws.send(f'{{"op": "join", "incident": "{incident}"}}')
        await until(ws, "synced")
        forged = {
            "type": "alert_group_attached", "id": str(uuid.uuid4()),
            "group_id": "ag-0123456789abcdef", "known": True, "source": "alertmanager",
            "summary": "made up", "firing": 9,
        }  # fmt: skip
        await ws.send(json.dumps({"op": "command", "command": forged}))
        answer = await until(ws, "error")
        assert answer["code"] == "unknown_alert_group"
        assert answer["id"] == forged["id"]


async def test_dismissing_a_group_is_remembered_and_refused_without_the_right(
    hub: HubServer,
) -> None:
    group = await a_group(hub)
    command = dismissal(group["id"], "")
    with pytest.raises(HubRefused) as blank:
        await dismiss_group(hub.url, "ana", command, token=HUB_TOKEN)
    assert blank.value.code == "reason_required"
    command = dismissal(group["id"], "load test in staging, expected")
    with pytest.raises(HubRefused) as observer:
        await dismiss_group(hub.url, "vic", command, token=HUB_TOKEN, role=Role.OBSERVER)
    assert observer.value.code == "forbidden"
    # A join code's guest: refused too, whatever seat it asks for.
    incident = await declare_incident(hub.url, name="cy", token=HUB_TOKEN)
    cy = await client(hub.url, "cy", "ic", incident, token=HUB_TOKEN)
    issued = new_join_code(incident)
    assert isinstance(
        await cy.post(JoinCodeCreated(code_id=issued.code_id, digest=issued.digest, label="v")),
        Ack,
    )
    await cy.close()
    async with websockets.connect(
        hub.url, additional_headers={JOIN_CODE_HEADER: issued.code}
    ) as ws:
        await ws.send('{"op": "hello", "protocol": 2, "name": "val", "role": "responder"}')
        await until(ws, "welcome")
        frame = {"op": "command", "command": command.command_body()}
        await ws.send(json.dumps(frame))
        answer = await recv_json(ws)
        assert (answer["op"], answer["code"]) == ("error", "forbidden")
    assert len(await open_groups(hub)) == 1  # nothing changed
    await dismiss_group(hub.url, "ana", command, token=HUB_TOKEN)
    await dismiss_group(hub.url, "ana", command, token=HUB_TOKEN)  # a retry: acknowledged again
    assert await list_alert_groups(hub.url, HUB_TOKEN) == []
    assert hub.alerts is not None
    (action,) = hub.alerts.actions(group["id"])
    assert (action["action"], action["actor"]) == ("dismissed", "ana")
    assert action["reason"] == "load test in staging, expected"
    assert hub.alerts.group(group["id"])["dismissed_reason"] == action["reason"]
    # Still firing, still dismissed: later notifications do not bring it back.
    await post(hub, "/alerts/alertmanager", resolved_one())
    assert await open_groups(hub) == []
    unknown = dismissal("ag-0123456789abcdef", "no such group")
    with pytest.raises(HubRefused) as missing:
        await dismiss_group(hub.url, "ana", unknown, token=HUB_TOKEN)
    assert missing.value.code == "unknown_alert_group"


async def test_a_dismissal_sent_into_an_incident_is_refused(hub: HubServer) -> None:
    group = await a_group(hub)
    incident = await declare_incident(hub.url, name="ana", token=HUB_TOKEN)
    ana = await client(hub.url, "ana", "ic", incident, token=HUB_TOKEN)
    command = dismissal(group["id"], "noise")
    before = hub.hub.rooms[incident].state.seq
    # Taken as a dismissal of the group (never stored in the incident), whatever it names.
    reply = await ana.post(command.model_copy(update={"incident_id": incident}))
    assert isinstance(reply, Ack) and reply.incident == ""
    assert hub.hub.rooms[incident].state.seq == before
    assert await open_groups(hub) == []
    await ana.close()


async def test_a_group_of_a_closed_incident_is_listed_again_when_it_fires_again(
    hub: HubServer,
) -> None:
    group, incident, ana = await attached(hub)
    for move in (
        PhaseChanged(phase="resolved", resolution="rolled back"),
        PhaseChanged(phase="closed"),
    ):
        assert isinstance(await ana.post(move), Ack)
    await post(hub, "/alerts/alertmanager", resolved_one())  # news for a closed incident
    await eventually(lambda: hub.alerts.group(group["id"])["incident_id"] is None)  # type: ignore[union-attr]
    (listed,) = await open_groups(hub)  # one of its alerts still fires: offered again
    assert listed["id"] == group["id"]
    assert [a["action"] for a in hub.alerts.actions(group["id"])] == ["attached", "released"]  # type: ignore[union-attr]
    await ana.close()
