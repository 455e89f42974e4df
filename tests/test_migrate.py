"""``warroom migrate``: a SQLite hub's history moved into PostgreSQL (#22).

A drill played to the end on a SQLite hub (the drill runner, every role simulated), an open
incident beside it, people, a gate credential and an alert group; ``warroom migrate`` run as a
real process into a fresh database of a real PostgreSQL server; then a hub on PostgreSQL serves
the same folded states and the same log, and everyone's token, the pipeline's credential and the
alert group still work. Refusals and broken input end in one line, never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from warroom.hub.alert_store import AlertStore
from warroom.hub.gate_store import GateCredentials
from warroom.hub.people import People
from warroom.hub.storage import LogReader
from warroom.hub.storage_open import open_people

from tests.alert_payloads import alertmanager
from tests.helpers import HubProcess, client, declare_incident, free_port, running_hub
from tests.hub_db import count, rows
from tests.test_alerts_intake import intake
from warroom.core.alerts import parse_alertmanager
from warroom.core.fold import apply
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack
from warroom.core.state import IncidentState
from warroom.drill.scenario import load
from warroom.drill.session import run_headless

START = datetime(2026, 3, 14, 14, 4, tzinfo=UTC)


@dataclass
class Hub:
    """A SQLite hub's file with a finished drill, an open incident and what lives beside them."""

    db: Path
    drill: str
    open_incident: str
    ana: str  # ana's personal token (live)
    bo: str  # bo's (revoked)
    gate: str  # deploy-prod's gate credential


async def sqlite_hub(tmp_path: Path) -> Hub:
    db = tmp_path / "hub.db"
    outcome = await run_headless(load("checkout-db-pool"), seed=7, db=db, start=START)
    people = People(db)
    _, ana = people.add("ana")
    _, bo = people.add("bo")
    people.revoke("bo")
    people.close()
    gate = GateCredentials(db).add("deploy-prod")
    alerts = AlertStore(db)
    alerts.record(parse_alertmanager(json.dumps(alertmanager()).encode()), START)
    alerts.close()
    async with running_hub(db) as hub:
        incident = await declare_incident(hub.url, token=ana)
        c = await client(hub.url, "ana", "ic", incident, token=ana)
        for i in range(5):
            assert isinstance(await c.post(NoteAdded(text=f"note {i}")), Ack)
        await c.close()
    return Hub(db, outcome.incident_id, incident, ana, bo, gate)


def folded_from_file(db: Path) -> dict[str, tuple[IncidentState, list[dict[str, Any]]]]:
    """Each incident of the SQLite file: its state folded from its log, and the log."""
    reader = LogReader.read_only(db)
    try:
        found = {}
        for incident_id in reader.incident_ids():
            state = IncidentState()
            events = list(reader.events(incident_id))
            for event in events:
                state = apply(state, event)
            found[incident_id] = (state, [e.model_dump(mode="json") for e in events])
        return found
    finally:
        reader.close()


def run_migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", "migrate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The single line a refused or failed run prints (and no traceback)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("warroom migrate:")]
    return line


async def test_a_drills_database_moves_into_postgresql_and_a_hub_there_carries_on(
    tmp_path: Path, pg_url: str
) -> None:
    hub = await sqlite_hub(tmp_path)
    before = folded_from_file(hub.db)
    assert set(before) == {hub.drill, hub.open_incident}
    assert before[hub.drill][0].drill and before[hub.drill][0].phase.value == "closed"

    counted = run_migrate("--from", str(hub.db), "--to", pg_url, "--dry-run")
    assert counted.returncode == 0, counted.stderr
    events = sum(len(log) for _, log in before.values())
    assert f"  {'events':<22}{events:>10,}" in counted.stdout
    assert "Dry run: nothing was written." in counted.stdout
    assert rows(pg_url, "SELECT to_regclass('events')") == [(None,)]

    done = run_migrate("--from", str(hub.db), "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert "Verified: every count matches" in done.stdout
    assert count(pg_url, "events") == events
    for table in ("incidents", "checkpoints", "people", "gate_credentials", "alert_groups",
                  "alerts", "alert_changes"):  # fmt: skip
        assert count(pg_url, table) == count(hub.db, table), table

    async with running_hub(pg_url, intake=intake()) as pg:
        # The folded state of every incident is the one the SQLite file gives.
        for incident_id, (state, _) in before.items():
            room = await pg.hub.live.room(incident_id)
            assert room is not None and room.state == state, incident_id
        # A console joining on PostgreSQL sees the same log (then its own arrival).
        ana = await client(pg.url, "ana", "observer", hub.open_incident, token=hub.ana)
        assert await ana.complete_history()
        log = before[hub.open_incident][1]
        assert [e.model_dump(mode="json") for e in ana.log[: len(log)]] == log
        assert isinstance(await ana.post(NoteAdded(text="carrying on")), Ack)
        assert ana.state.seq == len(log) + 2  # her arrival and her note, seqs following on
        await ana.close()
        async with httpx.AsyncClient() as http:
            base = f"http://127.0.0.1:{pg.port}"

            def bearer(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            # People's tokens still work, and a revoked one is still refused.
            assert (await http.get(f"{base}/incidents", headers=bearer(hub.ana))).status_code == 200
            assert (await http.get(f"{base}/incidents", headers=bearer(hub.bo))).status_code == 401
            # So does the pipeline's gate credential.
            check = await http.get(f"{base}/gate/check", params={"target": "checkout-api"},
                                   headers=bearer(hub.gate))  # fmt: skip
            assert check.status_code == 200, check.text
            # And the alert group still waits for someone on the join screen.
            (group,) = (await http.get(f"{base}/alerts", headers=bearer(hub.ana))).json()
            assert group["summary"] == "Checkout 5xx above 5%"

    # Migrating again into the same database is refused: it already holds these incidents.
    again = run_migrate("--from", str(hub.db), "--to", pg_url)
    assert "already holds" in one_line_error(again, 1)


async def test_a_file_a_hub_is_serving_is_refused(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "hub.db"
    hub = HubProcess(db)
    hub.start()
    try:
        done = run_migrate("--from", str(db), "--to", pg_url)
        line = one_line_error(done, 1)
        assert "in use by a hub" in line and "stop that hub first" in line
    finally:
        hub.kill()
    assert rows(pg_url, "SELECT to_regclass('events')") == [(None,)]


def test_broken_or_absent_input_is_one_line_and_changes_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all, just text " * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    cases = [
        (["--from", str(tmp_path / "nope.db"), "--to", pg_url], "does not exist"),
        (["--from", str(tmp_path), "--to", pg_url], "is a directory"),
        (["--from", str(garbage), "--to", pg_url], "not a warroom database"),
        (["--from", str(foreign), "--to", pg_url], "not a warroom hub's database"),
        (["--from", str(foreign), "--to", str(tmp_path / "x.db")], "must be a postgresql:// URL"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(run_migrate(*args), 2), args
    assert rows(pg_url, "SELECT to_regclass('events')") == [(None,)]


async def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running_hub(db) as hub:
        await declare_incident(hub.url)
    gone = f"postgresql://warroom:secret@127.0.0.1:{free_port()}/warroom"
    line = one_line_error(run_migrate("--from", str(db), "--to", gone), 2)
    assert "cannot be reached" in line and "secret" not in line
    # A dry run still counts what the file holds, and says what would stop a real run.
    counted = run_migrate("--from", str(db), "--to", gone, "--dry-run")
    assert counted.returncode == 1 and "Traceback" not in counted.stderr
    assert "A real run would stop:" in counted.stdout and "cannot be reached" in counted.stdout
    assert f"  {'incidents':<22}{1:>10,}" in counted.stdout


async def test_merge_adds_a_second_hubs_history_and_refuses_what_is_in_both(
    tmp_path: Path, pg_url: str
) -> None:
    first, second = tmp_path / "a" / "hub.db", tmp_path / "b" / "hub.db"
    for db in (first, second):
        async with running_hub(db) as hub:
            await declare_incident(hub.url)
    assert run_migrate("--from", str(first), "--to", pg_url).returncode == 0
    refused = run_migrate("--from", str(second), "--to", pg_url)
    assert "--merge" in one_line_error(refused, 1)
    merged = run_migrate("--from", str(second), "--to", pg_url, "--merge")
    assert merged.returncode == 0, merged.stderr
    assert count(pg_url, "incidents") == 2
    clash = run_migrate("--from", str(first), "--to", pg_url, "--merge")
    assert "incidents already in" in one_line_error(clash, 1)
    assert count(pg_url, "incidents") == 2


async def test_a_person_already_registered_on_postgresql_is_a_clash_not_a_traceback(
    tmp_path: Path, pg_url: str
) -> None:
    db = tmp_path / "hub.db"
    async with running_hub(db) as hub:
        await declare_incident(hub.url)
    for where in (db, pg_url):
        people = open_people(where)
        people.add("ana")
        people.close()
    line = one_line_error(run_migrate("--from", str(db), "--to", pg_url), 1)
    assert "people (tokens) already in" in line and "ana" in line
    assert count(pg_url, "incidents") == 0
