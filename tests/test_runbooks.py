"""Runbook files: every kind of error named with its file and line, the shipped examples valid,
and a real hub that refuses to start on a broken file and serves the good ones."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from warroom.hub.app import HubConfig, HubConfigError, HubServer
from warroom.hub.config import apply_config_file
from warroom.hub.runbooks import RunbookError, load_dir, parse, shipped_dir
from warroom.hub.runbooks_config import RunbooksConfig

from tests.helpers import declare_incident, running_hub

GOOD = """\
title = "Roll back"
summary = "Go back to the last good build."

[applies_to]
titles = ["deploy"]
services = ["checkout-api"]

[[steps]]
do = "Find the last good build"
role = "lead"

[[steps]]
do = "Roll back"
command = "deployctl rollback"
changes_production = true
"""


def error_of(text: str, name: str = "roll-back.toml") -> str:
    with pytest.raises(RunbookError) as caught:
        parse(text, f"/rb/{name}")
    return str(caught.value)


def test_a_good_runbook_reads_with_its_name_from_the_file():
    runbook = parse(GOOD, "/rb/roll-back.toml")
    assert runbook.name == "roll-back" and runbook.title == "Roll back"
    assert [s.changes_production for s in runbook.steps] == [False, True]
    assert runbook.applies_to.services == ("checkout-api",)


def broken_variants() -> list[tuple[str, str]]:
    """``(broken file, expected error)`` from tests/expected/runbook_errors.txt."""
    found = [(GOOD.split("[[steps]]")[0], r"roll-back\.toml:1: steps: Field required")]
    for line in (
        (Path(__file__).parent / "expected" / "runbook_errors.txt").read_text().splitlines()
    ):
        if line.strip() and not line.startswith("#"):
            old, new, expected = (part.strip(" ").replace("\\n", "\n") for part in line.split("⟶"))
            assert old in GOOD, old
            found.append((GOOD.replace(old, new), expected))
    return found


@pytest.mark.parametrize(("broken", "expected"), broken_variants())
def test_every_kind_of_error_names_the_file_and_the_line(broken, expected):
    import re

    message = error_of(broken)
    assert re.search(expected, message), message


def test_a_file_name_that_is_not_a_runbook_name_is_refused():
    assert "/rb/Roll Back.toml:1: file name" in error_of(GOOD, "Roll Back.toml")


def test_a_directory_reports_every_broken_file_at_once(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "one.toml").write_text(GOOD.replace('title = "Roll back"\n', ""))
    (tmp_path / "two.toml").write_text("title = ")
    (tmp_path / "notes.txt").write_text("not a runbook")
    with pytest.raises(RunbookError) as caught:
        load_dir(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{tmp_path / 'one.toml'}:1: title")
    assert lines[1].startswith(f"{tmp_path / 'two.toml'}:1: not valid TOML")
    assert len(lines) == 2  # the good file and the text file are not complained about


def test_the_shipped_examples_are_valid_and_realistic():
    runbooks = {r.name: r for r in load_dir(shipped_dir())}
    assert set(runbooks) == {"roll-back-deploy", "fail-over-database", "shed-load"}
    for runbook in runbooks.values():
        assert len(runbook.steps) >= 5
        assert any(s.changes_production for s in runbook.steps)
        assert any(s.command for s in runbook.steps)


def test_the_config_file_section_is_checked_and_a_relative_dir_is_under_the_file(tmp_path):
    config = apply_config_file(HubConfig(), {"runbooks": {"dir": "rb"}}, tmp_path / "hub.toml")
    assert config.runbooks == RunbooksConfig(dir=tmp_path / "rb")
    for bad, words in (
        ({"dir": 3}, "[runbooks] dir: expected the path"),
        ({"folder": "x"}, "[runbooks] folder: unknown key; known: dir, examples"),
        ({"examples": "yes"}, "[runbooks] examples: expected true or false"),
        ({}, "[runbooks] needs dir"),
    ):
        with pytest.raises(
            HubConfigError, match=r"hub\.toml: " + words.replace("[", r"\[").replace("]", r"\]")
        ):
            apply_config_file(HubConfig(), {"runbooks": bad}, tmp_path / "hub.toml")


def test_a_hub_with_a_broken_runbook_refuses_to_start_and_says_where(tmp_path):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "roll-back.toml").write_text(GOOD.replace('role = "lead"', 'role = "boss"'))
    config = HubConfig(
        host="127.0.0.1", port=0, db=tmp_path / "w.db", runbooks=RunbooksConfig(dir=folder)
    )
    with pytest.raises(HubConfigError, match=r"roll-back\.toml:10: steps\.0\.role"):
        HubServer(config)
    assert not (tmp_path / "w.db").exists()  # nothing was opened
    missing = HubConfig(
        host="127.0.0.1",
        port=0,
        db=tmp_path / "w.db",
        runbooks=RunbooksConfig(dir=tmp_path / "nope"),
    )
    with pytest.raises(HubConfigError, match="no such directory"):
        HubServer(missing)


async def test_the_hub_serves_runbooks_with_why_each_applies_to_an_incident(tmp_path):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "roll-back.toml").write_text(GOOD)
    config = RunbooksConfig(dir=folder, examples=True)
    async with running_hub(tmp_path / "w.db", runbooks=config) as hub:
        incident = await declare_incident(hub.url, title="Checkout-api 500s after deploy")
        base = f"http://127.0.0.1:{hub.port}"
        async with httpx.AsyncClient() as http:
            every = (await http.get(f"{base}/runbooks")).json()
            assert sorted(r["name"] for r in every) == [
                "fail-over-database",
                "roll-back",
                "roll-back-deploy",
                "shed-load",
            ]
            ranked = (await http.get(f"{base}/runbooks?incident={incident}")).json()
            assert ranked[0]["name"] == "roll-back" and ranked[0]["matches"] == [
                "checkout-api",
                "deploy",
            ]
            assert ranked[1]["name"] == "roll-back-deploy" and ranked[1]["matches"] == ["deploy"]
            assert ranked[0]["steps"][1] == {
                "do": "Roll back",
                "command": "deployctl rollback",
                "role": None,
                "changes_production": True,
            }
            unknown = await http.get(f"{base}/runbooks?incident=inc-nope")
            assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_incident"


async def test_a_hub_without_runbooks_serves_none(tmp_path):
    async with running_hub(tmp_path / "w.db") as hub, httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{hub.port}/runbooks")).json() == []


def test_examples_and_a_dir_with_the_same_name_clash(tmp_path):
    (tmp_path / "shed-load.toml").write_text(GOOD)
    config = HubConfig(db=tmp_path / "w.db", runbooks=RunbooksConfig(dir=tmp_path, examples=True))
    with pytest.raises(HubConfigError, match="shed-load.*already loaded"):
        HubServer(config)


def test_the_check_command_exits_1_with_the_lines_and_0_when_good(tmp_path, capsys):
    from warroom.cli import main

    (tmp_path / "roll-back.toml").write_text(GOOD)
    assert main(["runbooks", "check", str(tmp_path)]) == 0
    assert "roll-back\t2 steps (1 change production)\tRoll back" in capsys.readouterr().out
    (tmp_path / "bad.toml").write_text(
        GOOD.replace("changes_production = true", "changes_production = 1")
    )
    assert main(["runbooks", "check", str(tmp_path)]) == 1
    assert f"{tmp_path / 'bad.toml'}:15: steps.1.changes_production" in capsys.readouterr().err
    assert main(["runbooks", "examples"]) == 0
    assert capsys.readouterr().out.strip() == str(shipped_dir())
