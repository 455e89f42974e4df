"""The core's reading of alert notifications and its rules for repeated and late deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.alert_payloads import alertmanager, am_alert, grafana, grafana_alert
from warroom.core.alerts import (
    AlertSource,
    AlertStatus,
    BadPayload,
    MalformedJSON,
    merge_alert,
    parse_alertmanager,
    parse_grafana,
    severity_of,
)
from warroom.core.severity import Severity


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_alertmanager_payload_is_read_with_its_group_and_times() -> None:
    note = parse_alertmanager(body(alertmanager()))
    assert note.source == AlertSource.ALERTMANAGER
    assert note.group_key == '{}/{severity="critical"}:{alertname="HighErrorRate"}'
    assert note.group_labels == {"alertname": "HighErrorRate"}
    (alert,) = note.alerts
    assert alert.fingerprint == "1a30ba71cca2921f"
    assert alert.status == AlertStatus.FIRING
    assert alert.starts_at == datetime(2026, 3, 14, 8, 52, 26, 739000, tzinfo=UTC)
    assert alert.ends_at is None  # Go's zero time means "no end yet"
    assert note.group_id.startswith("ag-")
    assert note.group_id == parse_alertmanager(body(alertmanager())).group_id


def test_grafana_payload_groups_by_its_group_labels_and_keeps_the_panel_link() -> None:
    note = parse_grafana(body(grafana()))
    assert note.source == AlertSource.GRAFANA
    assert 'alertname="High memory usage"' in note.group_key
    (alert,) = note.alerts
    # startsAt with its +02:00 offset, kept as the same instant in UTC
    assert alert.starts_at == datetime(2026, 3, 14, 7, 51, 3, 157076, tzinfo=UTC)
    assert alert.dashboard_url == "https://grafana.example.com/d/abc?viewPanel=1"
    other = grafana()
    other["groupLabels"] = {"alertname": "Disk full"}
    assert parse_grafana(body(other)).group_id != note.group_id


def test_missing_fingerprint_is_derived_from_the_labels() -> None:
    first, second = am_alert(), am_alert()
    del first["fingerprint"], second["fingerprint"]
    second["labels"] = dict(reversed(list(second["labels"].items())))
    one = parse_alertmanager(body(alertmanager(first))).alerts[0]
    two = parse_alertmanager(body(alertmanager(second))).alerts[0]
    assert one.fingerprint and one.fingerprint == two.fingerprint


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.pop("groupKey"), "groupKey"),
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.update(alerts=[]), "alerts"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts.0.startsAt"),
        (lambda p: p["alerts"][0].update(startsAt="2026-03-14T08:52:26"), "offset"),
        (lambda p: p["alerts"][0].update(labels={}), "label"),
        (lambda p: p["alerts"][0]["labels"].update(severity=3), "alerts.0.labels.severity"),
    ],
)
def test_wrong_shapes_are_refused_with_one_line_naming_the_field(change, reason) -> None:  # type: ignore[no-untyped-def]
    payload = alertmanager()
    change(payload)
    with pytest.raises(BadPayload) as refused:
        parse_alertmanager(body(payload))
    message = str(refused.value)
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b""])
def test_malformed_json_is_its_own_refusal(raw: bytes) -> None:
    with pytest.raises(MalformedJSON):
        parse_alertmanager(raw)
    with pytest.raises(MalformedJSON):
        parse_grafana(raw)


def test_a_json_array_is_a_wrong_shape_not_malformed() -> None:
    with pytest.raises(BadPayload) as refused:
        parse_alertmanager(b"[]")
    assert not isinstance(refused.value, MalformedJSON)


def _alert(status: str, starts: str) -> object:
    return parse_alertmanager(body(alertmanager(am_alert(status=status, starts_at=starts)))).alerts[
        0
    ]


def test_merge_redelivery_is_not_news_and_resolving_is() -> None:
    firing = _alert("firing", "2026-03-14T08:00:00Z")
    resolved = _alert("resolved", "2026-03-14T08:00:00Z")
    assert merge_alert(None, firing) == firing
    assert merge_alert(firing, firing) is None
    assert merge_alert(firing, resolved) == resolved
    assert merge_alert(resolved, resolved) is None


def test_merge_a_late_firing_never_undoes_a_resolve_but_a_new_occurrence_fires() -> None:
    firing = _alert("firing", "2026-03-14T08:00:00Z")
    resolved = _alert("resolved", "2026-03-14T08:00:00Z")
    again = _alert("firing", "2026-03-14T09:00:00Z")
    older = _alert("resolved", "2026-03-14T07:00:00Z")
    assert merge_alert(resolved, firing) is None
    assert merge_alert(resolved, again) == again
    assert merge_alert(again, older) is None


def test_severity_is_the_worst_mapped_label_case_insensitively() -> None:
    assert severity_of([{"severity": "warning"}, {"severity": "CRITICAL"}]) == Severity.SEV1
    assert severity_of([{"severity": "info"}]) == Severity.SEV4
    assert severity_of([{"severity": "unheard-of"}, {}]) is None
    custom = {"p1": Severity.SEV1, "p3": Severity.SEV3}
    assert severity_of([{"priority": "P3"}], custom, label="priority") == Severity.SEV3
    assert severity_of([{"severity": "critical"}], custom, label="priority") is None


def test_grafana_without_group_labels_uses_its_group_key() -> None:
    payload = grafana(grafana_alert())
    payload["groupLabels"] = {}
    note = parse_grafana(body(payload))
    assert note.group_key.endswith(payload["groupKey"])
    del payload["groupKey"]
    with pytest.raises(BadPayload):
        parse_grafana(body(payload))
