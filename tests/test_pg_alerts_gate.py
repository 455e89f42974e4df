"""Alert intake and the deploy gate with several hubs on one PostgreSQL database (#22).

Two real hubs in this process on one fresh database of a real PostgreSQL server: a gate
credential added through one hub works at the other (and is revoked at both at once); an alert
posted to one hub's intake is listed by the other and attached from a console there; a group is
stored once, and each of its changes reaches the incident's timeline once, whichever hub each
delivery reached, even when both hubs take deliveries of one group at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from warroom.hub.app import HubServer
from warroom.hub.gate_store import GateCredentials

from tests.alert_payloads import alertmanager, am_alert
from tests.console_helpers import console_session, is_live
from tests.helpers import T0, client, declare_incident, eventually, running_hub
from tests.hub_db import count, rows
from tests.test_alerts_auto_declare import CHECKOUT
from tests.test_alerts_console import firing as console_firing
from tests.test_alerts_console import groups_listed, post_alerts
from tests.test_alerts_incident_hub import declare_from, firing, resolved_one, tied
from tests.test_alerts_intake import HUB_TOKEN, intake, post
from warroom.client.alert_groups import dismiss_group, dismissal, list_alert_groups
from warroom.console.screens.alert_forms import AlertDeclareScreen
from warroom.core.alerts_incident import AlertGroupAttached, AlertNotified
from warroom.core.clock import ManualClock
from warroom.core.protocol import Ack


@contextlib.asynccontextmanager
async def two_hubs(url: str, **config: Any) -> AsyncIterator[tuple[HubServer, HubServer]]:
    """Hubs a and b on the database ``url``, each with its own alert intake."""
    clock = ManualClock(T0)
    tokens = {"oncall": HUB_TOKEN}
    async with (
        running_hub(
            url, clock=clock, tokens=tokens, intake=intake(timeline_every=0, **config)
        ) as a,
        running_hub(
            url, clock=clock, tokens=tokens, intake=intake(timeline_every=0, **config)
        ) as b,
    ):
        yield a, b


async def gate_check(hub: HubServer, secret: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(
            f"http://127.0.0.1:{hub.port}/gate/check",
            params={"target": "checkout-api"},
            headers={"Authorization": f"Bearer {secret}"},
        )


async def test_a_gate_credential_added_through_one_hub_works_at_the_other(pg_url: str) -> None:
    clock = ManualClock(T0)
    async with running_hub(pg_url, clock=clock) as a, running_hub(pg_url, clock=clock) as b:
        incident = await declare_incident(a.url)
        secret = a.gate.add("deploy-prod")
        answer = await gate_check(b, secret)
        assert answer.status_code == 200, answer.text
        assert answer.json()["allowed"] is True
        # The check was recorded on the incident's log, which hub a serves as well.
        stored = rows(pg_url, "SELECT type FROM events WHERE incident_id = ?", [incident])
        assert ("gate_checked",) in stored
        # Listed and revoked from anywhere: the CLI's store on the same URL.
        cli = GateCredentials(pg_url)
        assert [name for name, _, _ in cli.listing()] == ["deploy-prod"]
        cli.revoke("deploy-prod")
        assert (await gate_check(a, secret)).status_code == 401
        assert (await gate_check(b, secret)).status_code == 401


async def test_an_alert_posted_to_one_hub_is_listed_declared_and_attached_at_the_other(
    pg_url: str,
) -> None:
    async with two_hubs(pg_url) as (a, b):
        assert (await post(a, "/alerts/alertmanager", firing())).status_code == 200
        # A console on hub b lists what hub a received (its join screen reads GET /alerts).
        (group,) = await list_alert_groups(b.url, token=HUB_TOKEN)
        assert (group["firing"], group["severity"]) == (2, "SEV1")
        incident = await declare_from(b, group)
        ana = await client(b.url, "ana", "ic", incident, token=HUB_TOKEN)
        assert isinstance(await ana.post(AlertGroupAttached(group_id=group["id"])), Ack)
        await tied(a, group["id"], incident)
        assert await list_alert_groups(a.url, token=HUB_TOKEN) == []
        # News delivered to hub a reaches the timeline ana follows on hub b.
        assert (await post(a, "/alerts/alertmanager", resolved_one())).json()["new"] == 1

        def notified() -> list[AlertNotified]:
            return [e for e in ana.events_after(0) if isinstance(e, AlertNotified)]

        await eventually(lambda: len(notified()) == 1)
        assert ana.state.alerts.firing == 1
        # The same delivery to hub b (a sender retrying elsewhere) is no news.
        assert (await post(b, "/alerts/alertmanager", resolved_one())).json()["new"] == 0
        await asyncio.sleep(0.3)
        assert len(notified()) == 1
        await ana.close()


async def test_a_group_dismissed_at_one_hub_leaves_the_other_hubs_list(pg_url: str) -> None:
    async with two_hubs(pg_url) as (a, b):
        await post(a, "/alerts/alertmanager", firing())
        (group,) = await list_alert_groups(a.url, token=HUB_TOKEN)
        await dismiss_group(b.url, "bo", dismissal(group["id"], "game day"), token=HUB_TOKEN)
        assert await list_alert_groups(a.url, token=HUB_TOKEN) == []
        assert [x["action"] for x in a.alerts.actions(group["id"])] == ["dismissed"]  # type: ignore[union-attr]


async def test_deliveries_of_one_group_to_both_hubs_at_once_store_each_change_once(
    pg_url: str,
) -> None:
    async with two_hubs(pg_url) as (a, b):
        incident = ""
        group: dict[str, Any] = {}
        for round_ in range(5):
            # The same notification, and a second alert of the group, at both hubs at once.
            alerts = [am_alert(fingerprint=f"f{i}", starts_at=f"2026-03-14T08:5{i}:00Z")
                      for i in range(round_ + 1)]  # fmt: skip
            note = alertmanager(*alerts)
            answers = await asyncio.gather(
                post(a, "/alerts/alertmanager", note), post(b, "/alerts/alertmanager", note)
            )
            assert [x.status_code for x in answers] == [200, 200]
            # The new alert of this round is news at exactly one hub.
            assert sorted(x.json()["new"] for x in answers) == [0, 1]
            if round_ == 1:
                (group,) = await list_alert_groups(a.url, token=HUB_TOKEN)
                incident = await declare_from(a, group)
                ana = await client(a.url, "ana", "ic", incident, token=HUB_TOKEN)
                assert isinstance(await ana.post(AlertGroupAttached(group_id=group["id"])), Ack)
                await ana.close()
                await tied(b, group["id"], incident)
        assert count(pg_url, "alert_groups") == 1
        assert count(pg_url, "alerts") == 5
        assert count(pg_url, "alert_changes") == 5

        def notified() -> list[tuple[Any, ...]]:
            return rows(
                pg_url,
                "SELECT payload FROM events WHERE incident_id = ? AND type = 'alert_notified'",
                [incident],
            )

        # Rounds 2, 3 and 4 each brought one new alert after the attachment: one event each.
        await eventually(lambda: len(notified()) == 3)
        await asyncio.sleep(0.3)
        assert len(notified()) == 3


async def test_an_auto_declared_group_is_declared_once_across_hubs(pg_url: str) -> None:
    async with two_hubs(pg_url, auto_declare=(CHECKOUT,)) as (a, b):
        # Two alerts of one group reach the two hubs at the same moment: both are news.
        one = alertmanager(am_alert(fingerprint="f1", starts_at="2026-03-14T08:51:00Z"))
        two = alertmanager(am_alert(fingerprint="f2", starts_at="2026-03-14T08:52:00Z"))
        await asyncio.gather(
            post(a, "/alerts/alertmanager", one), post(b, "/alerts/alertmanager", two)
        )

        def declared() -> list[tuple[Any, ...]]:
            return rows(pg_url, "SELECT incident_id, type FROM events WHERE type IN (?, ?, ?)",
                        ["incident_declared", "alert_group_attached", "note_added"])  # fmt: skip

        await eventually(lambda: len(declared()) >= 3, timeout=10)
        await asyncio.sleep(0.5)
        types = sorted(t for _, t in declared())
        assert types == ["alert_group_attached", "incident_declared", "note_added"]


async def test_a_console_on_one_hub_lists_and_declares_from_an_alert_the_other_received(
    tmp_path: Path, pg_url: str
) -> None:
    async with (
        two_hubs(pg_url) as (a, b),
        console_session(tmp_path, name="ana", role="ic", join=False, hub=b, seed=False,
                        lobby_refresh=0.5, token=HUB_TOKEN) as s,
    ):  # fmt: skip
        await post_alerts(a, console_firing())
        await groups_listed(s, 1)  # the join screen on hub b refreshes by itself
        await s.pilot.press("d")
        await s.wait_for(lambda: isinstance(s.app.screen, AlertDeclareScreen))
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=15)
        await s.wait_for(lambda: bool(s.app.client.state.alerts.groups), timeout=10)
        # Tied in the database: hub a no longer offers it either.
        await eventually(lambda: a.alerts.open_groups() == [], timeout=10)  # type: ignore[union-attr]
