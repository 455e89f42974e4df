"""``[intake]`` in the hub's config file: credentials kept as digests, the severity mapping, and
every mistake named on one line with the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.config import read_config_file
from warroom.hub.intake_config import DEFAULT_INTAKE_PORT, secret_digest

from warroom.core.severity import Severity

DIGEST = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"


def read(tmp_path: Path, text: str) -> HubConfig:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return read_config_file(path, HubConfig())


def test_intake_section_fills_the_config_and_keeps_only_digests(tmp_path: Path) -> None:
    config = read(
        tmp_path,
        '[intake]\nport = 9100\nmax_body = 65536\nseverity_label = "priority"\n'
        'severity = { P1 = "SEV1", p2 = "sev2" }\n'
        '[intake.credentials]\nalertmanager = "a-long-random-secret-123"\n'
        f'grafana = "sha256:{DIGEST.upper()}"\n',
    )
    intake = config.intake
    assert intake is not None
    assert (intake.port, intake.max_body, intake.severity_label) == (9100, 65536, "priority")
    assert intake.severity == {"p1": Severity.SEV1, "p2": Severity.SEV2}
    assert intake.credentials == {
        "alertmanager": secret_digest("a-long-random-secret-123"),
        "grafana": DIGEST,
    }
    assert "a-long-random-secret-123" not in repr(config)


def test_defaults_and_no_intake_without_the_section(tmp_path: Path) -> None:
    assert read(tmp_path, "[hub]\nport = 9000\n").intake is None
    intake = read(tmp_path, '[intake.credentials]\nam = "a-long-random-secret-123"\n').intake
    assert intake is not None
    assert intake.port == DEFAULT_INTAKE_PORT
    assert intake.severity["critical"] == Severity.SEV1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[intake]\nport = 1\n", "[intake.credentials] must name at least one credential"),
        ('[intake.credentials]\nam = "short"\n', "[intake.credentials] am: too short"),
        ('[intake.credentials]\nam = "sha256:abc"\n', "[intake.credentials] am: a digest is"),
        ("[intake.credentials]\nam = 5\n", "[intake.credentials] am: expected a secret"),
        ('[intake]\nprot = 1\n[intake.credentials]\nam = "a-long-random-secret-1"\n', "prot"),
        ('[intake]\nport = "x"\n', "[intake] port: expected a port number"),
        ('[intake]\nseverity = { critical = "P1" }\n', "[intake] severity.critical: 'P1'"),
        ('intake = "yes"\n', "[intake] must be a table"),
        # issue 20's keys
        ('[intake]\nauto_declare = "yes"\n', "[intake] auto_declare: expected a list of rules"),
        ("[[intake.auto_declare]]\nmatch = {}\n", "rule 1: match needs label"),
        ('[[intake.auto_declare]]\nmatch = { a = "b" }\nseverity = "SEV9"\n', "'SEV9' is not"),
        ('[[intake.auto_declare]]\nmatch = { a = "b" }\nwhen = "always"\n', "takes match"),
        ('[intake]\nscope = "service"\n', "[intake] scope: expected a list"),
        ("[intake]\ntimeline_every = -1\n", "[intake] timeline_every: expected seconds"),
    ],
)
def test_bad_intake_section_is_named(tmp_path: Path, text: str, line: str) -> None:
    with pytest.raises(HubConfigError) as caught:
        read(tmp_path, text)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "hub.toml")), message
    assert line in message, message
