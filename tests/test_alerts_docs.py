"""docs/ALERTS.md's examples are real: its ``[intake]`` block is a config the hub accepts, and its
Alertmanager configuration passes Alertmanager's own checker (``amtool check-config``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from warroom.hub.app import HubConfig
from warroom.hub.config import read_config_file

from warroom.core.severity import Severity

DOC = Path(__file__).resolve().parents[1] / "docs" / "ALERTS.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_documented_intake_section_is_accepted(tmp_path: Path) -> None:
    (toml,) = [b for b in blocks("toml") if "[intake]" in b]
    path = tmp_path / "hub.toml"
    path.write_text(toml)
    intake = read_config_file(path, HubConfig()).intake
    assert intake is not None
    assert set(intake.credentials) == {"alertmanager", "grafana"}
    assert intake.severity["warning"] == Severity.SEV3


def test_the_documented_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is missing: apt-get install prometheus-alertmanager (.ci/run does).")
    (config,) = [b for b in blocks("yaml") if "webhook_configs" in b]
    secret = tmp_path / "warroom-intake.secret"
    secret.write_text("a-long-random-secret-0123456789")
    path = tmp_path / "alertmanager.yml"
    path.write_text(config.replace("/etc/alertmanager/warroom-intake.secret", str(secret)))
    done = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/alerts/alertmanager" in config
