"""What alert groups look like in the console: the incident list with firing groups, and the
board offering an attached group's notification as evidence, at 80x24 and at a wide size."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable
from warroom.hub.app import HubServer

from tests.alert_payloads import alertmanager, am_alert
from tests.console_helpers import (
    ThreadedHub,
    incident_list_in_line,
    make_console,
    screen_text,
    until_live,
)
from tests.helpers import client, eventually, running_hub
from tests.test_alerts_console import firing, post_alerts, resolving
from tests.test_alerts_intake import intake
from warroom.core.alerts_incident import AlertGroupAttached

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


class IntakeHub(ThreadedHub):
    """A threaded hub with an alert intake (news goes to the timeline at once)."""

    def start(self) -> IntakeHub:
        self._thread.start()

        async def up() -> HubServer:
            hub = running_hub(self.db, clock=self.clock, intake=intake(timeline_every=0))
            return await self._stack.enter_async_context(hub)

        self.server = self.call(up())
        return self

    def post_alerts(self, payload: dict[str, Any]) -> None:
        assert self.server is not None
        self.call(post_alerts(self.server, payload))


@contextlib.contextmanager
def intake_hub(tmp_path: Path) -> Iterator[IntakeHub]:
    hub = IntakeHub(tmp_path / "hub.db").start()
    try:
        yield hub
    finally:
        hub.stop()


def disk_full() -> dict[str, Any]:
    alert = am_alert(name="DiskFull", fingerprint="disk-1", starts_at="2026-03-14T08:41:00Z",
                     severity="warning", cluster="prod-eu-2")  # fmt: skip
    alert["annotations"] = {"summary": "Disk on db-7 above 90% and climbing"}
    payload = alertmanager(alert, group_key='{}:{alertname="DiskFull"}')
    payload["commonAnnotations"] = alert["annotations"]
    payload["groupLabels"] = {"alertname": "DiskFull"}
    payload["commonLabels"] = alert["labels"]
    return payload


def _rows(pilot: Pilot[Any], table: str) -> int:
    found = pilot.app.screen.query(f"#{table}")
    return found.first(DataTable).row_count if found else -1


async def alerts_listed(pilot: Pilot[Any]) -> None:
    """Both lists filled and drawn: the two alert groups and the seeded incident. The two tables
    fill from separate answers of the hub, so waiting for the alerts alone sometimes caught the
    incident list still empty (a blank first row in one CI run)."""
    await eventually(lambda: _rows(pilot, "alerts") == 2 and _rows(pilot, "incidents") >= 1)
    # And drawn with their final column widths: a table may draw its header with the widths
    # before its rows for a frame (as in test_console_smaller); both groups are on screen.
    await eventually(lambda: _drawn(pilot.app))
    await pilot.pause()


def _drawn(app: Any) -> bool:
    return incident_list_in_line(app) and "Disk on db-7" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
def test_incident_list_with_firing_alert_groups(snap_compare, tmp_path, size):
    with intake_hub(tmp_path) as hub:
        hub.seed()
        hub.post_alerts(firing())
        hub.post_alerts(disk_full())
        app = make_console(hub.url, name="rita", role="responder", incident=None)
        assert snap_compare(app, terminal_size=SIZES[size], run_before=alerts_listed)


@pytest.mark.parametrize("size", SIZES)
def test_board_offers_an_alert_notification_as_evidence(snap_compare, tmp_path, size):
    with intake_hub(tmp_path) as hub:
        incident = hub.seed()
        hub.post_alerts(firing())

        async def attach() -> None:
            assert hub.server is not None and hub.server.alerts is not None
            (group,) = hub.server.alerts.open_groups()
            ana = await client(hub.url, "ana", "ic", incident)
            assert (await ana.post(AlertGroupAttached(group_id=group["id"]))).op == "ack"
            await ana.close()
            await eventually(lambda: hub.server.alerts.open_groups() == [])  # type: ignore[union-attr]

        hub.call(attach())
        hub.post_alerts(resolving())
        app = make_console(hub.url, name="rita", role="responder")

        async def on_board(pilot: Pilot[Any]) -> None:
            await until_live(pilot)
            await eventually(lambda: bool(app.client and app.client.state.alerts.offers()))
            await pilot.press("2")
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZES[size], run_before=on_board)
