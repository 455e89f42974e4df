"""Alert groups, kept durably in the hub's database beside the incidents.

Three tables, created here (``IF NOT EXISTS``) rather than in the incident log's schema, since
alerts arrive from outside any incident:

* ``alert_groups``: one row per group as the sender grouped it (its labels, summary, description,
  earliest ``startsAt``, firing and resolved counts, runbook and dashboard links, and later the
  incident it is tied to or why it was dismissed);
* ``alerts``: each alert of a group, by fingerprint, in its latest known state;
* ``alert_changes``: each state change of an alert, stored once however often it is redelivered
  (unique on group, fingerprint, status and ``startsAt``).

A notification is written in one transaction and committed before the sender is answered, so an
answered notification is never lost; a redelivery writes nothing at all. Writes run on a worker
thread (``record`` is blocking), serialised by a lock; reads use a connection of their own, which
in WAL mode never waits for a writer.

The tables live in the hub's database, SQLite file or PostgreSQL (``server/storage_sql.py``). On
PostgreSQL several hubs may receive notifications of one group: each write takes the group's
lock in the database, so the second hub sees what the first stored and a change is news (and
goes on a timeline) once, whichever hub it reached.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from warroom.hub.storage_sql import Sql, open_sql

from warroom.core.alerts import (
    DASHBOARD_KEYS,
    RUNBOOK_KEYS,
    AlertChange,
    AlertStatus,
    KnownState,
    Notification,
    first_of,
    merge_alert,
    severity_of,
)
from warroom.core.alerts_incident import DEFAULT_SCOPE_LABELS, scope_of
from warroom.core.severity import Severity

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alert_groups (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        group_key TEXT NOT NULL,
        receiver TEXT NOT NULL,
        group_labels TEXT NOT NULL,
        common_labels TEXT NOT NULL,
        summary TEXT NOT NULL,
        description TEXT NOT NULL,
        runbook_url TEXT NOT NULL,
        dashboard_url TEXT NOT NULL,
        generator_url TEXT NOT NULL,
        external_url TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        firing INTEGER NOT NULL,
        resolved INTEGER NOT NULL,
        truncated_alerts INTEGER NOT NULL,
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        incident_id TEXT,
        dismissed_reason TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS alerts (
        group_id TEXT NOT NULL REFERENCES alert_groups(id) DEFERRABLE INITIALLY DEFERRED,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT,
        generator_url TEXT NOT NULL,
        dashboard_url TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (group_id, fingerprint)
    )""",
    """CREATE TABLE IF NOT EXISTS alert_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id TEXT NOT NULL REFERENCES alert_groups(id) DEFERRABLE INITIALLY DEFERRED,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT,
        received_at TEXT NOT NULL,
        UNIQUE (group_id, fingerprint, status, starts_at)
    )""",
    # (The references are checked at commit on PostgreSQL, since a new group's row is written
    # after its alerts; SQLite does not check them.)
    "CREATE INDEX IF NOT EXISTS alert_groups_open ON alert_groups (firing, incident_id)",
    # What people did with a group (attached it to an incident, dismissed it), in order: the
    # record of decisions about groups that are no incident's events. ``command_id`` makes a
    # retried dismissal a no-op.
    """CREATE TABLE IF NOT EXISTS alert_group_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        command_id TEXT NOT NULL UNIQUE,
        group_id TEXT NOT NULL REFERENCES alert_groups(id) DEFERRABLE INITIALLY DEFERRED,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        incident_id TEXT,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class Recorded:
    """What one notification changed: its group, and how many alert state changes were new."""

    group_id: str
    changes: int
    created: bool
    #: The alert state changes that were news, in the order the notification listed them.
    news: tuple[AlertChange, ...] = ()
    #: The incident the group is tied to (its news goes to that incident's timeline), if any.
    incident_id: str | None = None
    #: The group's counts and summary after this notification.
    firing: int = 0
    resolved: int = 0
    summary: str = ""
    link: str = ""


class _Known(NamedTuple):
    status: AlertStatus
    starts_at: datetime


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class AlertStore:
    """The alert tables of the hub's database (a SQLite file or a PostgreSQL URL)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self._write_lock = threading.Lock()
        self.writer: Sql = open_sql(path, synchronous)
        with self._write_lock:
            self.writer.ensure(SCHEMA)
        # ":memory:" is one database per connection: read through the writer's then.
        same = str(path) == ":memory:"
        self.reader: Sql = self.writer if same else open_sql(path, synchronous)

    def close(self) -> None:
        with self._write_lock:
            if self.reader is not self.writer:
                self.reader.close()
            self.writer.close()

    # --- writing ------------------------------------------------------------------------------
    def record(self, notification: Notification, received_at: datetime) -> Recorded:
        """Store what is new in ``notification``, in one transaction (blocking: run it on a
        worker thread)."""
        key = f"alert group {notification.group_id}"
        with self._write_lock, self.writer.write(key) as db:
            return self._record(db, notification, received_at)

    def _record(self, db: Sql, note: Notification, received_at: datetime) -> Recorded:
        group_id = note.group_id
        now = received_at.isoformat()
        known = db.execute("SELECT 1 FROM alert_groups WHERE id = ?", [group_id]).fetchone()
        # Most deliveries repeat what is known (senders resend whole groups, retry, flood):
        # decided on each alert's state and start alone, without reading its labels back.
        states = self._states(db, group_id)
        news: list[AlertChange] = []
        # One notification may list a fingerprint twice: the later entry is merged on the first.
        for alert in note.alerts:
            merged = merge_alert(states.get(alert.fingerprint), alert)
            if merged is not None:
                states[alert.fingerprint] = merged
                news.append(merged)
        if known and not news:
            return Recorded(group_id, 0, created=False)
        current = self._alerts(db, group_id)
        current.update({alert.fingerprint: alert for alert in news})
        changes = 0
        for alert in news:
            db.execute(
                "INSERT INTO alerts (group_id, fingerprint, status, labels, annotations, "
                "starts_at, ends_at, generator_url, dashboard_url, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(group_id, fingerprint) DO "
                "UPDATE SET status = excluded.status, labels = excluded.labels, "
                "annotations = excluded.annotations, starts_at = excluded.starts_at, "
                "ends_at = excluded.ends_at, generator_url = excluded.generator_url, "
                "dashboard_url = excluded.dashboard_url, updated_at = excluded.updated_at",
                [
                    group_id,
                    alert.fingerprint,
                    alert.status.value,
                    json.dumps(alert.labels, sort_keys=True),
                    json.dumps(alert.annotations, sort_keys=True),
                    _iso(alert.starts_at),
                    _iso(alert.ends_at),
                    alert.generator_url,
                    alert.dashboard_url,
                    now,
                ],
            )
            cursor = db.execute(
                "INSERT INTO alert_changes (group_id, fingerprint, status, starts_at, "
                "ends_at, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    group_id,
                    alert.fingerprint,
                    alert.status.value,
                    _iso(alert.starts_at),
                    _iso(alert.ends_at),
                    now,
                ],
            )
            changes += cursor.rowcount
        self._write_group(db, note, list(current.values()), now, created=not known)
        row = db.execute(
            "SELECT incident_id, firing, resolved, summary, generator_url, dashboard_url "
            "FROM alert_groups WHERE id = ?",
            [group_id],
        ).fetchone()
        return Recorded(
            group_id,
            changes,
            created=not known,
            news=tuple(news),  # a fingerprint listed twice keeps both of its changes
            incident_id=row[0],
            firing=row[1],
            resolved=row[2],
            summary=row[3],
            link=row[5] or row[4],
        )

    @staticmethod
    def _states(db: Sql, group_id: str) -> dict[str, KnownState]:
        """Each known alert's state and start: all :func:`merge_alert` reads."""
        rows = db.execute(
            "SELECT fingerprint, status, starts_at FROM alerts WHERE group_id = ?", [group_id]
        ).fetchall()
        return {
            fingerprint: _Known(AlertStatus(status), datetime.fromisoformat(starts_at))
            for fingerprint, status, starts_at in rows
        }

    @staticmethod
    def _alerts(db: Sql, group_id: str) -> dict[str, AlertChange]:
        rows = db.execute(
            "SELECT fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, "
            "dashboard_url FROM alerts WHERE group_id = ?",
            [group_id],
        ).fetchall()
        return {
            row[0]: AlertChange(
                fingerprint=row[0],
                status=AlertStatus(row[1]),
                labels=json.loads(row[2]),
                annotations=json.loads(row[3]),
                starts_at=datetime.fromisoformat(row[4]),
                ends_at=datetime.fromisoformat(row[5]) if row[5] else None,
                generator_url=row[6],
                dashboard_url=row[7],
            )
            for row in rows
        }

    @staticmethod
    def _write_group(
        db: Sql,
        note: Notification,
        alerts: list[AlertChange],
        now: str,
        created: bool,
    ) -> None:
        firing = [a for a in alerts if a.status == AlertStatus.FIRING]
        # Firing alerts describe the group best; the sender's common annotations first.
        notes = [note.common_annotations, *(a.annotations for a in firing)]
        notes += [a.annotations for a in alerts]
        labels = [note.group_labels, note.common_labels, *(a.labels for a in alerts)]
        summary = first_of(notes, ("summary", "title")) or first_of(labels, ("alertname",))
        description = first_of(notes, ("description", "message"))
        runbook = first_of(notes, RUNBOOK_KEYS)
        dashboard = first_of([{"d": a.dashboard_url} for a in firing + alerts], ("d",))
        dashboard = dashboard or first_of(notes, DASHBOARD_KEYS)
        generator = first_of([{"g": a.generator_url} for a in firing + alerts], ("g",))
        values = {
            "source": note.source.value,
            "group_key": note.group_key,
            "receiver": note.receiver,
            "group_labels": json.dumps(note.group_labels, sort_keys=True),
            "common_labels": json.dumps(note.common_labels, sort_keys=True),
            "summary": summary,
            "description": description,
            "runbook_url": runbook,
            "dashboard_url": dashboard,
            "generator_url": generator,
            "external_url": note.external_url,
            "starts_at": _iso(min(a.starts_at for a in alerts)) if alerts else now,
            "firing": len(firing),
            "resolved": len(alerts) - len(firing),
            "truncated_alerts": note.truncated_alerts,
            "updated_at": now,
        }
        if created:
            columns = ["id", *values, "first_seen_at"]
            db.execute(
                f"INSERT INTO alert_groups ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [note.group_id, *values.values(), now],
            )
        else:
            sets = ", ".join(f"{column} = ?" for column in values)
            db.execute(
                f"UPDATE alert_groups SET {sets} WHERE id = ?", [*values.values(), note.group_id]
            )

    # --- reading ------------------------------------------------------------------------------
    def open_groups(
        self,
        severity: Mapping[str, Severity] | None = None,
        severity_label: str = "severity",
        scope_labels: tuple[str, ...] = DEFAULT_SCOPE_LABELS,
    ) -> list[dict[str, Any]]:
        """Firing groups not tied to an incident nor dismissed, earliest first, with the
        severity the label mapping gives (None when no label matches) and the scope their
        labels name (``service=checkout, region=eu-west-1``)."""
        rows = self.reader.execute(
            "SELECT * FROM alert_groups WHERE firing > 0 AND incident_id IS NULL "
            "AND dismissed_reason IS NULL ORDER BY starts_at, id"
        )
        columns = [c[0] for c in rows.description]
        groups = [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]
        for group in groups:
            group["group_labels"] = json.loads(group["group_labels"])
            group["common_labels"] = json.loads(group["common_labels"])
            self._describe(group, severity, severity_label, scope_labels)
        return groups

    def label_sets(self, group: dict[str, Any]) -> list[dict[str, str]]:
        """The label sets a group is described by: the sender's common and group labels, and
        each firing alert's."""
        firing = [
            json.loads(text)
            for (text,) in self.reader.execute(
                "SELECT labels FROM alerts WHERE group_id = ? AND status = 'firing'",
                [group["id"]],
            )
        ]
        return [group["common_labels"], group["group_labels"], *firing]

    def _describe(
        self,
        group: dict[str, Any],
        severity: Mapping[str, Severity] | None,
        severity_label: str,
        scope_labels: tuple[str, ...],
    ) -> None:
        labels = self.label_sets(group)
        level = severity_of(labels, severity, severity_label)
        group["severity"] = level.value if level is not None else None
        group["scope"] = scope_of(labels, scope_labels)

    def described(
        self,
        group_id: str,
        severity: Mapping[str, Severity] | None = None,
        severity_label: str = "severity",
        scope_labels: tuple[str, ...] = DEFAULT_SCOPE_LABELS,
    ) -> dict[str, Any] | None:
        """One group as ``open_groups`` lists it (whatever its state), or None."""
        group = self.group(group_id)
        if group is not None:
            self._describe(group, severity, severity_label, scope_labels)
        return group

    def group(self, group_id: str) -> dict[str, Any] | None:
        """One group's row (labels decoded), or None when the hub has no such group."""
        rows = self.reader.execute("SELECT * FROM alert_groups WHERE id = ?", [group_id])
        columns = [c[0] for c in rows.description]
        row = rows.fetchone()
        if row is None:
            return None
        group = dict(zip(columns, row, strict=True))
        group["group_labels"] = json.loads(group["group_labels"])
        group["common_labels"] = json.loads(group["common_labels"])
        return group

    def act(
        self,
        command_id: str,
        group_id: str,
        action: str,
        actor: str,
        at: datetime,
        incident_id: str | None = None,
        reason: str = "",
    ) -> bool:
        """Record what someone did with a group (``attached``, ``dismissed``, ``released``) and
        tie, dismiss or untie it, in one transaction; False if ``command_id`` was already recorded
        (a retry). A group attached to an incident stays with the first incident it was attached
        to until that incident is closed (``released``)."""
        with self._write_lock, self.writer.write(f"alert group {group_id}") as db:
            cursor = db.execute(
                "INSERT INTO alert_group_actions (command_id, group_id, action, actor, "
                "incident_id, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [command_id, group_id, action, actor, incident_id, reason, at.isoformat()],
            )
            if cursor.rowcount and action == "attached":
                db.execute(
                    "UPDATE alert_groups SET incident_id = ?, dismissed_reason = NULL "
                    "WHERE id = ? AND incident_id IS NULL",
                    [incident_id, group_id],
                )
            elif cursor.rowcount and action == "released":
                db.execute(
                    "UPDATE alert_groups SET incident_id = NULL WHERE id = ? AND incident_id = ?",
                    [group_id, incident_id],
                )
            elif cursor.rowcount and action == "dismissed":
                db.execute(
                    "UPDATE alert_groups SET dismissed_reason = ? WHERE id = ?",
                    [reason, group_id],
                )
            return bool(cursor.rowcount)

    def actions(self, group_id: str | None = None) -> list[dict[str, Any]]:
        """What people did with groups (or with one group), in order."""
        where, args = ("WHERE group_id = ?", [group_id]) if group_id else ("", [])
        rows = self.reader.execute(
            "SELECT command_id, group_id, action, actor, incident_id, reason, at "
            f"FROM alert_group_actions {where} ORDER BY id",
            args,
        )
        columns = [c[0] for c in rows.description]
        return [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]

    def changes(self, group_id: str) -> list[dict[str, Any]]:
        """The group's stored state changes, in the order they arrived."""
        rows = self.reader.execute(
            "SELECT fingerprint, status, starts_at, ends_at, received_at FROM alert_changes "
            "WHERE group_id = ? ORDER BY id",
            [group_id],
        )
        columns = [c[0] for c in rows.description]
        return [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]
