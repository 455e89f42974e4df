"""The export's alert tables and the postmortem's first alert, from the scripted incident (an
Alertmanager group attached at 12:20, resolved at 12:24, made a fact at 12:25)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.scripted_incident import INCIDENT_ID, ScriptedRun, recorded_once
from tests.test_export_docs import export_db  # noqa: F401 (the export of the scripted run)
from warroom.export.postmortem import draft
from warroom.export.sources import DatabaseSource


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    return recorded_once(tmp_path_factory.mktemp("scripted"))


@pytest.fixture(scope="module")
def db(export_db: Path) -> sqlite3.Connection:  # noqa: F811 (the imported fixture)
    conn = sqlite3.connect(export_db)
    conn.row_factory = sqlite3.Row
    return conn


def test_the_attached_group_is_exported_with_its_first_alert(db: sqlite3.Connection) -> None:
    (group,) = [dict(r) for r in db.execute("SELECT * FROM alert_groups")]
    assert group["source"] == "alertmanager"
    assert group["summary"] == "Checkout 5xx rate above 5% for 5 minutes"
    assert group["starts_at"] == "2026-03-14T08:50:00+00:00"
    assert (group["firing"], group["resolved"]) == (0, 1)
    assert (group["attached_by"], group["attached_at"]) == ("bo", "2026-03-14T12:20:00+00:00")


def test_each_notification_is_exported_with_the_fact_it_became(db: sqlite3.Connection) -> None:
    (note,) = [dict(r) for r in db.execute("SELECT * FROM alert_notifications")]
    assert note["text"] == "alertmanager: CheckoutErrorRate resolved at 12:24, firing 0 of 1"
    assert (note["firing"], note["resolved"], note["changes"]) == (0, 1, 1)
    fact = db.execute("SELECT * FROM facts WHERE no = ?", [note["fact_no"]]).fetchone()
    assert fact["text"] == note["text"] and fact["author"] == "dee"
    event = db.execute("SELECT type, actor FROM events WHERE seq = ?", [note["seq"]]).fetchone()
    assert tuple(event) == ("alert_notified", "warroom")
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_postmortem_gives_the_first_alert_beside_the_detection_time(
    scripted: ScriptedRun,
) -> None:
    source = DatabaseSource(scripted.db)
    try:
        text = draft(None, source.events(INCIDENT_ID))
    finally:
        source.close()
    row = "| first alert (alertmanager: Checkout 5xx rate above 5% for 5 minutes) | 2026-03-14 08:50 UTC |"
    assert row in text
    assert text.index("| detected |") < text.index(row) < text.index("| declared |")


def test_no_alert_tables_rows_without_alerts(tmp_path: Path) -> None:
    from warroom.core.state import IncidentState
    from warroom.export.alerts import alert_tables, first_alert

    assert [rows for _, rows in alert_tables(IncidentState())] == [[], []]
    assert first_alert(IncidentState()) is None
