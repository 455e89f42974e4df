"""Alerts from monitoring: the senders' webhook payloads, read into one shape, and the rules that
turn a stream of (possibly repeated, possibly late) notifications into alert groups.

Two senders are understood:

* Prometheus **Alertmanager**'s webhook receiver (payload ``version`` "4"): a notification is one
  group (``groupKey``) with its alerts, each firing or resolved, identified by ``fingerprint``.
* **Grafana** alerting's webhook contact point: the same shape with a few more fields (``orgId``,
  ``dashboardURL``, ``panelURL``, ``values``...). Grafana groups by its notification policy's group
  labels, so its groups are keyed by those (with the org and receiver).

Senders retry, and a retry can arrive after a newer notification: :func:`merge_alert` decides,
alert by alert, whether what arrived is news, so a redelivery stores nothing new and a stale
"firing" never undoes a later "resolved".

Pure: no I/O here. The hub parses bodies with :func:`parse_alertmanager` / :func:`parse_grafana`
and stores the result (``warroom.hub.alert_store``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warroom.core.severity import Severity

#: Alertmanager writes Go's zero time for "no end known yet" (a firing alert).
_GO_ZERO_YEAR = 1
#: Annotation names that carry a runbook or a dashboard link, in order of preference.
RUNBOOK_KEYS = ("runbook_url", "runbook", "runbookURL")
DASHBOARD_KEYS = ("dashboard_url", "dashboard", "dashboardURL", "grafana_url")
#: The label that names an alert's severity, unless the hub's ``[intake]`` says otherwise.
DEFAULT_SEVERITY_LABEL = "severity"
#: Label value -> warroom severity, unless the hub's ``[intake] severity`` says otherwise.
DEFAULT_SEVERITY_MAP: dict[str, Severity] = {
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "warning": Severity.SEV3,
    "minor": Severity.SEV3,
    "info": Severity.SEV4,
}


class AlertSource(StrEnum):
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class BadPayload(ValueError):
    """A body that is not a notification of the expected shape; the message is one line."""


class MalformedJSON(BadPayload):
    """The body is not JSON at all."""


Labels = dict[str, str]


class _Sent(BaseModel):
    """Fields as the sender spells them; unknown fields are ignored (senders add fields)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class SentAlert(_Sent):
    """One alert of a notification, as Alertmanager and Grafana both send it."""

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""
    # Grafana only
    dashboard_url: str = Field(default="", alias="dashboardURL")
    panel_url: str = Field(default="", alias="panelURL")
    silence_url: str = Field(default="", alias="silenceURL")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a time must carry its offset (RFC 3339)")
        if value.year <= _GO_ZERO_YEAR:
            return None  # Go's zero time: no end yet
        return value.astimezone(UTC)

    @field_validator("labels")
    @classmethod
    def _has_labels(cls, value: Labels) -> Labels:
        if not value:
            raise ValueError("an alert needs at least one label")
        return value


class AlertmanagerPayload(_Sent):
    """Alertmanager's webhook body, version 4."""

    version: str
    group_key: Annotated[str, Field(min_length=1, alias="groupKey")]
    status: AlertStatus
    receiver: str = ""
    alerts: Annotated[list[SentAlert], Field(min_length=1)]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: Annotated[int, Field(ge=0)] = Field(default=0, alias="truncatedAlerts")

    @field_validator("version")
    @classmethod
    def _version_4(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f"only Alertmanager's payload version 4 is understood, not {value!r}")
        return value


class GrafanaPayload(_Sent):
    """Grafana alerting's webhook contact point body."""

    status: AlertStatus
    receiver: str = ""
    alerts: Annotated[list[SentAlert], Field(min_length=1)]
    org_id: int = Field(default=0, alias="orgId")
    group_key: str = Field(default="", alias="groupKey")
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: Annotated[int, Field(ge=0)] = Field(default=0, alias="truncatedAlerts")


class AlertChange(BaseModel):
    """One alert as a notification reports it: the unit that is stored once per state change."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    status: AlertStatus
    labels: Labels
    annotations: Labels
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    dashboard_url: str = ""


class Notification(BaseModel):
    """One delivery from a sender, in the sender-independent shape the hub stores."""

    model_config = ConfigDict(frozen=True)

    source: AlertSource
    #: Stable across deliveries for one group: what groups are keyed by.
    group_key: str
    receiver: str
    group_labels: Labels
    common_labels: Labels
    common_annotations: Labels
    external_url: str
    alerts: tuple[AlertChange, ...]
    truncated_alerts: int = 0

    @property
    def group_id(self) -> str:
        """The group's id: short, stable, and free of the sender's punctuation."""
        raw = f"{self.source}\0{self.group_key}".encode()
        return f"ag-{hashlib.sha256(raw).hexdigest()[:16]}"


# --- parsing ----------------------------------------------------------------------------------
def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedJSON(f"the body is not JSON: {exc}") from None


def _one_line(error: ValidationError) -> str:
    """The first problem of ``error`` as ``where: what``, for an HTTP 400 body."""
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "body"
    what = problem["msg"]
    if problem["type"] in ("value_error", "assertion_error") and "error" in problem.get("ctx", {}):
        what = str(problem["ctx"]["error"])
    more = len(error.errors()) - 1
    return f"{where}: {what}" + (f" (and {more} more problem(s))" if more else "")


_Payload = TypeVar("_Payload", bound=BaseModel)


def _payload(body: bytes, model: type[_Payload], sender: str) -> _Payload:
    """The body read as ``sender``'s webhook payload; :class:`BadPayload` in one line if not."""
    data = _decode(body)
    if not isinstance(data, dict):
        raise BadPayload(f"the body must be a JSON object ({sender}'s webhook payload)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadPayload(_one_line(exc)) from None


def _notification(
    source: AlertSource, group_key: str, sent: AlertmanagerPayload | GrafanaPayload
) -> Notification:
    """The fields both senders share, read the same way."""
    return Notification(
        source=source,
        group_key=group_key,
        receiver=sent.receiver,
        group_labels=sent.group_labels,
        common_labels=sent.common_labels,
        common_annotations=sent.common_annotations,
        external_url=sent.external_url,
        alerts=tuple(_change(alert) for alert in sent.alerts),
        truncated_alerts=sent.truncated_alerts,
    )


def parse_alertmanager(body: bytes) -> Notification:
    """An Alertmanager webhook body as a notification; :class:`BadPayload` if it is not one."""
    sent = _payload(body, AlertmanagerPayload, "Alertmanager")
    return _notification(AlertSource.ALERTMANAGER, sent.group_key, sent)


def parse_grafana(body: bytes) -> Notification:
    """A Grafana webhook contact point body as a notification; :class:`BadPayload` if not one.

    Grafana's group is its notification policy's group labels (with the org and the contact
    point, which may group differently); with no group labels (``group_by: ['...']`` off), the
    ``groupKey`` it sends is used instead.
    """
    sent = _payload(body, GrafanaPayload, "Grafana")
    if sent.group_labels:
        key = f"org={sent.org_id} receiver={sent.receiver} {canonical_labels(sent.group_labels)}"
    elif sent.group_key:
        key = f"org={sent.org_id} {sent.group_key}"
    else:
        raise BadPayload("groupLabels: Grafana sends the group's labels; none were given")
    return _notification(AlertSource.GRAFANA, key, sent)


def canonical_labels(labels: Mapping[str, str]) -> str:
    """Labels as one stable text (sorted, quoted), like Alertmanager's own label sets."""
    return "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A fingerprint for a sender that sent none: the same labels give the same alert."""
    return hashlib.sha256(canonical_labels(labels).encode()).hexdigest()[:16]


def _change(alert: SentAlert) -> AlertChange:
    return AlertChange(
        fingerprint=alert.fingerprint or fingerprint_of(alert.labels),
        status=alert.status,
        labels=alert.labels,
        annotations=alert.annotations,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.status == AlertStatus.RESOLVED else None,
        generator_url=alert.generator_url,
        dashboard_url=alert.panel_url or alert.dashboard_url,
    )


# --- the rules --------------------------------------------------------------------------------
class KnownState(Protocol):
    """What :func:`merge_alert` reads of the alert as known: its state and its start."""

    @property
    def status(self) -> AlertStatus: ...

    @property
    def starts_at(self) -> datetime: ...


def merge_alert(current: KnownState | None, incoming: AlertChange) -> AlertChange | None:
    """What an alert becomes when ``incoming`` arrives, or None if it is not news.

    * the same occurrence (same ``startsAt``) in the same state: a redelivery, nothing new;
    * an occurrence that started before the one known: a late delivery, ignored;
    * a "firing" for an occurrence already known resolved: a late delivery, ignored (once
      resolved, an occurrence stays resolved; a new firing has a new ``startsAt``);
    * anything else (first sight, resolving, firing again later) is news.
    """
    if current is None:
        return incoming
    if incoming.starts_at < current.starts_at:
        return None
    if incoming.starts_at == current.starts_at:
        if incoming.status == current.status:
            return None
        if current.status == AlertStatus.RESOLVED:
            return None
    return incoming


def first_of(maps: Iterable[Mapping[str, str]], keys: Iterable[str]) -> str:
    """The first non-empty value of any of ``keys`` in the first map that has one."""
    wanted = tuple(keys)
    for values in maps:
        for key in wanted:
            value = values.get(key, "").strip()
            if value:
                return value
    return ""


def severity_of(
    labels: Iterable[Mapping[str, str]],
    mapping: Mapping[str, Severity] | None = None,
    label: str = DEFAULT_SEVERITY_LABEL,
) -> Severity | None:
    """The most severe level any of ``labels`` maps to (a mixed group pages as its worst alert);
    None when no label value is in the mapping. Label values are compared case-insensitively."""
    table = {k.lower(): v for k, v in (mapping or DEFAULT_SEVERITY_MAP).items()}
    found = [table[v.lower()] for ls in labels if (v := ls.get(label)) and v.lower() in table]
    return min(found, key=lambda s: s.level) if found else None
