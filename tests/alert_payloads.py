"""Notification bodies built to the senders' documented shapes (Alertmanager's webhook payload
version 4; Grafana alerting's webhook contact point), for the intake's tests."""

from __future__ import annotations

from typing import Any

GO_ZERO = "0001-01-01T00:00:00Z"


def am_alert(
    name: str = "HighErrorRate",
    fingerprint: str = "1a30ba71cca2921f",
    status: str = "firing",
    starts_at: str = "2026-03-14T08:52:26.739Z",
    ends_at: str = GO_ZERO,
    **labels: str,
) -> dict[str, Any]:
    labels = {"alertname": name, "service": "checkout", "severity": "critical", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": "Checkout 5xx above 5%",
            "description": "checkout-api returns 5xx for 7% of requests in eu-west-1.",
            "runbook_url": "https://runbooks.example.com/checkout/5xx",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=rate",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts: dict[str, Any], group_key: str | None = None) -> dict[str, Any]:
    alerts = alerts or (am_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key or '{}/{severity="critical"}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "warroom",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "service": "checkout"},
        "commonAnnotations": {"summary": "Checkout 5xx above 5%"},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": list(alerts),
    }


def grafana_alert(
    name: str = "High memory usage",
    fingerprint: str = "c6eadffa33fcdf37",
    status: str = "firing",
    starts_at: str = "2026-03-14T09:51:03.157076+02:00",
    ends_at: str = GO_ZERO,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "team": "blue", "zone": "us-1", "severity": "warning"},
        "annotations": {
            "description": "The system has high memory usage",
            "runbook_url": "https://myrunbook.com/runbook/1234",
            "summary": "This alert was triggered for zone us-1",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "https://grafana.example.com/alerting/1afz29v7z/edit",
        "fingerprint": fingerprint,
        "silenceURL": "https://grafana.example.com/alerting/silence/new",
        "dashboardURL": "https://grafana.example.com/d/abc",
        "panelURL": "https://grafana.example.com/d/abc?viewPanel=1",
        "values": {"B": 44.23943737541908, "C": 1},
        "valueString": "[ var='B' labels={} value=44.2 ]",
    }


def grafana(*alerts: dict[str, Any]) -> dict[str, Any]:
    alerts = alerts or (grafana_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "warroom",
        "status": "firing" if firing else "resolved",
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "High memory usage", "grafana_folder": "infra"},
        "commonLabels": {"team": "blue"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.com/",
        "version": "1",
        "groupKey": '{}/{team="blue"}:{alertname="High memory usage"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] High memory usage",
        "state": "alerting",
        "message": "**Firing**",
    }
