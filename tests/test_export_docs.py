"""``docs/EXPORT.md`` against the export itself: the same tables, columns and views, and example
queries that run and find something in the scripted incident's export."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.scripted_incident import INCIDENT_ID, ScriptedRun, recorded_once
from warroom.export.exporter import export_incidents
from warroom.export.sources import DatabaseSource

DOC = (Path(__file__).parent.parent / "docs" / "EXPORT.md").read_text(encoding="utf-8")
TICKED = re.compile(r"`([^`]+)`")
REFERENCE = re.compile(r"→ `(\w+)`")


@pytest.fixture(scope="session")
def export_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run: ScriptedRun = recorded_once(tmp_path_factory.mktemp("scripted"))
    out = tmp_path_factory.mktemp("docs") / "review.db"
    source = DatabaseSource(run.db)
    try:
        export_incidents(source, out, [INCIDENT_ID])
    finally:
        source.close()
    return out


def doc_rows(header: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under ``header``, by the name in their first cell."""
    lines = DOC[DOC.index(header) :].splitlines()[2:]
    rows = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[TICKED.findall(cells[0])[0]] = cells[1:]
    return rows


def columns(db: sqlite3.Connection, name: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({name})")}


def documented(cells: list[str]) -> set[str]:
    """Column names a row mentions: ticked words, without the tables it points at (``→ x``)."""
    text = " ".join(cells)
    refs = set(REFERENCE.findall(text))
    words = set()
    for ticked in TICKED.findall(REFERENCE.sub("", text)):
        words.update(w.strip() for w in ticked.split(","))
    return words - refs if refs else words


def test_the_documented_tables_are_the_tables_of_an_export(export_db: Path) -> None:
    with sqlite3.connect(export_db) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    shadow = {n for n in names if n.startswith("timeline_fts_")}  # FTS5's own storage
    assert set(doc_rows("| table | one row per |")) == names - shadow


def test_every_column_is_documented_and_every_documented_column_exists(export_db: Path) -> None:
    rows = doc_rows("| table | one row per |")
    with sqlite3.connect(export_db) as db:
        for table, cells in rows.items():
            if table == "timeline_fts":
                continue
            actual = columns(db, table)
            mentioned = documented(cells)
            assert mentioned - actual - {"incident_id"} == set(), f"{table}: documented, not there"
            assert actual - mentioned - {"incident_id"} == set(), f"{table}: not documented"


def test_the_documented_views_exist_with_their_columns(export_db: Path) -> None:
    rows = doc_rows("| view | what it shows |")
    with sqlite3.connect(export_db) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        assert set(rows) == names
        for view, (_, listed) in rows.items():
            actual = columns(db, view)
            inherited = set()
            for table in re.findall(r"the `(\w+)` columns", listed):
                inherited |= columns(db, table)
            named = documented([re.sub(r"the `\w+` columns", "", listed)])
            assert named | inherited == actual, view


def test_the_example_queries_run_and_find_rows(export_db: Path) -> None:
    queries = re.findall(r"```sql\n(.+?)```", DOC, flags=re.DOTALL)
    assert len(queries) >= 5
    with sqlite3.connect(export_db) as db:
        for sql in queries:
            assert db.execute(sql).fetchall(), sql
