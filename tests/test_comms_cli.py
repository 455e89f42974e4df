"""``warroom comms preview`` run as a command against a real hub and its database file."""

from __future__ import annotations

import asyncio
import re
import sys

from tests.helpers import client, declare_incident, running_hub
from warroom.cli import main
from warroom.core.board import BoardItemAdded
from warroom.core.clock import utc_now
from warroom.core.protocol import Ack

GUESS = "connection leak in the v2.3.1 payment client"
FACT = "error rate on /pay is 23% since 13:55"


async def warroom(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "warroom",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


async def in_process(capsys, *args: str) -> tuple[int, str, str]:
    """The same command through ``main`` in a worker thread (it runs its own event loop)."""
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_preview_prints_the_next_update_without_guesses_and_leaves_no_trace(tmp_path, capsys):
    db = tmp_path / "hub.db"
    # The real clock: the command computes "now" itself, as it would for a person.
    async with running_hub(db, clock=utc_now) as hub:  # type: ignore[arg-type]
        incident = await declare_incident(hub.url, severity="SEV1", scope="Card payments in the EU")
        ana = await client(hub.url, "ana", "ic", incident)
        await ana.post(BoardItemAdded(kind="fact", text=FACT))
        last = await ana.post(BoardItemAdded(kind="guess", text=GUESS))
        assert isinstance(last, Ack)
        head = hub.hub.rooms[incident].head

        code, out, err = await warroom("comms", "preview", "--hub", hub.url, "--incident", incident)
        assert code == 0, err
        lines = out.splitlines()
        assert re.fullmatch(r"Checkout errors after deploy - update #1 \(\d\d:\d\d UTC\)", lines[0])
        assert "Affected: Card payments in the EU" in lines
        assert FACT in out and GUESS not in out
        assert re.fullmatch(r"Next update: by \d\d:\d\d UTC", lines[-1])
        assert re.fullmatch(
            r"The next update is due by \d\d:\d\d UTC \(next update \d\d:\d\d\)\.\n", err
        )
        assert hub.hub.rooms[incident].head == head  # previewing wrote nothing

        code, out, _ = await in_process(
            capsys,
            "comms",
            "preview",
            "--hub",
            hub.url,
            "--incident",
            incident,
            "--audience",
            "internal",
        )
        assert code == 0 and GUESS in out and out.startswith("[")

        code, _, err = await in_process(
            capsys, "comms", "preview", "--hub", hub.url, "--incident", incident, "--last"
        )
        assert code == 1 and "no update has been published" in err
        await ana.close()

    code, out, _ = await in_process(
        capsys, "comms", "preview", "--db", str(db), "--incident", incident
    )
    assert code == 0 and FACT in out and GUESS not in out
    code, _, err = await in_process(
        capsys, "comms", "preview", "--db", str(db), "--incident", "inc-nope"
    )
    assert code == 1 and "no incident inc-nope" in err


def test_the_audience_choices_are_the_update_audiences():
    """The parser names the audiences without importing the models (issue 24); they agree."""
    from warroom.comms_command import AUDIENCES
    from warroom.core.comms_state import Audience

    assert sorted(AUDIENCES) == sorted(a.value for a in Audience)


async def test_preview_finds_the_token_as_join_does(tmp_path, capsys, monkeypatch):
    """On a hub with tokens, ``--token`` was the only way in: a token kept where the README says
    (WARROOM_TOKEN, the config file) was not read, and the hub refused the preview."""
    async with running_hub(tmp_path / "hub.db", tokens={"oncall": "s3cret"}) as hub:
        incident = await declare_incident(hub.url, token="s3cret")
        monkeypatch.setenv("WARROOM_TOKEN", "s3cret")
        code, out, err = await in_process(
            capsys, "comms", "preview", "--hub", hub.url, "--incident", incident
        )
        assert code == 0, err
        assert "update #1" in out
