"""Auto-declare rules and the rest of ``[intake]`` issue 20 added (scope labels, how often news
reaches a timeline): off by default; with a rule, a matching firing group becomes an incident the
hub declares, which says so and has no IC until someone claims the role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from warroom.hub.app import HubConfig, HubServer
from warroom.hub.config import read_config_file

from tests.alert_payloads import alertmanager, am_alert
from tests.helpers import client, eventually, running_hub
from tests.test_alerts_intake import HUB_TOKEN, intake, open_groups, post
from warroom.core.alerts_incident import AUTO_DECLARED_NOTE, AutoDeclareRule
from warroom.core.handoff import IcClaimed
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack
from warroom.core.severity import Severity

CHECKOUT = AutoDeclareRule(match={"severity": "critical", "service": "checkout"})


def read(tmp_path: Path, text: str) -> HubConfig:
    path = tmp_path / "hub.toml"
    path.write_text(text + '[intake.credentials]\nam = "a-long-random-secret-123"\n')
    return read_config_file(path, HubConfig())


def test_auto_declare_scope_and_timeline_every_are_read(tmp_path: Path) -> None:
    config = read(
        tmp_path,
        '[intake]\nscope = ["service", "cluster"]\ntimeline_every = 2\n'
        '[[intake.auto_declare]]\nmatch = { severity = "critical", service = "checkout" }\n'
        '[[intake.auto_declare]]\nmatch = { team = "payments" }\nseverity = "sev2"\n',
    )
    assert config.intake is not None
    assert config.intake.scope == ("service", "cluster")
    assert config.intake.timeline_every == 2.0
    assert config.intake.auto_declare == (
        CHECKOUT,
        AutoDeclareRule(match={"team": "payments"}, severity=Severity.SEV2),
    )


def test_auto_declare_is_off_by_default(tmp_path: Path) -> None:
    config = read(tmp_path, "[intake]\n")
    assert config.intake is not None and config.intake.auto_declare == ()


@pytest.fixture
async def hub(hub_db: Path | str) -> AsyncIterator[HubServer]:
    config = intake(timeline_every=0, auto_declare=(CHECKOUT,))
    async with running_hub(hub_db, tokens={"oncall": HUB_TOKEN}, intake=config) as s:
        yield s


async def incidents(hub: HubServer) -> list[dict[str, object]]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            hub.url.replace("ws://", "http://") + "/incidents",
            headers={"Authorization": f"Bearer {HUB_TOKEN}"},
        )
    return answer.json()  # type: ignore[no-any-return]


async def test_a_matching_group_is_declared_by_the_hub_with_no_ic(hub: HubServer) -> None:
    firing = alertmanager(
        am_alert(fingerprint="aaa", starts_at="2026-03-14T08:50:00Z", region="eu-west-1")
    )
    assert (await post(hub, "/alerts/alertmanager", firing)).status_code == 200
    await eventually(lambda: bool(hub.hub.rooms))
    (room,) = hub.hub.rooms.values()
    await eventually(lambda: room.state.alerts.groups != {} and room.state.note_count == 1)
    state = room.state
    assert state.ic is None and state.declared_by == ""
    assert state.title == "Checkout 5xx above 5%" and state.severity == Severity.SEV1
    assert state.detected_at is not None and state.detected_at.isoformat().startswith(
        "2026-03-14T08:50:00"
    )
    assert state.trigger.startswith("Auto-declared by the hub: alertmanager alert HighErrorRate")
    assert await open_groups(hub) == []
    notes = [e for e in hub.store.events(room.incident_id) if isinstance(e, NoteAdded)]
    assert [n.text for n in notes] == [AUTO_DECLARED_NOTE]
    # More notifications of the group never declare a second incident; news goes to the first.
    again = alertmanager(
        am_alert(fingerprint="aaa", starts_at="2026-03-14T08:50:00Z", region="eu-west-1"),
        am_alert(fingerprint="bbb", starts_at="2026-03-14T08:53:00Z", region="us-east-1"),
    )
    await post(hub, "/alerts/alertmanager", again)
    await eventually(lambda: room.state.alerts.firing == 2)
    assert len(await incidents(hub)) == 1
    # Someone claims the IC role, which was vacant.
    ana = await client(hub.url, "ana", "responder", room.incident_id, token=HUB_TOKEN)
    assert isinstance(await ana.post(IcClaimed(previous=None, reason="on call")), Ack)
    assert ana.state.ic == "ana"
    await ana.close()


async def test_a_group_no_rule_matches_waits_for_a_person(hub: HubServer) -> None:
    warning = alertmanager(am_alert(fingerprint="ccc", severity="warning"))
    await post(hub, "/alerts/alertmanager", warning)
    (group,) = await open_groups(hub)
    assert group["severity"] == "SEV3"
    await asyncio.sleep(0.5)  # time enough for a declaration (the matching one takes ~10 ms)
    assert await incidents(hub) == []


async def test_a_dismissed_group_is_never_auto_declared(hub_db: Path | str) -> None:
    from warroom.client.alert_groups import dismiss_group, dismissal

    async with running_hub(hub_db, tokens={"oncall": HUB_TOKEN},
                           intake=intake(timeline_every=0)) as plain:  # fmt: skip
        await post(plain, "/alerts/alertmanager", alertmanager(am_alert(fingerprint="ddd")))
        (group,) = await open_groups(plain)
        await dismiss_group(plain.url, "ana", dismissal(group["id"], "game day"), token=HUB_TOKEN)
    # The same database, now with a rule: the dismissal is remembered.
    config = intake(timeline_every=0, auto_declare=(CHECKOUT,))
    async with running_hub(hub_db, tokens={"oncall": HUB_TOKEN},
                           intake=config) as ruled:  # fmt: skip
        news = alertmanager(
            am_alert(fingerprint="ddd"),
            am_alert(fingerprint="eee", starts_at="2026-03-14T08:58:00Z"),
        )
        assert (await post(ruled, "/alerts/alertmanager", news)).json()["new"] == 1
        await asyncio.sleep(0.5)
        assert await incidents(ruled) == []


def test_the_documented_rules_are_accepted(tmp_path: Path) -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "ALERTS.md").read_text()
    (rules,) = [b for b in re.findall(r"```toml\n(.*?)```", doc, flags=re.S) if "auto_declare" in b]
    config = read(tmp_path, rules)
    assert config.intake is not None and len(config.intake.auto_declare) == 2
