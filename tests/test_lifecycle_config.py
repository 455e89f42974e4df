"""Severity definitions, expected times and cadences read from the hub's TOML config file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.config import apply_config_file, load_config_file

from tests.helpers import HubProcess, client, declare_incident
from warroom.core.severity import RUBRIC, Severity

CONFIG = """
[severity]
first_update_minutes = 5

[severity.SEV1]
meaning = "Payments down for everyone, or ledger integrity at risk."
time_to_mitigate_minutes = 30
update_cadence_minutes = 10

[severity.SEV4]
time_to_mitigate_minutes = 480
update_cadence_minutes = "none"

[severity.sev3]
time_to_mitigate_minutes = "none"
"""


def read(tmp_path, text: str) -> HubConfig:
    path = tmp_path / "warroom.toml"
    path.write_text(text)
    return apply_config_file(HubConfig(), load_config_file(path))


def test_the_severity_section_overrides_only_what_it_names(tmp_path):
    policy = read(tmp_path, CONFIG).settings.policy
    assert policy.time_to_mitigate[Severity.SEV1] == timedelta(minutes=30)
    assert policy.update_cadence[Severity.SEV1] == timedelta(minutes=10)
    assert policy.meaning(Severity.SEV1).startswith("Payments down")
    assert policy.time_to_mitigate[Severity.SEV3] is None
    assert policy.time_to_mitigate[Severity.SEV4] == timedelta(hours=8)
    assert policy.update_cadence[Severity.SEV4] is None
    assert policy.first_update_after == timedelta(minutes=5)
    # untouched levels keep the defaults
    assert policy.time_to_mitigate[Severity.SEV2] == timedelta(hours=4)
    assert policy.meaning(Severity.SEV2) == RUBRIC[Severity.SEV2]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[severity.SEV5]\ntime_to_mitigate_minutes = 5\n", "SEV5] is not a severity level"),
        ("[severity.SEV1]\nttm = 5\n", "unknown keys ttm"),
        ("[severity.SEV1]\ntime_to_mitigate_minutes = 0\n", "above 0"),
        ('[severity.SEV1]\nupdate_cadence_minutes = "soon"\n', "update_cadence_minutes must"),
        ('[severity.SEV1]\nmeaning = ""\n', "meaning must be a non-empty text"),
        ('[severity]\nfirst_update_minutes = "none"\n', "first_update_minutes must"),
    ],
)
def test_a_bad_severity_section_stops_the_hub_with_a_message_naming_the_key(tmp_path, text, words):
    with pytest.raises(HubConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        read(tmp_path, text)


async def test_warroom_serve_with_config_stamps_the_policy_on_each_incident(tmp_path):
    path = tmp_path / "warroom.toml"
    path.write_text(CONFIG)
    hub = HubProcess(tmp_path / "hub.db", None, "--config", str(path))
    hub.start()
    try:
        incident = await declare_incident(hub.url, severity="SEV1")
        ana = await client(hub.url, "ana", "ic", incident)
        policy = ana.state.settings.policy
        assert policy.time_to_mitigate[Severity.SEV1] == timedelta(minutes=30)
        assert policy.update_cadence[Severity.SEV4] is None
        assert policy.meaning(Severity.SEV1).startswith("Payments down")
        await ana.close()
    finally:
        hub.kill()
