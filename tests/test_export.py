"""The SQLite export of the scripted incident: every table's rows and key values, keys, views, FTS.

The incident is played once per session against a real hub (``tests/scripted_incident.py``) and
exported from the hub's database file; these tests read the export as a reviewer would, with SQL.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_incident import (
    CODE_ID,
    EXTERNAL_HOOK,
    INCIDENT_ID,
    INTERNAL_HOOK,
    TITLE,
    ScriptedRun,
    recorded_once,
)
from warroom.core.events import EVENT_TYPES
from warroom.core.fold import apply
from warroom.core.log import parse_event
from warroom.core.state import IncidentState
from warroom.export.derived import HistoryTracker, incident_row, state_tables
from warroom.export.exporter import export_incidents
from warroom.export.schema import SCHEMA_VERSION, TABLE
from warroom.export.sources import DatabaseSource

EXPORTED_AT = datetime.fromisoformat("2026-03-15T08:00:00+00:00")


@pytest.fixture(scope="session")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    return recorded_once(tmp_path_factory.mktemp("scripted"))


@pytest.fixture(scope="session")
def export_file(scripted: ScriptedRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "review.db"
    source = DatabaseSource(scripted.db)
    try:
        export_incidents(source, out, [INCIDENT_ID], now=EXPORTED_AT)
    finally:
        source.close()
    return out


@pytest.fixture
def db(export_file: Path) -> Any:
    conn = sqlite3.connect(export_file)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def rows(db: sqlite3.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(sql, params)]


def hm(iso: str | None) -> str | None:
    """``HH:MM`` of an ISO time, so expectations read like the story's clock."""
    return datetime.fromisoformat(iso).strftime("%H:%M") if iso else None


# --- the script itself ---------------------------------------------------------------------------
def test_the_scripted_incident_records_every_event_type(scripted: ScriptedRun) -> None:
    """A new event type fails here until the script (and so the export's tests) covers it."""
    source = DatabaseSource(scripted.db)
    try:
        types = {e.type for e in source.events(INCIDENT_ID)}
    finally:
        source.close()
    assert types == set(EVENT_TYPES), (
        f"not in the scripted incident: {sorted(set(EVENT_TYPES) - types)}"
    )


def test_the_webhook_servers_saw_each_attempt(scripted: ScriptedRun) -> None:
    # 8 internal updates delivered at once; the external one failed twice, twice (a retry by hand).
    assert scripted.webhook_posts == {INTERNAL_HOOK: 8, EXTERNAL_HOOK: 4}


# --- the raw log and the timeline -----------------------------------------------------------------
def test_events_hold_the_whole_log_with_payloads(db: sqlite3.Connection, scripted: ScriptedRun):
    events = rows(db, "SELECT * FROM events ORDER BY seq")
    assert len(events) == scripted.events
    assert [e["seq"] for e in events] == list(range(1, scripted.events + 1))
    assert {e["type"] for e in events} == set(EVENT_TYPES)
    assert len({e["id"] for e in events}) == len(events)
    # Each row turns back into the very event the hub stored.
    source = DatabaseSource(scripted.db)
    try:
        for stored, row in zip(source.events(INCIDENT_ID), events, strict=True):
            rebuilt = parse_event({**json.loads(row["payload"]), **{
                k: row[k] for k in ("type", "id", "incident_id", "seq", "at", "actor", "role")
            }})  # fmt: skip
            assert rebuilt == stored
    finally:
        source.close()
    first = events[0]
    assert (first["type"], first["actor"], first["role"]) == ("incident_declared", "pat", "ic")
    assert json.loads(first["payload"])["title"] == TITLE


def test_the_timeline_has_one_readable_line_per_event(db: sqlite3.Connection, scripted):
    timeline = rows(db, "SELECT * FROM timeline ORDER BY seq")
    assert len(timeline) == scripted.events
    by_kind = {t["kind"] for t in timeline}
    assert {"declared", "note", "finding", "command", "decision_heard", "status", "board",
            "decision", "lock", "action", "phase", "severity", "comms", "role", "presence",
            "access", "triage", "times", "escalate", "follow_up", "drill"} <= by_kind  # fmt: skip
    finding = next(t for t in timeline if t["kind"] == "finding")
    assert finding["text"] == (
        "Finding: Pool wait timeouts in the payments-api logs match the 503s one for one"
    )
    assert (finding["actor"], finding["role"], hm(finding["at"])) == ("bo", "lead", "09:34")


def test_full_text_search_finds_a_note(db: sqlite3.Connection):
    found = rows(
        db,
        "SELECT t.seq, t.actor, t.text FROM timeline_fts "
        "JOIN timeline t ON t.rowid = timeline_fts.rowid WHERE timeline_fts MATCH ?",
        "pool wait timeouts logs",
    )
    assert [(f["actor"], f["text"]) for f in found] == [
        ("bo", "Finding: Pool wait timeouts in the payments-api logs match the 503s one for one")
    ]
    # the command pasted with a token was redacted: none of its words can be found
    redacted = "SELECT rowid FROM timeline_fts WHERE timeline_fts MATCH ?"
    assert rows(db, redacted, "kubectl") == []
    assert len(rows(db, redacted, "redacted")) == 2  # the entry's marker and the redaction
    listed = rows(db, "SELECT kind, actor, reason FROM corrections WHERE kind = ?", "redacted")
    assert [(r["kind"], r["actor"], r["reason"]) for r in listed] == [
        ("redacted", "dee", "a service account token was pasted")
    ]
    assert (
        rows(db, "SELECT rowid FROM timeline_fts WHERE timeline_fts MATCH 'nonexistentword'") == []
    )


# --- the incident and its people --------------------------------------------------------------
def test_the_incident_row_has_its_times_and_metrics(db: sqlite3.Connection, scripted):
    [inc] = rows(db, "SELECT * FROM incidents")
    assert inc["id"] == INCIDENT_ID and inc["title"] == TITLE
    assert (inc["severity"], inc["peak_severity"], inc["phase"]) == ("SEV3", "SEV1", "closed")
    assert inc["drill"] == 1 and inc["declared_by"] == "pat"
    assert inc["scope"] == "Card checkout in the EU web shop"
    times = {k: hm(inc[f"{k}_at"]) for k in
             ("started", "detected", "declared", "mitigated", "resolved", "closed")}  # fmt: skip
    assert times == {"started": "08:40", "detected": "08:52", "declared": "09:00",
                     "mitigated": "10:20", "resolved": "12:30", "closed": "12:40"}  # fmt: skip
    assert inc["time_to_detect_s"] == 12 * 60
    assert inc["time_to_declare_s"] == 8 * 60
    assert inc["time_to_mitigate_s"] == 100 * 60  # from the impact start, 08:40 to 10:20
    assert inc["time_to_resolve_s"] == 230 * 60
    assert inc["measured_from"] == "impact_started"
    assert (inc["overdue_updates"], inc["escalations"]) == (1, 1)
    assert inc["resolution"].startswith("Rolled payments-api back to v411")
    assert inc["event_count"] == scripted.events
    assert inc["exported_at"] == EXPORTED_AT.isoformat()
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )


def test_participants_with_their_seats_and_the_guest(db: sqlite3.Connection):
    people = {p["name"]: p for p in rows(db, "SELECT * FROM participants")}
    assert {n: p["seat"] for n, p in people.items()} == {
        # ana asked for the IC seat while pat held it: she joined as a responder (the seat
        # actually taken), then claimed the role (see the roles' spells below).
        "ana": "responder", "bo": "lead", "cy": "comms", "dee": "responder", "eli": "responder",
        "guest:vic": "responder",  # a guest, marked as one
    }  # fmt: skip
    assert people["guest:vic"]["join_code"] == CODE_ID
    assert all(p["join_code"] is None for n, p in people.items() if n != "guest:vic")
    guest = people["guest:vic"]
    assert (hm(guest["joined_at"]), hm(guest["last_seen"])) == ("09:09", "09:16")
    assert hm(people["eli"]["last_seen"]) == "10:15"
    assert not any(p["online_at_export"] for p in people.values())


def test_roles_are_spells_from_and_to(db: sqlite3.Connection):
    spells = [
        (r["role"], r["holder"], hm(r["since"]), hm(r["until"]))
        for r in rows(db, "SELECT * FROM roles ORDER BY since_seq")
    ]
    assert spells == [
        ("ic", "pat", "09:00", "09:01"),  # declared from a phone, never joined
        ("ic", "ana", "09:01", "12:03"),  # claimed; handed over after the rotation hint
        ("lead", "bo", "09:02", None),
        ("comms", "cy", "09:02", None),
        ("scribe", "dee", "09:03", None),
        ("ic", "bo", "12:03", None),
    ]
    [handover] = rows(db, "SELECT * FROM roles WHERE holder = 'bo' AND role = 'ic'")
    [event] = rows(db, "SELECT type FROM events WHERE seq = ?", handover["since_seq"])
    assert event["type"] == "handoff_accepted"


def test_severity_changes_start_with_the_declaration(db: sqlite3.Connection):
    changes = [(c["severity"], hm(c["at"]), c["actor"], c["reason"])
               for c in rows(db, "SELECT * FROM severity_changes ORDER BY seq")]  # fmt: skip
    assert changes == [
        ("SEV2", "09:00", "pat", "declared"),
        (
            "SEV1",
            "09:06",
            "ana",
            "Card payments failing across the EU and the error rate is growing",
        ),
        (
            "SEV3",
            "10:22",
            "ana",
            "Errors at baseline since the rollback; watching for a recurrence",
        ),
    ]


def test_triage_answers_and_who_confirmed_them(db: sqlite3.Connection):
    triage = {t["question"]: t for t in rows(db, "SELECT * FROM triage")}
    assert set(triage) == {"customer_impact", "recent_changes", "trend"}
    assert triage["customer_impact"]["answer"] == (
        "confirmed: about 30% of EU card payments fail with HTTP 503"
    )
    assert triage["customer_impact"]["answered_by"] == "eli"
    assert triage["customer_impact"]["confirmed_by"] == "ana"
    assert triage["trend"]["confirmed_by"] is None  # answered, never confirmed


# --- the board --------------------------------------------------------------------------------
def test_guesses_with_their_outcome(db: sqlite3.Connection):
    guesses = {g["no"]: g for g in rows(db, "SELECT * FROM guesses")}
    processor, pool, redis = (guesses[n] for n in sorted(guesses))
    assert (processor["status"], processor["owner"], processor["resolved_by"]) == (
        "ruled_out", "eli", "eli",
    )  # fmt: skip
    assert processor["reason"] == "The processor saw no declines since 08:30; the 503s are ours"
    assert (pool["status"], pool["resolved_by"], hm(pool["resolved_at"])) == (
        "confirmed", "bo", "09:35",
    )  # fmt: skip
    assert (redis["status"], redis["owner"], redis["resolved_by"]) == ("open", None, None)


def test_facts_established_and_retracted(db: sqlite3.Connection):
    facts = {f["text"]: f for f in rows(db, "SELECT * FROM facts")}
    assert len(facts) == 4
    alert = facts["alertmanager: CheckoutErrorRate resolved at 12:24, firing 0 of 1"]
    assert (alert["author"], alert["status"], hm(alert["added_at"])) == (
        "dee",
        "confirmed",
        "12:25",
    )
    began = facts["Errors began at 08:40, two minutes after payments-api v412 was deployed"]
    assert (began["status"], began["from_guess"], began["confirmed_by"]) == (
        "confirmed",
        None,
        "bo",
    )
    pool = facts["payments-api v412 lowered its database connection pool size"]
    assert pool["from_guess"] == pool["no"] and pool["confirmed_by"] == "bo"
    assert hm(pool["confirmed_at"]) == "09:35"
    us = facts["US checkout is unaffected"]
    assert (us["status"], us["confirmed_by"], us["retracted_by"], hm(us["retracted_at"])) == (
        "retracted", "eli", "eli", "10:05",
    )  # fmt: skip
    assert us["retracted_reason"] == "US checkout 5xx rose to 3% too; the lower US traffic hid it"


def test_status_history_and_evidence_of_each_card(db: sqlite3.Connection):
    [pool] = rows(db, "SELECT no FROM guesses WHERE status = 'confirmed'")
    history = [(h["action"], h["actor"], hm(h["at"])) for h in rows(
        db, "SELECT * FROM board_history WHERE item_no = ? ORDER BY seq", pool["no"])]  # fmt: skip
    assert history == [
        ("added", "bo", "09:07"),
        ("claimed", "bo", "09:32"),
        ("evidence", "bo", "09:33"),
        ("confirmed", "bo", "09:35"),
    ]
    redis = [h["action"] for h in rows(
        db, "SELECT action FROM board_history bh JOIN guesses g ON g.no = bh.item_no "
            "WHERE g.status = 'open' ORDER BY seq")]  # fmt: skip
    assert redis == ["added", "claimed", "released"]
    evidence = rows(db, "SELECT * FROM evidence ORDER BY seq")
    assert len(evidence) == 7  # the last: the alert notification the fact came from
    # two notes added with one card are two rows, numbered in order
    first_card = [e for e in evidence if e["seq"] == evidence[0]["seq"]]
    assert [(e["position"], e["kind"]) for e in first_card] == [(1, "link"), (2, "query")]
    assert ("guest:vic", "output") in {(e["by"], e["kind"]) for e in evidence}  # the vendor


# --- decisions and follow-ups -----------------------------------------------------------------
def test_decisions_with_rationale_and_the_facts_they_rest_on(db: sqlite3.Connection):
    d1, d2 = rows(db, "SELECT * FROM decisions ORDER BY no")
    assert d1["what"] == "Scale payments-api from 6 to 12 pods while the cause is found"
    assert (d1["decided_by"], d1["owner"], d1["superseded_by"], d1["supersedes"]) == (
        "ana", "bo", 2, None,
    )  # fmt: skip
    assert json.loads(d1["options"]) == [
        "Scale payments-api up", "Roll back to v411 now", "Wait for the diagnosis",
    ]  # fmt: skip
    assert d2["what"] == "Roll back payments-api to v411" and d2["supersedes"] == 1
    assert d2["why"].startswith("v412 cut the database pool from 50 to 10")
    rested = rows(
        db,
        "SELECT d.no, f.text FROM decisions d JOIN decision_facts df "
        "ON df.incident_id = d.incident_id AND df.decision_no = d.no "
        "JOIN facts f ON f.incident_id = df.incident_id AND f.no = df.fact_no ORDER BY d.no, f.no",
    )
    assert [(r["no"], r["text"][:24]) for r in rested] == [
        (1, "Errors began at 08:40, t"),
        (2, "Errors began at 08:40, t"),
        (2, "payments-api v412 lowere"),
    ]


def test_follow_ups_with_owners_and_due_dates(db: sqlite3.Connection):
    follow_ups = [(f["no"], f["owner"], f["due"], f["noted_by"])
                  for f in rows(db, "SELECT * FROM follow_ups ORDER BY no")]  # fmt: skip
    assert follow_ups == [(1, "bo", "2026-03-28", "dee"), (2, "eli", "2026-03-21", "bo")]


# --- the lock and production actions ------------------------------------------------------------
def test_lock_grants_with_how_each_began_and_ended(db: sqlite3.Connection):
    grants = [
        (g["token"], g["holder"], g["via"], hm(g["granted_at"]), g["ended"], hm(g["ended_at"]))
        for g in rows(db, "SELECT * FROM lock_grants ORDER BY token")
    ]
    assert grants == [
        (1, "bo", "request", "09:19", "released", "09:30"),
        (2, "bo", "request", "09:51", "expired", "10:02"),
        (3, "eli", "handover", "10:08", "forced", "10:16"),
    ]
    [forced] = rows(db, "SELECT * FROM lock_grants WHERE ended = 'forced'")
    assert (forced["granted_by"], forced["ended_by"]) == ("ana", "ana")
    assert forced["reason"] == "eli went offline while holding the production lock"


def test_actions_with_fencing_token_values_and_outcome(db: sqlite3.Connection):
    actions = rows(db, "SELECT * FROM actions ORDER BY started_at")
    summary = [
        (a["token"], a["kind"], a["value_before"], a["value_after"], a["outcome"], a["started_by"])
        for a in actions
    ]
    assert summary == [
        (1, "scale_up", "31%", "46%", "made_worse", "bo"),
        (1, "scale_down", "46%", "32%", "undone", "bo"),
        (2, "rollback", "32%", "0.4%", "helped", "bo"),
        (3, "restart", "1840", "0", "helped", "eli"),
    ]
    scale_up, scale_down = actions[0], actions[1]
    assert scale_down["undoes"] == scale_up["id"] and scale_up["undone_by"] == scale_down["id"]
    # An action's id is the id of the event that started it, under the grant it names.
    started = rows(db, "SELECT id FROM events WHERE type = 'action_started' ORDER BY seq")
    assert [a["id"] for a in actions] == [s["id"] for s in started]
    joined = rows(
        db,
        "SELECT a.kind, g.holder FROM actions a JOIN lock_grants g "
        "ON g.incident_id = a.incident_id AND g.token = a.token ORDER BY a.started_at",
    )
    assert [j["holder"] for j in joined] == ["bo", "bo", "bo", "eli"]


# --- stakeholder updates ---------------------------------------------------------------------
def test_comms_updates_keep_the_exact_text_sent(db: sqlite3.Connection):
    updates = rows(db, "SELECT * FROM comms_updates ORDER BY seq")
    assert [u["number"] for u in updates] == list(range(1, 10))
    assert [u["audience"] for u in updates].count("external") == 1
    assert {u["author"] for u in updates} == {"cy"}
    for update in updates:
        [event] = rows(db, "SELECT payload FROM events WHERE seq = ?", update["seq"])
        assert update["text"] == json.loads(event["payload"])["text"]
    first = updates[0]
    assert first["text"].startswith(f"[DRILL] [09:11 UTC] SEV1 {TITLE} - internal update #1")
    assert (first["severity"], first["phase"], hm(first["next_update_at"])) == (
        "SEV1", "triage", "09:26",
    )  # fmt: skip


def test_webhook_deliveries_per_update_and_target(db: sqlite3.Connection):
    deliveries = rows(
        db,
        "SELECT u.number, u.audience, d.target, d.status, d.attempts, d.detail "
        "FROM update_deliveries d JOIN comms_updates u "
        "ON u.incident_id = d.incident_id AND u.seq = d.update_seq ORDER BY u.number",
    )
    assert len(deliveries) == 9
    [failed] = [d for d in deliveries if d["status"] != "delivered"]
    assert failed == {"number": 2, "audience": "external", "target": EXTERNAL_HOOK,
                      "status": "failed", "attempts": 2, "detail": "HTTP 500"}  # fmt: skip
    assert {d["target"] for d in deliveries if d["status"] == "delivered"} == {INTERNAL_HOOK}


def test_the_drill_scorecard(db: sqlite3.Connection):
    [card] = rows(db, "SELECT * FROM drill_scorecards")
    assert card["scenario"] == "checkout-db-pool (scripted)"
    assert (card["actions_taken"], card["actions_helped"], card["overdue_updates"]) == (4, 2, 1)
    assert json.loads(card["observations"])[-1] == "Every production change went through the lock."


# --- keys and views ----------------------------------------------------------------------------
def test_foreign_keys_are_declared_and_all_hold(db: sqlite3.Connection, export_file, tmp_path):
    declared = {
        table: rows(db, f"PRAGMA foreign_key_list({table})")
        for table in (
            "timeline",
            "roles",
            "facts",
            "decision_facts",
            "actions",
            "update_deliveries",
            "comms_updates",
        )  # fmt: skip
    }
    assert all(declared.values()), "every one of these tables points at its parent"
    assert rows(db, "PRAGMA foreign_key_check") == []
    # The check is not vacuous: an action whose lock grant is gone is reported.
    broken = tmp_path / "broken.db"
    shutil.copy(export_file, broken)
    with sqlite3.connect(broken) as conn:
        conn.execute("DELETE FROM lock_grants WHERE token = 3")
        assert [r[0] for r in conn.execute("PRAGMA foreign_key_check")] == ["actions"]


def test_the_reviewers_views(db: sqlite3.Connection):
    interleaved = [
        (r["entry"], hm(r["at"])) for r in rows(db, "SELECT * FROM decisions_and_actions")
    ]
    assert interleaved == [
        ("decision", "09:18"), ("action", "09:20"), ("action", "09:25"),
        ("decision", "09:50"), ("action", "09:52"), ("action", "10:09"),
    ]  # fmt: skip
    worse = rows(db, "SELECT kind, outcome FROM actions_that_did_not_help")
    assert worse == [{"kind": "scale_up", "outcome": "made_worse"}]
    [times] = rows(db, "SELECT * FROM response_times")
    assert (times["detect_min"], times["declare_min"], times["mitigate_min"]) == (12.0, 8.0, 100.0)
    marked = rows(
        db,
        "SELECT seq, decision_no, action_kind, action_outcome FROM review_timeline "
        "WHERE decision_no IS NOT NULL OR action_kind IS NOT NULL ORDER BY seq",
    )
    assert [(m["decision_no"], m["action_kind"]) for m in marked] == [
        (1, None), (None, "scale_up"), (None, "scale_down"), (2, None), (None, "rollback"),
        (None, "restart"),
    ]  # fmt: skip


# --- the schema, pinned ------------------------------------------------------------------------
#: ``sqlite_master`` of a real export as the hand-written DDL made it: a change to how the schema
#: is written must leave every table, column, key, view, index and trigger as it was.
PINNED_SCHEMA = Path(__file__).parent / "expected" / "export_schema.txt"


def schema_text(conn: sqlite3.Connection) -> str:
    """Every object of the export file's schema as SQLite stores it, in name order."""
    found = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    return "".join(f"-- {kind} {name} on {table}\n{sql};\n\n" for kind, name, table, sql in found)


def test_the_export_schema_is_the_pinned_one(export_file: Path):
    with sqlite3.connect(export_file) as conn:
        assert schema_text(conn) == PINNED_SCHEMA.read_text()


def test_every_derived_row_is_laid_out_as_its_table_is_described(scripted: ScriptedRun):
    """The row dicts and the DDL come from one description: a row with a column the table lacks,
    or without one it has, fails here rather than as a SQL error mid-export."""
    source = DatabaseSource(scripted.db)
    state, tracker = IncidentState(), HistoryTracker(INCIDENT_ID)
    try:
        for event in source.events(INCIDENT_ID):
            before, state = state, apply(state, event)
            tracker.observe(before, state, event)
    finally:
        source.close()
    tables = [("incidents", [incident_row(state, 1, "now")]), *state_tables(state, tracker)]
    for name, rows in tables:
        for row in rows:
            assert tuple(row) == TABLE[name].column_names, name
    filled = {name for name, rows in tables if rows}
    assert filled == set(TABLE) - {"meta", "events", "timeline"}
