"""The user's config file as validated data: one error style, ``[keys]`` and the themes folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console_helpers import console_session
from warroom.cli import main
from warroom.config import ConfigError, load_config
from warroom.console.screens.help import HelpScreen

NIGHT_SHIFT = """\
primary = "#88c0d0"
background = "#0b0e14"
dark = true
[variables]
sev1 = "#ff5555"
"""


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    (home / "warroom").mkdir(parents=True)
    return home / "warroom" / "config.toml"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # wrong type
        ('port = "8765"\n', "config.toml: port: port must be a number from 0 to 65535"),
        ("name = 7\n", "config.toml: name: expected text in quotes (got 7)"),
        ("[keys]\nhelp = 1\n", "config.toml: [keys] help: expected text in quotes (got 1)"),
        ('keys = "f1"\n', "config.toml: keys: expected a table"),
        # unknown key
        ('nmae = "ana"\n', "config.toml: unknown setting(s) nmae; known: hub, keys, name,"),
        # bad value
        ('role = "boss"\n', "config.toml: role: unknown role 'boss'; choose one of"),
        ('name = "  "\n', "config.toml: name: must not be empty"),
        ('[keys]\nhelp = ""\n', "config.toml: [keys] help: must not be empty"),
        # not TOML
        ("name = \n", "config.toml: not valid TOML"),
    ],
)
def test_a_bad_user_config_names_file_key_and_problem(config_home: Path, text: str, line: str):
    config_home.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert message.startswith(str(config_home)), message
    assert line in message


def test_every_problem_is_listed_once_each(config_home: Path):
    config_home.write_text('name = 7\nport = -1\ncolour = "red"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    lines = str(caught.value).splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"{config_home}: ") for line in lines)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("primary = 5\n", "night-shift.toml: primary: expected text in quotes (got 5)"),
        ('primary = "#fff"\nglow = 1\n', "night-shift.toml: unknown setting(s) glow; known:"),
        ('primary = "#fff"\ntext_alpha = 3\n', "night-shift.toml: text_alpha: too large (got 3.0)"),
        ("primary = \n", "night-shift.toml: not valid TOML"),
        ('secondary = "#fff"\n', "night-shift.toml: primary: is required"),
    ],
)
def test_a_bad_theme_file_names_file_key_and_problem(config_home: Path, text: str, line: str):
    themes = config_home.parent / "themes"
    themes.mkdir()
    (themes / "night-shift.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert line in str(caught.value)


def test_warroom_join_prints_the_problem_not_a_traceback(
    config_home: Path, capsys: pytest.CaptureFixture[str]
):
    config_home.write_text('port = "eighty"\n')
    assert main(["join", "ws://127.0.0.1:1", "--name", "ana"]) == 2
    err = capsys.readouterr().err
    assert "config.toml: port: port must be a number" in err
    assert "Traceback" not in err


def test_keys_and_themes_are_read_beside_the_config_file(config_home: Path):
    config_home.write_text('name = "ana"\n[keys]\nhelp = "f1"\n"form.publish_anyway" = "ctrl+p"\n')
    (config_home.parent / "themes").mkdir()
    (config_home.parent / "themes" / "night-shift.toml").write_text(NIGHT_SHIFT)
    config = load_config()
    assert config.keys == {"help": "f1", "form.publish_anyway": "ctrl+p"}
    assert [t.name for t in config.themes] == ["night-shift"]
    assert config.themes[0].variables == {"sev1": "#ff5555"}


async def test_a_remapped_key_opens_help_and_the_old_key_no_longer_does(
    tmp_path: Path, config_home: Path
):
    config_home.write_text('[keys]\nhelp = "f1"\n')
    config = load_config()
    async with console_session(tmp_path, keymap=config.keys) as s:
        await s.pilot.press("question_mark")
        await s.pilot.pause()
        assert not isinstance(s.app.screen, HelpScreen)
        await s.pilot.press("f1")
        await s.wait_for(lambda: isinstance(s.app.screen, HelpScreen))


async def test_a_user_theme_can_be_chosen_from_the_palette(tmp_path: Path, config_home: Path):
    (config_home.parent / "themes").mkdir()
    (config_home.parent / "themes" / "night-shift.toml").write_text(NIGHT_SHIFT)
    config = load_config()
    async with console_session(tmp_path, user_themes=config.themes) as s:
        assert s.app.theme == "warroom-dark"
        await s.pilot.press("ctrl+p")
        await s.pilot.pause()
        await s.pilot.press(*"Theme: night-shift")
        await s.pilot.pause(0.3)
        await s.pilot.press("enter")
        await s.wait_for(lambda: s.app.theme == "night-shift")
        assert s.app.current_theme.primary == "#88c0d0"
        assert s.app.theme_variables["sev1"] == "#ff5555"
        assert s.app.theme_variables["link-live"]  # warroom's own variables keep defaults


async def test_a_user_theme_can_be_the_configured_theme(tmp_path: Path, config_home: Path):
    (config_home.parent / "themes").mkdir()
    (config_home.parent / "themes" / "night-shift.toml").write_text(NIGHT_SHIFT)
    config = load_config()
    async with console_session(tmp_path, theme="night-shift", user_themes=config.themes) as s:
        assert s.app.theme == "night-shift"


async def test_a_misspelt_binding_id_is_reported_not_silently_ignored(tmp_path: Path):
    async with console_session(tmp_path, keymap={"help": "f1", "form.pubish_anyway": "f9"}) as s:
        said = [n.message for n in s.app._notifications]
        assert any("form.pubish_anyway" in m and "names no key" in m for m in said), said
        assert not any("help," in m or m.endswith(": help.") for m in said)


def test_every_binding_id_the_readme_names_exists():
    from warroom.console.keymap import binding_ids

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Your own keys", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`([a-z-]+\.[a-z_.-]+)`", section)) - {"config.toml"}
    assert len(named) > 10, named
    assert named <= binding_ids(), named - binding_ids()
