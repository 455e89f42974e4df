"""The alert intake on a real hub: Alertmanager and Grafana notifications posted over HTTP, stored
as groups, listed by ``GET /alerts``; bad input refused with a clear status and nothing stored.
The behaviour tests run on a SQLite file and on PostgreSQL (``hub_db``, #22)."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from warroom.hub.app import HubServer
from warroom.hub.intake_config import IntakeConfig, secret_digest

from tests.alert_payloads import alertmanager, am_alert, grafana, grafana_alert
from tests.helpers import client, declare_incident, running_hub
from tests.hub_db import count
from warroom.core.access import JOIN_CODE_HEADER, JoinCodeCreated, new_join_code
from warroom.core.severity import Severity

SECRET = "am-intake-secret-0123456789"
GRAFANA_SECRET = "grafana-intake-secret-0123456789"
HUB_TOKEN = "hub-token-for-readers-0123"
AUTH = {"Authorization": f"Bearer {SECRET}"}
READER = {"Authorization": f"Bearer {HUB_TOKEN}"}


def intake(**kw: Any) -> IntakeConfig:
    kw.setdefault("port", 0)
    kw.setdefault(
        "credentials",
        {"alertmanager": secret_digest(SECRET), "grafana": secret_digest(GRAFANA_SECRET)},
    )
    return IntakeConfig(**kw)


@pytest.fixture
async def hub(hub_db: Path | str) -> AsyncIterator[HubServer]:
    async with running_hub(hub_db, tokens={"oncall": HUB_TOKEN}, intake=intake()) as server:
        yield server


def base(server: HubServer) -> str:
    assert server.intake is not None
    return server.intake.url


def http_url(server: HubServer) -> str:
    return server.url.replace("ws://", "http://")


async def post(server: HubServer, path: str, json: Any = None, **kw: Any) -> httpx.Response:
    kw.setdefault("headers", AUTH)
    async with httpx.AsyncClient() as http:
        return await http.post(base(server) + path, json=json, **kw)


async def open_groups(server: HubServer, headers: dict[str, str] = READER) -> Any:
    async with httpx.AsyncClient() as http:
        answer = await http.get(http_url(server) + "/alerts", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_alertmanager_firing_group_is_stored_and_listed(hub: HubServer) -> None:
    payload = alertmanager(
        am_alert(fingerprint="aaa", starts_at="2026-03-14T08:52:00Z", region="eu-west-1"),
        am_alert(fingerprint="bbb", starts_at="2026-03-14T08:50:00Z", severity="warning"),
    )
    answer = await post(hub, "/alerts/alertmanager", payload)
    assert answer.status_code == 200, answer.text
    assert answer.json()["new"] == 2
    (group,) = await open_groups(hub)
    assert group["source"] == "alertmanager"
    assert group["group_labels"] == {"alertname": "HighErrorRate"}
    assert group["summary"] == "Checkout 5xx above 5%"
    assert group["description"].startswith("checkout-api returns 5xx")
    assert group["starts_at"] == "2026-03-14T08:50:00+00:00"  # the earliest alert's
    assert (group["firing"], group["resolved"]) == (2, 0)
    assert group["runbook_url"] == "https://runbooks.example.com/checkout/5xx"
    assert group["severity"] == "SEV1"  # the worst of critical and warning
    assert group["id"] == answer.json()["group"]


async def test_redelivery_stores_nothing_twice(hub: HubServer) -> None:
    payload = alertmanager(am_alert(fingerprint="aaa"), am_alert(fingerprint="bbb"))
    first = await post(hub, "/alerts/alertmanager", payload)
    again = await post(hub, "/alerts/alertmanager", payload)
    assert (first.json()["new"], again.json()["new"]) == (2, 0)
    assert count(hub.config.db, "alert_changes") == 2
    assert count(hub.config.db, "alert_groups") == 1
    (group,) = await open_groups(hub)
    assert group["firing"] == 2


async def test_mixed_then_resolved_group_leaves_the_list_and_each_change_is_kept_once(
    hub: HubServer,
) -> None:
    starts = "2026-03-14T08:52:26Z"
    a = am_alert(fingerprint="aaa", starts_at=starts)
    b = am_alert(fingerprint="bbb", starts_at=starts)
    await post(hub, "/alerts/alertmanager", alertmanager(a, b))
    a_done = am_alert(
        fingerprint="aaa", status="resolved", starts_at=starts, ends_at="2026-03-14T09:03:00Z"
    )
    mixed = await post(hub, "/alerts/alertmanager", alertmanager(a_done, b))
    assert mixed.json()["new"] == 1
    (group,) = await open_groups(hub)
    assert (group["firing"], group["resolved"]) == (1, 1)
    b_done = am_alert(
        fingerprint="bbb", status="resolved", starts_at=starts, ends_at="2026-03-14T09:04:00Z"
    )
    await post(hub, "/alerts/alertmanager", alertmanager(a_done, b_done))
    assert await open_groups(hub) == []
    # A late retry of the first, firing notification does not bring the group back.
    late = await post(hub, "/alerts/alertmanager", alertmanager(a, b))
    assert late.json()["new"] == 0
    assert await open_groups(hub) == []
    assert hub.alerts is not None
    changes = hub.alerts.changes(late.json()["group"])
    assert [(c["fingerprint"], c["status"]) for c in changes] == [
        ("aaa", "firing"),
        ("bbb", "firing"),
        ("aaa", "resolved"),
        ("bbb", "resolved"),
    ]
    assert changes[2]["ends_at"] == "2026-03-14T09:03:00+00:00"


async def test_grafana_group_with_dashboard_and_mapped_severity(hub: HubServer) -> None:
    headers = {"Authorization": f"Bearer {GRAFANA_SECRET}"}
    answer = await post(hub, "/alerts/grafana", grafana(), headers=headers)
    assert answer.status_code == 200, answer.text
    (group,) = await open_groups(hub)
    assert group["source"] == "grafana"
    assert group["summary"] == "This alert was triggered for zone us-1"
    assert group["dashboard_url"] == "https://grafana.example.com/d/abc?viewPanel=1"
    assert group["starts_at"] == "2026-03-14T07:51:03.157076+00:00"
    assert group["severity"] == "SEV3"  # severity=warning
    resolved = grafana(grafana_alert(status="resolved", ends_at="2026-03-14T10:00:00+02:00"))
    await post(hub, "/alerts/grafana", resolved, headers=headers)
    assert await open_groups(hub) == []


async def test_two_groups_are_kept_apart(hub: HubServer) -> None:
    await post(hub, "/alerts/alertmanager", alertmanager(group_key='{}:{alertname="A"}'))
    await post(hub, "/alerts/alertmanager", alertmanager(group_key='{}:{alertname="B"}'))
    assert len(await open_groups(hub)) == 2


async def test_severity_mapping_is_configurable(hub_db: Path | str) -> None:
    config = intake(severity={"critical": Severity.SEV2}, severity_label="severity")
    async with running_hub(hub_db, tokens={"x": HUB_TOKEN}, intake=config) as hub:
        await post(hub, "/alerts/alertmanager", alertmanager())
        (group,) = await open_groups(hub)
        assert group["severity"] == "SEV2"
        await post(
            hub,
            "/alerts/alertmanager",
            alertmanager(am_alert(severity="unmapped"), group_key='{}:{x="y"}'),
        )
        groups = await open_groups(hub)
        assert sorted(str(g["severity"]) for g in groups) == ["None", "SEV2"]


async def test_groups_survive_a_hub_restart(hub_db: Path | str) -> None:
    db = hub_db
    async with running_hub(db, tokens={"x": HUB_TOKEN}, intake=intake()) as hub:
        await post(hub, "/alerts/alertmanager", alertmanager())
    async with running_hub(db, tokens={"x": HUB_TOKEN}, intake=intake()) as hub:
        (group,) = await open_groups(hub)
        assert group["firing"] == 1


# --- bad input --------------------------------------------------------------------------------
async def nothing_stored(hub: HubServer) -> None:
    assert count(hub.config.db, "alert_groups") == 0
    assert count(hub.config.db, "alert_changes") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret-0123456789"},
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": f"Bearer {HUB_TOKEN}"},  # a hub token is not an intake credential
        {"Authorization": "Bearer"},
    ],
)
async def test_missing_or_wrong_credential_is_401(hub: HubServer, headers: dict[str, str]) -> None:
    answer = await post(hub, "/alerts/alertmanager", alertmanager(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    await nothing_stored(hub)


async def test_malformed_json_is_400(hub: HubServer) -> None:
    answer = await post(hub, "/alerts/alertmanager", content=b'{"version": "4", ', headers={**AUTH})
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_json"
    await nothing_stored(hub)


async def test_wrong_shape_is_400_with_one_line(hub: HubServer) -> None:
    payload = alertmanager()
    payload["alerts"][0]["status"] = "pending"
    answer = await post(hub, "/alerts/alertmanager", payload)
    assert answer.status_code == 400
    reason = answer.json()["message"]
    assert "alerts.0.status" in reason and "\n" not in reason
    # A Grafana body posted to the Alertmanager receiver lacks groupKey's version 4.
    grafana_body = grafana()
    answer = await post(hub, "/alerts/alertmanager", grafana_body)
    assert answer.status_code == 400
    assert "version" in answer.json()["message"]
    await nothing_stored(hub)


async def test_oversized_body_is_413_whether_declared_or_streamed(tmp_path: Path) -> None:
    async with running_hub(
        tmp_path / "hub.db", tokens={"x": HUB_TOKEN}, intake=intake(max_body=4096)
    ) as hub:
        big = alertmanager(*(am_alert(fingerprint=f"f{i}") for i in range(40)))
        answer = await post(hub, "/alerts/alertmanager", big)
        assert answer.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            for _ in range(10):
                yield b" " * 1000

        answer = await post(hub, "/alerts/alertmanager", content=chunks(), headers=AUTH)
        assert answer.status_code == 413
        await nothing_stored(hub)
        small = await post(hub, "/alerts/alertmanager", alertmanager())
        assert small.status_code == 200


async def test_wrong_path_and_method(hub: HubServer) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.post(base(hub) + "/alerts/nagios", headers=AUTH)).status_code == 404
        get = await http.get(base(hub) + "/alerts/alertmanager", headers=AUTH)
        assert get.status_code == 405
    await nothing_stored(hub)


async def test_garbage_on_the_intake_port_does_not_hurt_it(hub: HubServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.intake.port)  # type: ignore[union-attr]
    writer.write(b"\x16\x03\x01 this is not http\r\n\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(1000), 5)
    assert reply.startswith(b"HTTP/1.1 400")
    writer.close()
    answer = await post(hub, "/alerts/alertmanager", alertmanager())
    assert answer.status_code == 200


async def test_keep_alive_connection_serves_several_notifications(hub: HubServer) -> None:
    async with httpx.AsyncClient() as http:
        for i in range(3):
            payload = alertmanager(am_alert(fingerprint=f"k{i}"))
            answer = await http.post(base(hub) + "/alerts/alertmanager", json=payload, headers=AUTH)
            assert answer.status_code == 200
    (group,) = await open_groups(hub)
    assert group["firing"] == 3


# --- reading GET /alerts ----------------------------------------------------------------------
async def test_get_alerts_needs_a_reader_credential(hub: HubServer) -> None:
    await post(hub, "/alerts/alertmanager", alertmanager())
    async with httpx.AsyncClient() as http:
        refused = await http.get(http_url(hub) + "/alerts")
        assert refused.status_code == 401
        # The intake credential lets monitoring post, not read.
        assert (await http.get(http_url(hub) + "/alerts", headers=AUTH)).status_code == 401
    assert len(await open_groups(hub)) == 1


async def test_get_alerts_on_a_hub_without_intake_is_an_empty_list(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "hub.db", tokens={"x": HUB_TOKEN}) as hub:
        assert hub.intake is None
        assert await open_groups(hub) == []


async def test_expect_100_continue_is_answered_before_the_body_is_sent(hub: HubServer) -> None:
    """curl sends ``Expect: 100-continue`` for bodies over 1 KiB and waits for the go-ahead."""
    body = json.dumps(alertmanager()).encode()
    assert hub.intake is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.intake.port)
    writer.write(
        b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {SECRET}\r\nContent-Length: {len(body)}\r\n".encode()
        + b"Expect: 100-continue\r\n\r\n"
    )
    await writer.drain()
    go_ahead = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert go_ahead.startswith(b"HTTP/1.1 100")
    writer.write(body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    writer.close()


async def test_a_join_code_guest_cannot_read_the_hubs_alerts(hub: HubServer) -> None:
    await post(hub, "/alerts/alertmanager", alertmanager())
    incident = await declare_incident(hub.url, name="ana", token=HUB_TOKEN)
    ana = await client(hub.url, "ana", "ic", incident, token=HUB_TOKEN)
    issued = new_join_code(incident)
    ack = await ana.post(JoinCodeCreated(code_id=issued.code_id, digest=issued.digest, label="v"))
    assert ack.op == "ack"
    await ana.close()
    async with httpx.AsyncClient() as http:
        guest = await http.get(http_url(hub) + "/alerts", headers={JOIN_CODE_HEADER: issued.code})
        assert guest.status_code == 403
        assert guest.json()["error"] == "forbidden"
    assert len(await open_groups(hub)) == 1


def test_a_taken_intake_port_stops_serve_with_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "hub.toml"
        config.write_text(
            f'[hub]\nport = 0\ndb = "{tmp_path / "w.db"}"\n[intake]\nport = {port}\n'
            f'[intake.credentials]\nam = "{SECRET}"\n'
        )
        done = subprocess.run(
            [sys.executable, "-m", "warroom", "serve", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"warroom serve: the alert intake cannot listen on 127.0.0.1:{port}")
    assert "[intake] port" in line


async def test_a_notification_the_database_cannot_take_is_503_so_the_sender_retries(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    async with running_hub(db, tokens={"x": HUB_TOKEN}, intake=intake()) as hub:
        assert hub.alerts is not None
        # Another process holds the write lock past the busy timeout: the commit cannot happen.
        blocker = sqlite3.connect(db, isolation_level=None)
        hub.alerts.writer.execute("PRAGMA busy_timeout=50")
        blocker.execute("BEGIN IMMEDIATE")
        try:
            answer = await post(hub, "/alerts/alertmanager", alertmanager())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert answer.status_code == 503
        assert answer.json()["error"] == "unavailable"
        assert count(db, "alert_changes") == 0
        # Once the database is free again, the sender's retry is stored.
        assert (await post(hub, "/alerts/alertmanager", alertmanager())).status_code == 200
        assert count(db, "alert_changes") == 1
