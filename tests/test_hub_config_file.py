"""The hub's config file as validated data: every problem as ``FILE: [section] key: what``."""

from __future__ import annotations

from pathlib import Path

import pytest
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.config import read_config_file

from warroom.cli import main


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # wrong type
        ('[hub]\nport = "8765"\n', "hub.toml: [hub] port: expected a whole number (got '8765')"),
        ("[limits]\nrate = true\n", "hub.toml: [limits] rate: expected a number (got True)"),
        ("[tokens]\noncall = 5\n", "hub.toml: [tokens] oncall: expected text in quotes (got 5)"),
        ('hub = "127.0.0.1"\n', "hub.toml: hub: expected a table"),
        (
            '[lock]\nttl_minutes = "ten"\n',
            "hub.toml: [lock] ttl_minutes = 'ten': expected a number",
        ),
        # unknown key
        ("[hub]\nprot = 1\n", "hub.toml: [hub] unknown setting(s) prot; known: certfile, db,"),
        ("[limit]\nrate = 1\n", "hub.toml: unknown setting(s) limit; known: hub, intake, limits,"),
        ("[limits]\nrate_of_fire = 1\n", "hub.toml: [limits] unknown setting(s) rate_of_fire"),
        ("[roles]\nic_rotation = 3\n", "hub.toml: [roles] has unknown keys: ic_rotation"),
        # bad value
        ("[hub]\nport = 70000\n", "hub.toml: [hub] port: too large (got 70000)"),
        ('[hub]\ndurability = "sometimes"\n', "hub.toml: [hub] durability: not one of the choices"),
        ("[limits]\nburst = -1\n", "hub.toml: [limits] burst: too small (got -1)"),
        ("[limits]\nstall_timeout = 0\n", "hub.toml: [limits] stall_timeout: too small (got 0"),
        ("[severity.SEV1]\ntime_to_mitigate_minutes = 0\n", "hub.toml: [severity.SEV1] time_to"),
        # not TOML
        ("[hub\nport = 1\n", "hub.toml: not valid TOML"),
    ],
)
def test_a_bad_hub_config_names_file_key_and_problem(tmp_path: Path, text: str, line: str):
    path = tmp_path / "hub.toml"
    path.write_text(text)
    with pytest.raises(HubConfigError) as caught:
        read_config_file(path, HubConfig())
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert line in message


def test_a_good_hub_config_fills_the_config(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text(
        '[hub]\nhost = "0.0.0.0"\nport = 9000\ndb = "~/w.db"\ndurability = "normal"\n'
        '[tokens]\noncall = "s3cret"\n[limits]\nrate = 5\nmax_connections = 10\nper_token = 7\n'
        "[lock]\nttl_minutes = 15\n"
    )
    config = read_config_file(path, HubConfig())
    assert (config.host, config.port, config.durability) == ("0.0.0.0", 9000, "normal")
    assert config.db == Path("~/w.db").expanduser()
    assert config.tokens == {"oncall": "s3cret"}
    assert (config.limits.rate, config.max_connections) == (5.0, 10)
    assert getattr(config.limits, "per_token") == 7  # noqa: B009 - a per-credential limit
    assert config.settings.lock_ttl.total_seconds() == 15 * 60


def test_warroom_serve_prints_the_problem_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "hub.toml"
    path.write_text('[hub]\nport = "eighty"\n[limits]\nburst = -1\n')
    assert main(["serve", "--config", str(path), "--db", str(tmp_path / "h.db")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: [hub] port: expected a whole number" in err
    assert f"{path}: [limits] burst: too small" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_on_the_command_line_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    """`--port 99999` used to end in a traceback from the socket layer (`bind(): port must be
    0-65535`); the config file's `port` was already checked, the flag was not."""
    db = tmp_path / "h.db"
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--port", port, "--db", str(db)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--port" in err and "0 to 65535" in err, err
    assert "Traceback" not in err
    assert not db.exists(), "nothing was created"
