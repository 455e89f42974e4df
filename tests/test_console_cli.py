"""Starting the console: the config file, `warroom join` options, and `warroom` alone."""

from __future__ import annotations

import argparse
import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import httpx
import pytest
from warroom.themes import resolve_theme

from tests.helpers import free_port
from warroom.cli import main
from warroom.config import ConfigError, load_config
from warroom.console.launch import hub_url, resolve_seat
from warroom.core.roles import Role


@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    (home / "warroom").mkdir(parents=True)
    return home / "warroom" / "config.toml"


def join_args(*argv: str) -> argparse.Namespace:
    defaults = {"url": None, "name": None, "role": None, "token": None, "theme": None}
    parsed = dict(zip(argv[::2], argv[1::2], strict=True))
    return argparse.Namespace(**{**defaults, **parsed})


def test_the_config_file_honours_xdg_config_home(config_home):
    config_home.write_text(
        'name = "ana"\nrole = "scribe"\ntheme = "light"\nhub = "10.0.0.5:8765"\nport = 9001\n'
    )
    config = load_config()
    assert (config.name, config.role, config.theme, config.port) == (
        "ana",
        Role.SCRIBE,
        "light",
        9001,
    )
    seat = resolve_seat(join_args(), config)
    assert (seat.url, seat.name, seat.role) == ("ws://10.0.0.5:8765", "ana", Role.SCRIBE)
    assert resolve_theme(seat.theme) == "warroom-light"


def test_options_win_over_the_config_file(config_home):
    config_home.write_text('name = "ana"\nrole = "scribe"\nhub = "ws://a:1"\n')
    seat = resolve_seat(join_args("url", "ws://b:2", "name", "bo", "role", "IC"), load_config())
    assert (seat.url, seat.name, seat.role) == ("ws://b:2", "bo", Role.IC)


@pytest.mark.parametrize(
    "text,complaint",
    [
        ('nmae = "ana"', "unknown setting(s) nmae"),
        ('role = "boss"', "unknown role 'boss'"),
        ("port = 70000", "port must be a number"),
        ("name = ", "config.toml"),
    ],
)
def test_a_broken_config_file_says_what_to_fix(config_home, text, complaint):
    config_home.write_text(text + "\n")
    with pytest.raises(ConfigError, match=None) as caught:
        load_config()
    assert complaint in str(caught.value)


def test_join_without_a_hub_or_name_explains(config_home, capsys):
    assert main(["join"]) == 2
    assert "which hub?" in capsys.readouterr().err
    assert main(["join", "ws://127.0.0.1:1"]) == 2
    assert "who are you? give --name" in capsys.readouterr().err
    assert main(["join", "ws://127.0.0.1:1", "--name", "x", "--role", "chief"]) == 2
    assert "unknown role 'chief'" in capsys.readouterr().err


def test_hub_addresses():
    assert hub_url("10.0.0.5:8765") == "ws://10.0.0.5:8765"
    assert hub_url("wss://hub.example/") == "wss://hub.example"
    with pytest.raises(ConfigError):
        hub_url("http://hub:8765")


def run_alone(
    tmp_path: Path, config: str, argv: list[str], expect: bytes, port: int | None = None
) -> str:
    """Run `warroom [argv]` in a real terminal (a pty) until ``expect`` shows; quit; the output."""
    (tmp_path / "config" / "warroom").mkdir(parents=True)
    (tmp_path / "config" / "warroom" / "config.toml").write_text(config)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "TERM": "xterm-256color"}  # fmt: skip
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "warroom", *argv], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True)  # fmt: skip
    os.close(slave)
    output = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            output.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while expect not in output:
            assert proc.poll() is None, output.decode(errors="replace")
            assert time.monotonic() < deadline, output.decode(errors="replace")
            time.sleep(0.1)
        if port is not None:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            assert health["status"] == "ok"
        os.write(master, b"\x11")  # Ctrl+Q
        assert proc.wait(15) == 0
        return output.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        reader.join(2)


def test_a_token_is_read_from_a_private_config_file_or_the_environment(config_home, monkeypatch):
    monkeypatch.delenv("WARROOM_TOKEN", raising=False)
    config_home.write_text('name = "ana"\nhub = "ws://a:1"\ntoken = "wrp_from_the_file"\n')
    config_home.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config()  # others could read the token
    config_home.chmod(0o600)
    assert resolve_seat(join_args(), load_config()).token == "wrp_from_the_file"
    monkeypatch.setenv("WARROOM_TOKEN", "wrp_from_the_environment")
    assert resolve_seat(join_args(), load_config()).token == "wrp_from_the_environment"
    # --token still wins (it works, but stays in the shell history: the help says so).
    seat = resolve_seat(join_args("token", "wrp_typed"), load_config())
    assert seat.token == "wrp_typed"
    # A file without a token may be readable by others.
    config_home.write_text('name = "ana"\n')
    config_home.chmod(0o644)
    assert load_config().token is None


def test_the_name_typed_is_normalised_as_the_hub_will_record_it(config_home):
    seat = resolve_seat(
        join_args("url", "ws://a:1", "name", "\uff44\uff41\uff4e\uff41  x"), load_config()
    )
    assert seat.name == "dana x"


def test_warroom_alone_runs_a_hub_and_opens_the_console(tmp_path):
    """`warroom` with no command, in a real terminal (a pty): hub, console, the join line."""
    port = free_port()
    text = run_alone(tmp_path, f'name = "ana"\nport = {port}\n', [], b"you join as ana", port)
    assert f"warroom join ws://127.0.0.1:{port} --name NAME --role ROLE" in text
    assert (tmp_path / "data" / "warroom" / "warroom.db").exists()


def test_warroom_alone_takes_the_person_options_of_join(tmp_path):
    """`warroom --name eve --role ic --theme ...` (no command) was refused: invalid choice 'eve'."""
    port = free_port()
    argv = ["--name", "eve", "--role", "ic", "--theme", "warroom-light"]
    text = run_alone(tmp_path, f'name = "ana"\nport = {port}\n', argv, b"you join as eve")
    assert "invalid choice" not in text


def test_person_options_without_a_command_win_over_the_config_file(config_home):
    from warroom.cli import build_parser
    from warroom.console.launch import resolve_here

    config_home.write_text('name = "ana"\nrole = "scribe"\ntheme = "warroom-dark"\n')
    args = build_parser().parse_args(
        ["--name", "eve", "--role", "comms", "--theme", "warroom-light", "--incident", "inc-1"]
    )
    assert args.command is None
    seat = resolve_here(args, load_config())
    assert (seat.name, seat.role, seat.theme, seat.incident) == (
        "eve", Role.COMMS, "warroom-light", "inc-1"
    )  # fmt: skip
    plain = resolve_here(build_parser().parse_args([]), load_config())
    assert (plain.name, plain.role, plain.theme) == ("ana", Role.SCRIBE, "warroom-dark")
    # join keeps its own options: nothing top-level leaks into it
    joined = build_parser().parse_args(["join", "ws://h:1", "--name", "bo"])
    assert joined.name == "bo" and joined.here_name is None
    with pytest.raises(ConfigError):
        resolve_here(build_parser().parse_args(["--role", "boss"]), load_config())


async def test_join_asks_for_a_token_only_when_the_hub_refuses_without_one(tmp_path):
    """The probe `warroom join` makes before the console starts (stdlib HTTP, not httpx, so the
    first frame does not wait for httpx's import and TLS set-up)."""
    import asyncio

    from tests.helpers import running_hub
    from warroom.console.launch import hub_status

    async with running_hub(tmp_path / "open.db") as hub:
        assert await asyncio.to_thread(hub_status, hub.url) == 200
    async with running_hub(tmp_path / "closed.db", tokens={"tok-ana": "ana"}) as hub:
        assert await asyncio.to_thread(hub_status, hub.url) == 401
    assert await asyncio.to_thread(hub_status, f"ws://127.0.0.1:{free_port()}", None, 2) is None
