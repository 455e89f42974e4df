"""End to end with a real Alertmanager (the ``prometheus-alertmanager`` package; ``.ci/run``
installs it): its webhook receiver points at a real hub's intake, alerts are posted to its API,
and the group shows up in the hub's ``GET /alerts`` with the alerts' own ``startsAt``, then
leaves it when Alertmanager reports the alerts resolved."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import DataTable
from warroom.hub.app import HubServer
from warroom.hub.intake_config import IntakeConfig, secret_digest

from tests.console_helpers import make_console
from tests.helpers import ManualClock, free_port, running_hub

SECRET = "alertmanager-intake-secret-0123"
HUB_TOKEN = "hub-token-for-readers-0123"
BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

CONFIG = """\
route:
  receiver: warroom
  group_by: ['alertname', 'service']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: {url}/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {secret}
"""


@pytest.fixture
def alertmanager_binary() -> str:
    if BINARY is None:
        pytest.fail(
            "Alertmanager is not installed: apt-get install prometheus-alertmanager "
            "(.ci/run installs it when missing)."
        )
    return BINARY


class Alertmanager:
    """A real Alertmanager in a subprocess, on a free port, with clustering off."""

    def __init__(self, binary: str, workdir: Path, intake_url: str) -> None:
        self.port = free_port()
        config = workdir / "alertmanager.yml"
        config.write_text(CONFIG.format(url=intake_url, secret=SECRET))
        self.log = (workdir / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workdir = workdir

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.flush()
        return (self.workdir / "alertmanager.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "am"
    path.mkdir()
    yield path


async def wait_for(check: Any, what: str, am: Alertmanager, timeout: float = 30.0) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if am.proc.poll() is not None or asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen; Alertmanager said:\n{am.output()}")
        await asyncio.sleep(0.1)


async def until_ready(http: httpx.AsyncClient, am: Alertmanager) -> None:
    async def ready() -> bool:
        try:
            return (await http.get(f"{am.url}/-/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(ready, "Alertmanager becoming ready", am)


async def test_a_real_alertmanager_delivers_a_group_that_resolves(
    tmp_path: Path, workdir: Path, alertmanager_binary: str
) -> None:
    intake = IntakeConfig(port=0, credentials={"alertmanager": secret_digest(SECRET)})
    async with running_hub(tmp_path / "hub.db", tokens={"x": HUB_TOKEN}, intake=intake) as hub:
        assert hub.intake is not None
        am = Alertmanager(alertmanager_binary, workdir, hub.intake.url)
        try:
            await run_scenario(hub, am)
        finally:
            am.stop()


async def run_scenario(hub: HubServer, am: Alertmanager) -> None:
    reader = {"Authorization": f"Bearer {HUB_TOKEN}"}
    hub_http = hub.url.replace("ws://", "http://")
    async with httpx.AsyncClient(timeout=5) as http:
        await until_ready(http, am)
        started = (datetime.now(UTC) - timedelta(minutes=7)).replace(microsecond=0)
        alerts = [
            {
                "labels": {
                    "alertname": "HighErrorRate",
                    "service": "checkout",
                    "severity": "critical",
                    "region": region,
                },
                "annotations": {
                    "summary": "Checkout 5xx above 5%",
                    "runbook_url": "https://runbooks.example.com/checkout/5xx",
                },
                "startsAt": (started + timedelta(minutes=offset)).isoformat(),
                "generatorURL": "http://prometheus.example.com:9090/graph",
            }
            for region, offset in (("eu-west-1", 2), ("us-east-1", 0))
        ]
        posted = await http.post(f"{am.url}/api/v2/alerts", json=alerts)
        assert posted.status_code == 200, posted.text

        async def firing_group() -> Any:
            groups = (await http.get(f"{hub_http}/alerts", headers=reader)).json()
            return groups[0] if groups and groups[0]["firing"] == 2 else None

        group = await wait_for(firing_group, "the firing group reaching the hub", am)
        assert group["source"] == "alertmanager"
        assert group["starts_at"] == started.isoformat()  # the earlier alert's startsAt
        assert group["summary"] == "Checkout 5xx above 5%"
        assert group["severity"] == "SEV1"
        assert group["group_labels"] == {"alertname": "HighErrorRate", "service": "checkout"}
        assert group["runbook_url"] == "https://runbooks.example.com/checkout/5xx"

        ended = datetime.now(UTC) - timedelta(seconds=5)
        for alert in alerts:
            alert["endsAt"] = ended.isoformat()
        posted = await http.post(f"{am.url}/api/v2/alerts", json=alerts)
        assert posted.status_code == 200, posted.text

        async def gone() -> bool:
            return (await http.get(f"{hub_http}/alerts", headers=reader)).json() == []

        await wait_for(gone, "the resolved notification reaching the hub", am)
    assert hub.alerts is not None
    changes = hub.alerts.changes(group["id"])
    assert sorted(c["status"] for c in changes) == ["firing", "firing", "resolved", "resolved"]


async def test_a_real_alertmanager_group_is_declared_from_a_console_and_resolves_on_its_timeline(
    tmp_path: Path, workdir: Path, alertmanager_binary: str
) -> None:
    """The issue's end-to-end: the group shows up in a console's incident list, is declared from
    it with the right detection time, and its resolution reaches the incident's timeline."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)  # the hub's and the console's: the alerts' own times are real
    intake = IntakeConfig(
        port=0, credentials={"alertmanager": secret_digest(SECRET)}, timeline_every=0
    )
    async with running_hub(
        tmp_path / "hub.db", clock=clock, tokens={"x": HUB_TOKEN}, intake=intake
    ) as hub:
        assert hub.intake is not None
        am = Alertmanager(alertmanager_binary, workdir, hub.intake.url)
        app = make_console(hub.url, name="ana", role="ic", incident=None, token=HUB_TOKEN,
                           clock=clock, lobby_refresh=0.5)  # fmt: skip
        try:
            async with httpx.AsyncClient(timeout=5) as http, app.run_test(size=(120, 30)) as pilot:
                await until_ready(http, am)
                started = now - timedelta(minutes=7)
                alert = {
                    "labels": {"alertname": "HighErrorRate", "service": "checkout",
                               "severity": "critical", "region": "eu-west-1"},
                    "annotations": {"summary": "Checkout 5xx above 5%"},
                    "startsAt": started.isoformat(),
                }  # fmt: skip
                assert (await http.post(f"{am.url}/api/v2/alerts", json=[alert])).is_success

                async def listed() -> bool:
                    tables = app.screen.query("#alerts")
                    return bool(tables) and tables.first(DataTable).row_count == 1

                await wait_for(listed, "the group in the console's incident list", am)
                await pilot.press("d")
                await pilot.pause()
                await pilot.press("ctrl+s")

                async def declared() -> bool:
                    client = app.client
                    return client is not None and bool(client.state.alerts.groups)

                await wait_for(declared, "the declaration with the group attached", am)
                state = app.client.state  # type: ignore[union-attr]
                assert state.detected_at == started  # the group's earliest startsAt
                assert state.severity.value == "SEV1" and state.title == "Checkout 5xx above 5%"

                alert["endsAt"] = (now - timedelta(seconds=5)).isoformat()
                assert (await http.post(f"{am.url}/api/v2/alerts", json=[alert])).is_success

                async def resolved_on_the_timeline() -> Any:
                    client = app.client
                    lines = [e.describe() for e in client.events_after(0)] if client else []
                    return [line for line in lines if "resolved" in line]

                (line,) = await wait_for(resolved_on_the_timeline, "the resolution", am)
                assert line.startswith("alertmanager: HighErrorRate resolved at ")
                assert line.endswith("firing 0 of 1")
                assert app.client.state.alerts.firing == 0  # type: ignore[union-attr]
        finally:
            am.stop()
