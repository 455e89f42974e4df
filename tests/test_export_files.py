"""Export files as people use them: refreshed in place, shared by incidents, made from a live hub
over the protocol, opened with ``sqlite-utils``, written by the ``warroom export`` command."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from tests.scripted_incident import INCIDENT_ID, ScriptedRun, recorded_once
from warroom import cli
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded
from warroom.export.exporter import ExportFileError, export_incidents
from warroom.export.sources import DatabaseSource, LogSource

TOKEN = "review-token-0123456789"
#: Tables whose rows depend only on the record (``incidents`` also carries ``exported_at``).
EXPORT_TABLES = (
    "incidents", "events", "timeline", "participants", "roles", "severity_changes", "triage",
    "guesses", "facts", "board_history", "evidence", "decisions", "decision_facts", "follow_ups",
    "lock_grants", "actions", "comms_updates", "update_deliveries", "drill_scorecards", "meta",
)  # fmt: skip


@pytest.fixture(scope="session")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    return recorded_once(tmp_path_factory.mktemp("scripted"))


@pytest.fixture
def hub_db(scripted: ScriptedRun, tmp_path: Path) -> Path:
    """A copy of the scripted hub's database, for tests that run a hub on it or add to it."""
    copy = tmp_path / "hub.db"
    shutil.copy(scripted.db, copy)
    return copy


def export(db: Path, out: Path, incidents: list[str], now: datetime | None = None) -> None:
    source = DatabaseSource(db)
    try:
        export_incidents(source, out, incidents, now=now)
    finally:
        source.close()


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in (*EXPORT_TABLES, "timeline_fts")}  # fmt: skip


def contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every export table's rows (``exported_at`` left out), in primary-key order."""
    out = {}
    with sqlite3.connect(path) as conn:
        for table in EXPORT_TABLES:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = ", ".join(c for c in columns if c != "exported_at")
            out[table] = conn.execute(f"SELECT {keep} FROM {table} ORDER BY {keep}").fetchall()
    return out


# --- refreshing a file ---------------------------------------------------------------------------
def test_exporting_again_updates_rows_in_place(scripted: ScriptedRun, tmp_path: Path):
    out = tmp_path / "review.db"
    export(scripted.db, out, [INCIDENT_ID], now=T0 + timedelta(days=1))
    before, first = counts(out), contents(out)
    with sqlite3.connect(out) as conn:
        rowids = conn.execute("SELECT rowid, seq FROM timeline ORDER BY seq").fetchall()

    export(scripted.db, out, [INCIDENT_ID], now=T0 + timedelta(days=2))
    assert counts(out) == before
    assert contents(out) == first
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT rowid, seq FROM timeline ORDER BY seq").fetchall() == rowids
        [stamp] = conn.execute("SELECT exported_at FROM incidents").fetchone()
        assert stamp == (T0 + timedelta(days=2)).isoformat()
        hits = conn.execute("SELECT count(*) FROM timeline_fts WHERE timeline_fts MATCH 'bridge'")
        assert hits.fetchone()[0] == 1  # the index was kept in step, not filled twice


def log_and_ten_oclock(scripted: ScriptedRun) -> tuple[list[Any], list[Any]]:
    """The scripted incident's whole log, and the part of it recorded by 10:00."""
    source = DatabaseSource(scripted.db)
    try:
        log = list(source.events(INCIDENT_ID))
    finally:
        source.close()
    return log, [e for e in log if e.at is not None and e.at <= T0.replace(hour=10)]


def test_a_file_refreshed_during_the_incident_catches_up(scripted: ScriptedRun, tmp_path: Path):
    """Exported at 10:00 and again at the end: the open rows of 10:00 are completed in place."""
    log, early = log_and_ten_oclock(scripted)
    out = tmp_path / "live.db"
    export_incidents(LogSource(early), out, [INCIDENT_ID])
    with sqlite3.connect(out) as conn:
        ana = conn.execute("SELECT rowid, until FROM roles WHERE holder = 'ana'").fetchone()
        assert ana[1] is None  # still IC at 10:00
        assert conn.execute("SELECT phase FROM incidents").fetchone()[0] == "mitigating"
        assert conn.execute("SELECT outcome FROM actions WHERE kind = 'rollback'").fetchone() == (
            None,
        )
    export_incidents(LogSource(log), out, [INCIDENT_ID])
    with sqlite3.connect(out) as conn:
        again = conn.execute("SELECT rowid, until FROM roles WHERE holder = 'ana'").fetchone()
        assert again[0] == ana[0] and again[1] is not None
        assert conn.execute("SELECT phase FROM incidents").fetchone()[0] == "closed"
        assert conn.execute("SELECT outcome FROM actions WHERE kind = 'rollback'").fetchone() == (
            "helped",
        )
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == len(log)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    full = tmp_path / "full.db"
    export_incidents(LogSource(log), full, [INCIDENT_ID])
    assert counts(out) == counts(full)


class ReadBeforeTheLastEvents(DatabaseSource):
    """The hub's file as an export finds it when the hub appends while the log is being read:
    the reading ends at ``upto``, and the file holds more by the time the rows are copied."""

    def __init__(self, path: Path, upto: int) -> None:
        super().__init__(path)
        self.upto = upto

    def count(self, incident_id: str) -> int:
        return self.upto

    def stored_events(self, incident_id: str) -> Any:
        return ((e, row) for e, row in super().stored_events(incident_id) if e.seq <= self.upto)


def test_events_a_running_hub_appends_after_the_log_was_read_are_left_out(
    scripted: ScriptedRun, tmp_path: Path
):
    """From the hub's file the ``events`` rows are copied by SQLite after the log is folded:
    only the rows of the events folded (and on the timeline) are copied, and they are the rows
    an export from the same events in memory writes."""
    source = DatabaseSource(scripted.db)
    try:
        log = list(source.events(INCIDENT_ID))
    finally:
        source.close()
    upto = len(log) - 7
    out = tmp_path / "from-file.db"
    partial = ReadBeforeTheLastEvents(scripted.db, upto)
    try:
        export_incidents(partial, out, [INCIDENT_ID])
    finally:
        partial.close()
    same = tmp_path / "from-memory.db"
    export_incidents(LogSource(log[:upto]), same, [INCIDENT_ID])
    assert counts(out)["events"] == counts(out)["timeline"] == upto
    assert contents(out) == contents(same)


#: Exports from the hub's file, five events a batch, and kills itself (SIGKILL) as it reads the
#: event numbered argv[4]: an export cut off half-way through the log.
DYING_EXPORT = """
import os, signal, sys
from warroom.export import exporter
from warroom.export.sources import DatabaseSource

class Dying(DatabaseSource):
    def stored_events(self, incident_id):
        for n, pair in enumerate(super().stored_events(incident_id), 1):
            if n == int(sys.argv[4]):
                os.kill(os.getpid(), signal.SIGKILL)
            yield pair

exporter.BATCH = 5
exporter.export_incidents(Dying(sys.argv[1]), sys.argv[2], [sys.argv[3]])
"""


def test_an_export_killed_half_way_leaves_the_file_as_it_was(scripted: ScriptedRun, tmp_path: Path):
    """The file of 10:00 is refreshed, and the export is killed after many batches were written:
    the file still holds the export of 10:00 (not part of each), and the next export completes it."""
    log, early = log_and_ten_oclock(scripted)
    kill_at = len(early) + 20
    assert kill_at < len(log)
    out = tmp_path / "review.db"
    export_incidents(LogSource(early), out, [INCIDENT_ID])
    before, rows = counts(out), contents(out)

    killed = subprocess.run(
        [sys.executable, "-c", DYING_EXPORT, str(scripted.db), str(out), INCIDENT_ID,
         str(kill_at)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert counts(out) == before
    assert contents(out) == rows

    export(scripted.db, out, [INCIDENT_ID])
    full = tmp_path / "full.db"
    export(scripted.db, full, [INCIDENT_ID])
    assert counts(out) == counts(full)
    assert contents(out) == contents(full)


async def test_two_incidents_share_one_file(hub_db: Path, scripted: ScriptedRun, tmp_path: Path):
    clock = ManualClock(T0.replace(hour=14))
    async with running_hub(hub_db, clock=clock) as hub:
        second = await declare_incident(
            hub.url, name="fay", incident_id="inc-search-slow", title="Search is slow",
            severity="SEV3",
        )  # fmt: skip
        fay = await client(hub.url, "fay", "ic", second)
        assert (await fay.post(NoteAdded(text="search p99 at 4s since the reindex"))).op == "ack"
        await fay.close()
        await eventually(lambda: not hub.hub.rooms[second].state.participants["fay"].online)
    out = tmp_path / "both.db"
    assert (
        await asyncio.to_thread(
            cli.main, ["export", "--db", str(hub_db), "--all", "--out", str(out), "-q"]
        )
        == 0
    )
    with sqlite3.connect(out) as conn:
        per_incident = dict(conn.execute("SELECT incident_id, count(*) FROM events GROUP BY 1"))
        assert per_incident == {INCIDENT_ID: scripted.events, second: 4}
        assert [r[0] for r in conn.execute("SELECT id FROM response_times")] == [
            INCIDENT_ID, second,
        ]  # fmt: skip
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        found = conn.execute(
            "SELECT t.incident_id FROM timeline_fts JOIN timeline t "
            "ON t.rowid = timeline_fts.rowid WHERE timeline_fts MATCH 'reindex'"
        ).fetchall()
        assert found == [(second,)]
    # The same file is also what two separate exports, one per incident, make.
    one_by_one = tmp_path / "one-by-one.db"
    for incident in (INCIDENT_ID, second):
        export(hub_db, one_by_one, [incident])
    assert contents(one_by_one) == contents(out)


# --- a live hub, over the protocol ------------------------------------------------------------------
async def test_export_over_the_protocol_equals_export_from_the_file(hub_db: Path, tmp_path: Path):
    async with running_hub(hub_db, clock=ManualClock(T0.replace(hour=15)),
                           tokens={"review": TOKEN}) as hub:  # fmt: skip
        # Closed, so not in memory until someone asks for it (the hub holds what is live).
        assert INCIDENT_ID not in hub.hub.rooms
        room = hub.hub.live.room_now(INCIDENT_ID)
        assert room is not None
        head = room.head
        over_hub, from_file = tmp_path / "hub-export.db", tmp_path / "file-export.db"
        code = await asyncio.to_thread(cli.main, [
            "export", "--hub", hub.url, "--token", TOKEN, "--incident", INCIDENT_ID,
            "--out", str(over_hub), "-q",
        ])  # fmt: skip
        assert code == 0
        # Reading over the protocol joined nobody: the record is unchanged.
        assert room.head == head
        assert "export" not in room.state.participants
        assert not room.online
        code = await asyncio.to_thread(cli.main, [
            "export", "--db", str(hub_db), "--incident", INCIDENT_ID, "--out", str(from_file),
            "-q",
        ])  # fmt: skip
        assert code == 0
        # The markdown draft over the protocol is the same text too.
        drafts = [tmp_path / "hub.md", tmp_path / "file.md"]
        for where, out in zip((["--hub", hub.url, "--token", TOKEN], ["--db", str(hub_db)]),
                              drafts, strict=True):  # fmt: skip
            args = ["export", *where, "--incident", INCIDENT_ID, "--out", str(out)]
            assert await asyncio.to_thread(cli.main, args) == 0
        assert room.head == head
    stored = DatabaseSource(hub_db)
    try:
        assert not any(
            e.type in ("participant_joined", "participant_left") and e.at and e.at.hour >= 15
            for e in stored.events(INCIDENT_ID)
        )
    finally:
        stored.close()
    assert contents(over_hub) == contents(from_file)
    assert drafts[0].read_text() == drafts[1].read_text()


async def test_a_hub_that_refuses_the_token_is_a_clear_error(hub_db: Path, tmp_path, capsys):
    async with running_hub(hub_db, tokens={"review": TOKEN}) as hub:
        args = ["export", "--hub", hub.url, "--token", "wrong", "--all", "--out",
                str(tmp_path / "x.db")]  # fmt: skip
        assert await asyncio.to_thread(cli.main, args) == 1
    err = capsys.readouterr().err
    assert err.startswith("warroom export: The hub refused (HTTP 401)")
    assert not (tmp_path / "x.db").exists()


# --- other tools and the command line ------------------------------------------------------------
def test_the_export_opens_with_the_sqlite_utils_tool(scripted: ScriptedRun, tmp_path: Path):
    out = tmp_path / "review.db"
    export(scripted.db, out, [INCIDENT_ID])
    tool = Path(sys.executable).with_name("sqlite-utils")
    listed = subprocess.run([str(tool), "tables", str(out), "--counts"], capture_output=True,
                            text=True, check=True, timeout=60)  # fmt: skip
    tables = {t["table"]: t["count"] for t in json.loads(listed.stdout)}
    assert tables["events"] == tables["timeline"] == scripted.events
    assert {t: tables[t] for t in ("incidents", "decisions", "actions", "lock_grants")} == {
        "incidents": 1, "decisions": 2, "actions": 4, "lock_grants": 3,
    }  # fmt: skip
    searched = subprocess.run([str(tool), "search", str(out), "timeline", "rollback", "--csv"],
                              capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    assert "rollback payments-api (v412 to v411)" in searched.stdout


def test_warroom_export_from_the_command_line(scripted: ScriptedRun, tmp_path: Path):
    out = tmp_path / "cli.db"
    done = subprocess.run(
        [sys.executable, "-m", "warroom", "export", "--db", str(scripted.db), "--incident",
         INCIDENT_ID, "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"Exported 1 incident(s), {scripted.events} events, to {out.resolve()}"
    )
    assert counts(out)["events"] == scripted.events


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "{tmp}/missing.db", "--all"], "No hub database at {tmp}/missing.db."),
        (["--db", "{hub}", "--incident", "inc-nope"], "no incident inc-nope in {hub} "
         f"(there: {INCIDENT_ID})."),
        (["--db", "{tmp}/notes.txt", "--all"], "{tmp}/notes.txt is not a SQLite database"),
    ],
)  # fmt: skip
def test_clear_errors_for_a_missing_db_or_an_unknown_incident(
    args: list[str], message: str, scripted: ScriptedRun, tmp_path: Path, capsys
):
    (tmp_path / "notes.txt").write_text("not a database, just notes\n")
    out = tmp_path / "out.db"
    filled = [a.format(tmp=tmp_path, hub=scripted.db) for a in args]
    assert cli.main(["export", *filled, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("warroom export: " + message.format(tmp=tmp_path, hub=scripted.db))
    assert not out.exists()


def test_the_hubs_own_database_is_never_written_to(hub_db: Path, tmp_path: Path, capsys):
    before = hub_db.read_bytes()
    assert cli.main(["export", "--db", str(hub_db), "--all", "--out", str(hub_db)]) == 1
    assert "is the hub's own database" in capsys.readouterr().err
    other = tmp_path / "other-hub.db"
    shutil.copy(hub_db, other)
    assert cli.main(["export", "--db", str(hub_db), "--all", "--out", str(other)]) == 1
    assert "is not a warroom export" in capsys.readouterr().err
    with pytest.raises(ExportFileError):
        export(hub_db, other, [INCIDENT_ID])
    assert hub_db.read_bytes() == before and other.read_bytes() == before


@pytest.mark.parametrize("fmt", ["sqlite", "markdown"])
def test_an_out_that_is_a_directory_says_so(
    fmt: str, scripted: ScriptedRun, tmp_path: Path, capsys
) -> None:
    """`--out .` read "writing . failed: unable to open database file"."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    args = ["export", "--db", str(scripted.db), "--all", "--out", str(folder), "--format", fmt]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"warroom export: {folder} is a directory; give a file name"), err
    assert list(folder.iterdir()) == []


async def test_the_source_may_be_given_as_join_takes_it(hub_db: Path, tmp_path: Path, capsys):
    """``warroom join URL`` takes the hub as its first word; ``warroom export URL …`` was refused
    with argparse's "one of the arguments --db --hub is required" (seen trying it). A hub's URL
    or a database file in that place now works as ``--hub`` or ``--db`` would."""
    async with running_hub(hub_db, tokens={"review": TOKEN}) as hub:
        by_url, by_flag = tmp_path / "url.md", tmp_path / "flag.md"
        for args, out in (([hub.url], by_url), (["--hub", hub.url], by_flag)):
            argv = ["export", *args, "--token", TOKEN, "--incident", INCIDENT_ID, "--out", str(out)]
            assert await asyncio.to_thread(cli.main, argv) == 0, capsys.readouterr().err
        assert by_url.read_text() == by_flag.read_text()
    from_file = tmp_path / "file.md"
    argv = ["export", str(hub_db), "--incident", INCIDENT_ID, "--out", str(from_file)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert from_file.read_text() == by_url.read_text()
    capsys.readouterr()
    for args in ([], [str(hub_db), "--db", str(hub_db)]):
        argv = ["export", *args, "--all", "--out", str(tmp_path / "x.db")]
        assert await asyncio.to_thread(cli.main, argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("warroom export: ") and "Traceback" not in err, err
    assert not (tmp_path / "x.db").exists()


async def test_export_finds_the_token_as_join_does(hub_db: Path, tmp_path: Path, monkeypatch):
    """A token belongs in WARROOM_TOKEN or the config file, not the shell's history; export
    read only --token, so it was refused (401) where join got in."""
    monkeypatch.setenv("WARROOM_TOKEN", TOKEN)
    async with running_hub(hub_db, tokens={"review": TOKEN}) as hub:
        out = tmp_path / "review.md"
        argv = ["export", hub.url, "--incident", INCIDENT_ID, "--out", str(out)]
        assert await asyncio.to_thread(cli.main, argv) == 0
        assert out.read_text().startswith("# Incident review")
