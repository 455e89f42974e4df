"""The postmortem draft of the scripted incident, compared with the committed expected text.

``tests/expected/postmortem.md`` was read as a reviewer reads a draft: a change to the draft's
wording or content shows up here as a diff to look at, and the file is updated on purpose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scripted_incident import INCIDENT_ID, ScriptedRun, recorded_once
from warroom import cli
from warroom.export.postmortem import draft
from warroom.export.sources import DatabaseSource

EXPECTED = Path(__file__).parent / "expected" / "postmortem.md"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="session")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> ScriptedRun:
    return recorded_once(tmp_path_factory.mktemp("scripted"))


@pytest.fixture
def text(scripted: ScriptedRun) -> str:
    source = DatabaseSource(scripted.db)
    try:
        return draft(None, source.events(INCIDENT_ID))
    finally:
        source.close()


def test_the_draft_is_the_expected_text(text: str) -> None:
    assert text == EXPECTED.read_text(encoding="utf-8")


def test_the_draft_prints_no_event_ids(text: str, scripted: ScriptedRun) -> None:
    """Ids differ on every run; a draft that printed one could not match the expected text."""
    assert UUID.findall(text) == []
    source = DatabaseSource(scripted.db)
    try:
        ids = {str(e.id) for e in source.events(INCIDENT_ID)}
    finally:
        source.close()
    assert not any(i in text for i in ids)


def test_the_draft_has_every_section_a_review_needs(text: str) -> None:
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "Summary",
        "Impact",
        "Response times",
        "Who held which role",
        "Timeline",
        "Corrections",
        "Redactions",
        "Decisions",
        "What was changed in production",
        "Runbooks followed",
        "Stakeholder updates",
        "Facts established and guesses ruled out",
        "What went well",
        "What was hard",
        "Follow-ups",
        "Drill scorecard",
    ]


def test_the_command_writes_the_same_draft(scripted: ScriptedRun, tmp_path: Path) -> None:
    out = tmp_path / "review.md"  # a .md file means Markdown without --format
    assert cli.main(["export", "--db", str(scripted.db), "--all", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == EXPECTED.read_text(encoding="utf-8")
