"""Firing alert groups in the console, against a real hub with an intake: listed live on the
incident list, declared from with one key (prefilled), attached to an open incident, dismissed
with a reason; in the incident, their news on the timeline and the board, and the summary."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from textual.widgets import DataTable, Input
from warroom.hub.app import HubServer

from tests.alert_payloads import alertmanager, am_alert
from tests.console_helpers import (
    ConsoleSession,
    console_session,
    is_live,
    screen_text,
    seed_incident,
)
from tests.helpers import T0, ManualClock, client, eventually, running_hub
from tests.test_alerts_intake import AUTH, intake
from warroom.console.screens.alert_forms import AlertDeclareScreen, DismissGroupForm
from warroom.console.screens.console import ConsoleScreen
from warroom.console.screens.join import JoinScreen
from warroom.console.widgets.board import BoardPane
from warroom.console.widgets.summary import SummaryPane
from warroom.console.widgets.timeline import TimelinePane
from warroom.core.alerts_incident import AlertGroupAttached
from warroom.core.protocol import Ack
from warroom.core.severity import Severity

STARTS = "2026-03-14T08:50:07.25Z"


def firing(group: str = "HighErrorRate", **labels: str) -> dict[str, Any]:
    return alertmanager(
        am_alert(name=group, fingerprint=f"{group}-a", starts_at=STARTS, region="eu-west-1",
                 **labels),
        am_alert(name=group, fingerprint=f"{group}-b", starts_at="2026-03-14T08:55:00Z",
                 region="us-east-1", **labels),
        group_key=f'{{}}:{{alertname="{group}"}}',
    )  # fmt: skip


async def post_alerts(hub: HubServer, payload: dict[str, Any]) -> None:
    assert hub.intake is not None
    async with httpx.AsyncClient() as http:
        answer = await http.post(hub.intake.url + "/alerts/alertmanager", json=payload,
                                 headers=AUTH)  # fmt: skip
    assert answer.status_code == 200, answer.text


@contextlib.asynccontextmanager
async def lobby(
    tmp_path: Path, name: str = "ana", role: str = "ic", **kw: Any
) -> AsyncIterator[ConsoleSession]:
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0),
                           intake=intake(timeline_every=0)) as hub:  # fmt: skip
        kw.setdefault("seed", False)
        async with console_session(tmp_path, name=name, role=role, join=False, hub=hub,
                                   **kw) as s:  # fmt: skip
            yield s


def alerts_table(s: ConsoleSession) -> DataTable[Any]:
    return s.app.screen.query_one("#alerts", DataTable)


async def groups_listed(s: ConsoleSession, count: int) -> DataTable[Any]:
    await s.wait_for(lambda: isinstance(s.app.screen, JoinScreen)
                     and alerts_table(s).row_count == count, timeout=15)  # fmt: skip
    return alerts_table(s)


async def test_firing_groups_appear_live_with_their_severity(tmp_path: Path) -> None:
    async with lobby(tmp_path, lobby_refresh=0.5) as s:
        assert not alerts_table(s).display  # nothing firing: no alerts section at all
        await post_alerts(s.hub, firing())
        table = await groups_listed(s, 1)  # no key pressed: the list refreshes by itself
        cells = [str(c) for c in table.get_row_at(0)]
        assert cells[:4] == ["SEV1", "alertmanager", "Checkout 5xx above 5%", "2 of 2"]
        assert cells[5].startswith("service=checkout, reg")  # cut to fit 100 columns
        scope = s.app.screen.alert_groups[0]["scope"]
        assert scope == "service=checkout, region=eu-west-1+us-east-1"
        await post_alerts(s.hub, firing("DiskFull", severity="warning"))
        await groups_listed(s, 2)
        assert "SEV3" in screen_text(s.app)
        assert [str(c) for c in table.get_row_at(0)][0] == "SEV1"  # the worst first
        assert "d declares from" in screen_text(s.app)


async def test_one_key_declares_from_a_group_prefilled_and_attaches_it(tmp_path: Path) -> None:
    async with lobby(tmp_path) as s:
        await post_alerts(s.hub, firing())
        await s.pilot.press("r")
        await groups_listed(s, 1)
        await s.pilot.press("d")
        await s.wait_for(lambda: isinstance(s.app.screen, AlertDeclareScreen))
        form = s.app.screen

        def value(field: str) -> str:
            return form.query_one(f"#{field}", Input).value

        assert value("title") == "Checkout 5xx above 5%"
        assert value("detected") == "2026-03-14 08:50:07"
        assert value("scope") == "service=checkout, region=eu-west-1+us-east-1"
        assert value("trigger") == "alertmanager alert HighErrorRate"
        await s.pilot.press("ctrl+s")
        await s.wait_for(lambda: is_live(s.app), timeout=15)
        assert isinstance(s.app.screen, ConsoleScreen)
        await s.wait_for(lambda: bool(s.app.client.state.alerts.groups), timeout=10)
        state = s.app.client.state
        assert state.severity == Severity.SEV1
        # Detected at = the group's earliest startsAt, to the millisecond the sender gave.
        assert state.detected_at == datetime(2026, 3, 14, 8, 50, 7, 250000, tzinfo=UTC)
        assert state.scope == "service=checkout, region=eu-west-1+us-east-1"
        assert state.ic == "ana"
        assert s.hub.alerts is not None
        await eventually(lambda: s.hub.alerts.open_groups() == [])  # type: ignore[union-attr]


async def test_a_group_is_dismissed_with_a_reason_that_is_remembered(tmp_path: Path) -> None:
    async with lobby(tmp_path, name="rita", role="responder") as s:
        await post_alerts(s.hub, firing())
        await s.pilot.press("r")
        await groups_listed(s, 1)
        await s.pilot.press("x")
        await s.wait_for(lambda: isinstance(s.app.screen, DismissGroupForm))
        await s.pilot.press("enter")
        assert "Say why" in screen_text(s.app)
        await s.pilot.press(*"planned load test", "enter")
        await groups_listed(s, 0)
        assert not alerts_table(s).display
        assert s.hub.alerts is not None
        (action,) = s.hub.alerts.actions()
        assert (action["action"], action["actor"], action["reason"]) == (
            "dismissed", "rita", "planned load test"
        )  # fmt: skip


async def test_a_group_is_attached_to_an_open_incident_its_ic_chooses(tmp_path: Path) -> None:
    async with lobby(tmp_path) as s:
        incident = await seed_incident(s.hub.url)
        await seed_incident(s.hub.url, name="cy", incident_id="inc-other", title="Other thing")
        await post_alerts(s.hub, firing())
        await s.pilot.press("r")
        await groups_listed(s, 1)
        await s.pilot.press("a")
        await s.pilot.pause()
        text = screen_text(s.app)
        assert "only its IC, cy, can attach" in text
        await s.pilot.press("enter")  # the first choice that is offered: ana's own incident
        await s.wait_for(lambda: is_live(s.app), timeout=15)
        assert s.app.client.incident_id == incident
        await s.wait_for(lambda: bool(s.app.client.state.alerts.groups), timeout=10)


async def test_an_observer_is_not_offered_the_alert_keys(tmp_path: Path) -> None:
    async with lobby(tmp_path, name="olga", role="observer") as s:
        await post_alerts(s.hub, firing())
        await s.pilot.press("r")
        await groups_listed(s, 1)
        screen = s.app.screen
        for action in ("declare_from_alert", "attach_alert", "dismiss_alert"):
            assert not screen.check_action(action, ())
        await s.pilot.press("x", "d")
        assert isinstance(s.app.screen, JoinScreen)


@contextlib.asynccontextmanager
async def attached(
    tmp_path: Path, name: str = "lee", role: str = "lead"
) -> AsyncIterator[ConsoleSession]:
    async with running_hub(tmp_path / "hub.db", clock=ManualClock(T0),
                           intake=intake(timeline_every=0)) as hub:  # fmt: skip
        await post_alerts(hub, firing())
        assert hub.alerts is not None
        (group,) = hub.alerts.open_groups()
        incident = await seed_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        assert isinstance(await ana.post(AlertGroupAttached(group_id=group["id"])), Ack)
        await ana.close()
        await eventually(lambda: hub.alerts.open_groups() == [])  # type: ignore[union-attr]
        async with console_session(tmp_path, name=name, role=role, seed=False, hub=hub) as s:
            yield s


def resolving() -> dict[str, Any]:
    return alertmanager(
        am_alert(fingerprint="HighErrorRate-a", starts_at=STARTS, region="eu-west-1",
                 status="resolved", ends_at="2026-03-14T09:03:00Z"),
        am_alert(fingerprint="HighErrorRate-b", starts_at="2026-03-14T08:55:00Z",
                 region="us-east-1", status="resolved", ends_at="2026-03-14T09:04:00Z"),
        group_key='{}:{alertname="HighErrorRate"}',
    )  # fmt: skip


async def test_news_reaches_the_timeline_the_board_offers_it_and_t_makes_it_a_fact(
    tmp_path: Path,
) -> None:
    async with attached(tmp_path) as s:
        summary = await s.show_pane("7", SummaryPane)
        await s.wait_for(lambda: "still firing: 2 of 2 alerts" in screen_text(s.app))
        await post_alerts(s.hub, resolving())
        await s.wait_for(lambda: bool(s.app.client.state.alerts.offers()))
        await s.wait_for(lambda: "all resolved: 0 of 2 alerts firing" in screen_text(s.app))
        assert summary is not None
        await s.show_pane("1", TimelinePane)
        line = "alertmanager: HighErrorRate resolved at 09:04, firing 0 of 2"
        await s.wait_for(lambda: line in screen_text(s.app))
        board = await s.show_pane("2", BoardPane)
        await s.wait_for(lambda: "Alert evidence" in screen_text(s.app))
        assert line in screen_text(s.app)
        await s.pilot.press("t")
        await s.wait_for(lambda: any(c.is_fact for c in s.app.client.state.board.values()))
        (card,) = s.app.client.state.board.values()
        assert card.text == line and card.author == "lee"
        await s.wait_for(lambda: "Alert evidence" not in screen_text(s.app))
        assert not board.check_action("alert_fact", ())


async def test_an_observer_sees_the_evidence_but_is_not_offered_the_key(tmp_path: Path) -> None:
    async with attached(tmp_path, name="olga", role="observer") as s:
        await post_alerts(s.hub, resolving())
        board = await s.show_pane("2", BoardPane)
        await s.wait_for(lambda: "Alert evidence" in screen_text(s.app))
        assert not board.check_action("alert_fact", ())
        await s.pilot.press("t")
        await s.pilot.pause()
        assert not any(c.is_fact for c in s.app.client.state.board.values())
