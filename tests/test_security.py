"""Who gets in and as whom: named tokens, join codes, impersonation, Origin, TLS, bind refusal.

Every test runs a real hub on 127.0.0.1 and talks to it with real websocket clients.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from warroom.hub.app import HubConfig, HubConfigError, HubServer
from warroom.hub.config import apply_config_file
from warroom.hub.credentials import authenticate, match_token
from warroom.hub.storage import Store
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from tests.helpers import T0, client, declare_incident, eventually, fast_backoff, running_hub
from warroom import cli
from warroom.client.lobby import HubRefused, list_incidents
from warroom.client.sync import IncidentClient
from warroom.core.access import (
    JOIN_CODE_HEADER,
    JoinCodeCreated,
    JoinCodeRevoked,
    new_join_code,
    parse_join_code,
)
from warroom.core.clock import ManualClock
from warroom.core.incident import NoteAdded

#: The hand-driven client in these tests (an outsider: its own logs are not the hub's concern).
RAW_CLIENT = logging.getLogger("tests.raw_client")
TOKENS = {"oncall": "s3cret-oncall-token", "sre": "another-sre-secret"}


async def talk(
    url: str, *messages: dict | str, headers: dict | None = None, until: str | None = None
) -> list[dict]:
    """Send frames on one raw connection; collect replies (all of them up to ``until``)."""
    replies: list[dict] = []
    async with connect(url, additional_headers=headers or {}, logger=RAW_CLIENT) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, str) else json.dumps(message))
            if until is None:
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        while until is not None:
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            if replies[-1].get("op") == until or replies[-1].get("code") == until:
                break
    return replies


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def guest_client(url: str, name: str, role: str, incident: str, code: str) -> IncidentClient:
    c = IncidentClient(url, name, role, incident, join_code=code, backoff=fast_backoff())
    c.start()
    return c


# --- hub tokens ------------------------------------------------------------------------------
async def test_named_tokens_from_the_config_file_each_let_in_and_are_remembered_by_name(tmp_path):
    config = apply_config_file(HubConfig(), {"tokens": TOKENS})
    async with running_hub(tmp_path / "hub.db", tokens=config.tokens) as hub:
        for name in TOKENS:
            assert (await talk(hub.url, {"op": "ping"}, headers=bearer(name)))[0]["op"] == "pong"
        for wrong in (
            "",
            "Bearer",
            "Bearer s3cret",
            "Bearer s3cret-oncall-token-and-more",
            f"Basic {TOKENS['oncall']}",
            f"Bearer {TOKENS['oncall'][:-1]}",
        ):
            with pytest.raises(InvalidStatus) as refused:
                await talk(hub.url, {"op": "ping"}, headers={"Authorization": wrong})
            assert refused.value.response.status_code == 401
        async with connect(hub.url, additional_headers=bearer("sre")) as ws:
            await ws.send(json.dumps({"op": "ping"}))
            await ws.recv()
            (credential,) = [c for c in hub.hub.credentials.values() if c.name == "sre"]
            assert credential.kind == "token" and not credential.guest


def test_serve_refuses_to_listen_beyond_loopback_without_token_and_tls(tmp_path, capsys):
    base = ["serve", "--db", str(tmp_path / "h.db"), "--host", "0.0.0.0", "--port", "0"]
    for extra, missing in (
        ([], "without a token and TLS"),
        (["--token", "t0ken-value"], "without TLS"),
        (["--certfile", str(tmp_path / "x.pem")], "without a token"),
    ):
        assert cli.main(base + extra) == 2
        err = capsys.readouterr().err
        assert missing in err and "--insecure" in err and "t0ken-value" not in err


def test_bind_refusal_rules(tmp_path):
    db = tmp_path / "h.db"
    with pytest.raises(HubConfigError, match="without a token and TLS"):
        HubServer(HubConfig(host="0.0.0.0", db=db))
    with pytest.raises(HubConfigError, match="without TLS"):
        HubServer(HubConfig(host="192.0.2.10", db=db, tokens={"a": "b"}))
    HubServer(HubConfig(host="0.0.0.0", db=db, insecure=True)).close()
    HubServer(HubConfig(host="::1", db=db)).close()  # loopback needs neither
    with pytest.raises(HubConfigError, match="durability"):
        HubServer(HubConfig(db=tmp_path / "d.db", durability="sometimes"))


# --- impersonation ---------------------------------------------------------------------------
async def test_actor_and_role_are_stamped_from_the_connection_never_from_the_command(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        incident = await declare_incident(hub.url, name="ana")
        forged_id = str(uuid.uuid4())
        replies = await talk(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "mallory", "role": "responder"},
            {"op": "join", "incident": incident},
            {
                "op": "command",
                "command": {
                    "type": "note_added",
                    "id": forged_id,
                    "text": "rolling back now",
                    "actor": "ana",
                    "role": "ic",
                    "seq": 1,
                    "at": "2020-01-01T00:00:00Z",
                },
            },
            until="ack",
        )
        assert replies[-1]["id"] == forged_id
        (stored,) = [e for e in hub.store.events(incident) if str(e.id) == forged_id]
        assert stored.actor == "mallory" and stored.role == "responder"
        assert stored.seq == replies[-1]["seq"] and stored.at.year == 2026
        # Claiming to be the IC in the command does not give the IC's rights either.
        refused_before = hub.hub.refused
        replies = await talk(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "mallory", "role": "responder"},
            {"op": "join", "incident": incident},
            {
                "op": "command",
                "command": {
                    "type": "role_assigned",
                    "assigned_role": "scribe",
                    "holder": "mallory",
                    "actor": "ana",
                    "role": "ic",
                },
            },
            until="error",
        )
        assert replies[-1]["code"] == "forbidden"
        assert hub.hub.refused == refused_before + 1
        assert hub.hub.rooms[incident].state.holder("scribe") is None


# --- Origin ----------------------------------------------------------------------------------
async def test_a_browser_origin_cannot_open_the_websocket(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as hub:
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null", **bearer("oncall")}):
            with pytest.raises(InvalidStatus) as refused:
                await talk(hub.url, {"op": "ping"}, headers=headers)
            assert refused.value.response.status_code == 403
        async with httpx.AsyncClient() as http:
            page = await http.get(
                f"http://127.0.0.1:{hub.port}/incidents",
                headers={"Origin": "https://evil.example", **bearer("oncall")},
            )
            assert page.status_code == 403
        assert hub.hub.health()["connections"] == 0


# --- join codes ------------------------------------------------------------------------------
async def test_join_code_lets_a_guest_into_one_incident_only(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as hub:
        token = TOKENS["oncall"]
        incident = await declare_incident(hub.url, name="ana", token=token)
        other = await declare_incident(hub.url, name="ana", token=token, title="Other")
        ana = await client(hub.url, "ana", "ic", incident, token=token)
        issued = new_join_code(incident)
        ack = await ana.post(
            JoinCodeCreated(code_id=issued.code_id, digest=issued.digest, label="db vendor")
        )
        assert ack.op == "ack"

        vic = guest_client(hub.url, "vic", "responder", incident, issued.code)
        await vic.wait_synced()
        assert (await vic.post(NoteAdded(text="pool size is 10 on our side"))).op == "ack"
        # The hub records a guest with a visible marker, whatever name it asked for.
        assert vic.name == "guest:vic"
        assert vic.state.access.guests == {"guest:vic": issued.code_id}
        assert [e for e in vic.log if e.type == "guest_admitted"][0].name == "guest:vic"
        assert [e for e in vic.log if e.type == "note_added"][-1].actor == "guest:vic"

        # ... only that incident: not another one, not a new one, not the hub's list.
        headers = {JOIN_CODE_HEADER: issued.code}
        replies = await talk(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "vic2"},
            {"op": "join", "incident": other},
            headers=headers,
        )
        assert replies[1]["code"] == "forbidden" and incident in replies[1]["message"]
        replies = await talk(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "vic3"},
            {
                "op": "command",
                "command": {"type": "incident_declared", "title": "x", "severity": "SEV1"},
            },
            headers=headers,
        )
        assert replies[1]["code"] == "forbidden"
        rows = await list_incidents(hub.url, join_code=issued.code)
        assert [r["id"] for r in rows] == [incident]
        assert len(await list_incidents(hub.url, token=token)) == 2
        # A made-up or mangled code is refused like a wrong token.
        forged = new_join_code(incident)
        for bad in (
            forged.code,
            issued.code[:-1] + ("B" if issued.code.endswith("A") else "A"),
            f"{other}:{issued.code_id}:x" * 2,
        ):
            with pytest.raises(HubRefused):
                await list_incidents(hub.url, join_code=bad)
        # The secret is nowhere in the database; its digest is.
        dump = "\n".join(hub.store.db.conn.iterdump())
        assert issued.code.rsplit(":", 1)[1] not in dump and issued.digest in dump
        await vic.close()
        await ana.close()


async def test_a_guest_cannot_become_ic_or_take_a_team_members_name(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as hub:
        token = TOKENS["oncall"]
        incident = await declare_incident(hub.url, name="ana", token=token)
        ana = await client(hub.url, "ana", "ic", incident, token=token)
        bo = await client(hub.url, "bo", "responder", incident, token=token)
        watch = new_join_code(incident)
        await ana.post(
            JoinCodeCreated(code_id=watch.code_id, digest=watch.digest, seat_limit="observer")
        )
        headers = {JOIN_CODE_HEADER: watch.code}
        replies = await talk(
            hub.url,
            {"op": "hello", "protocol": 2, "name": "exec", "role": "responder"},
            {"op": "hello", "protocol": 2, "name": "exec", "role": "ic"},
            {"op": "hello", "protocol": 2, "name": "bo", "role": "observer"},
            {"op": "join", "incident": incident},
            headers=headers,
        )
        codes = [r.get("code", r["op"]) for r in replies]
        assert codes == ["forbidden", "forbidden", "welcome", "forbidden"]
        assert "taken by a member of the team" in replies[3]["message"]
        # Non-IC participants cannot hand out or revoke codes (refused and counted).
        refused = hub.hub.refused
        mine = new_join_code(incident)
        reply = await bo.post(JoinCodeCreated(code_id=mine.code_id, digest=mine.digest))
        assert reply.op == "error" and reply.code == "forbidden"
        reply = await bo.post(JoinCodeRevoked(code_id=watch.code_id))
        assert reply.op == "error" and reply.code == "forbidden"
        assert hub.hub.refused == refused + 2
        assert list(hub.hub.rooms[incident].state.access.codes) == [watch.code_id]
        # The observer code lets someone watch, and nothing more.
        exec_ = guest_client(hub.url, "exec", "observer", incident, watch.code)
        await exec_.wait_synced()
        reply = await exec_.post(NoteAdded(text="any update?"))
        assert reply.op == "error" and reply.code == "forbidden"
        await exec_.close()
        await bo.close()
        await ana.close()


async def test_revoking_a_code_disconnects_its_guests_and_no_one_else(tmp_path):
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as hub:
        token = TOKENS["oncall"]
        incident = await declare_incident(hub.url, name="ana", token=token)
        ana = await client(hub.url, "ana", "ic", incident, token=token)
        bo = await client(hub.url, "bo", "responder", incident, token=token)
        first, second = new_join_code(incident), new_join_code(incident)
        for issued in (first, second):
            await ana.post(JoinCodeCreated(code_id=issued.code_id, digest=issued.digest))
        vic = guest_client(hub.url, "vic", "responder", incident, first.code)
        wes = guest_client(hub.url, "wes", "observer", incident, first.code)
        kim = guest_client(hub.url, "kim", "responder", incident, second.code)
        for guest in (vic, wes, kim):
            await guest.wait_synced()

        ack = await ana.post(JoinCodeRevoked(code_id=first.code_id))
        assert ack.op == "ack"
        await eventually(lambda: vic.fatal is not None and wes.fatal is not None, timeout=10)
        assert "join code" in vic.fatal
        with pytest.raises(InvalidStatus) as refused:
            await talk(hub.url, {"op": "ping"}, headers={JOIN_CODE_HEADER: first.code})
        assert refused.value.response.status_code == 401
        # Everyone else stays, and keeps working.
        assert kim.status == "live" and bo.status == "live"
        assert (await kim.post(NoteAdded(text="still here"))).op == "ack"
        assert (await bo.post(NoteAdded(text="me too"))).op == "ack"
        await eventually(lambda: kim.last_seq == ana.last_seq == bo.last_seq)
        assert kim.state == ana.state
        state = hub.hub.rooms[incident].state
        assert not state.participants["guest:vic"].online
        assert state.access.codes[first.code_id].revoked
        assert ack.id in {e.id for e in kim.log}
        for c in (vic, wes, kim, bo, ana):
            await c.close()


# --- secrets in logs -------------------------------------------------------------------------
async def test_no_secret_reaches_the_logs_even_at_debug_level(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("warroom.hub.websockets").setLevel(logging.DEBUG)
    async with running_hub(tmp_path / "hub.db", tokens=dict(TOKENS)) as hub:
        token = TOKENS["oncall"]
        incident = await declare_incident(hub.url, name="ana", token=token)
        ana = await client(hub.url, "ana", "ic", incident, token=token)
        issued = new_join_code(incident)
        await ana.post(JoinCodeCreated(code_id=issued.code_id, digest=issued.digest))
        vic = guest_client(hub.url, "vic", "responder", incident, issued.code)
        await vic.wait_synced()
        with pytest.raises(InvalidStatus):
            await talk(hub.url, {"op": "ping"}, headers={"Authorization": "Bearer wrong-guess"})
        await vic.close()
        await ana.close()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name != RAW_CLIENT.name)
    assert "[redacted]" in text, "the handshake headers were not logged at all: test is void"
    secret = issued.code.rsplit(":", 1)[1]
    for leaked in (*TOKENS.values(), secret, "wrong-guess"):
        assert leaked not in text


# --- TLS -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "hub.pem", where / "hub.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


async def test_tls_hub_serves_wss_to_a_console_that_trusts_its_ca(tmp_path, certificate):
    cert, key = certificate
    async with running_hub(
        tmp_path / "hub.db", certfile=cert, keyfile=key, tokens=dict(TOKENS), clock=ManualClock(T0)
    ) as hub:
        assert hub.url.startswith("wss://")
        token = TOKENS["oncall"]
        incident = await declare_incident(hub.url, name="ana", token=token, cafile=str(cert))
        ana = IncidentClient(
            hub.url, "ana", "ic", incident, token=token, cafile=str(cert), backoff=fast_backoff()
        )
        ana.start()
        await ana.wait_synced()
        assert (await ana.post(NoteAdded(text="over TLS"))).op == "ack"
        rows = await list_incidents(hub.url, token=token, cafile=str(cert))
        assert rows[0]["id"] == incident
        # A console that does not trust the certificate stops with a clear reason.
        doubter = IncidentClient(
            hub.url, "bo", "responder", incident, token=token, backoff=fast_backoff()
        )
        doubter.start()
        await eventually(lambda: doubter.fatal is not None, timeout=10)
        assert "--cafile" in doubter.fatal
        # Plain ws:// to a TLS port gets nowhere.
        with pytest.raises((OSError, WebSocketException, TimeoutError)):
            await talk(hub.url.replace("wss://", "ws://"), {"op": "ping"})
        await doubter.close()
        await ana.close()


def test_a_wrong_certificate_is_a_clear_configuration_error(tmp_path, certificate):
    cert, key = certificate
    with pytest.raises(HubConfigError, match="No such"):
        HubServer(HubConfig(db=tmp_path / "a.db", certfile=tmp_path / "none.pem"))
    with pytest.raises(HubConfigError, match="Cannot use"):
        HubServer(HubConfig(db=tmp_path / "b.db", certfile=key, keyfile=cert))


def test_the_config_file_reads_tls_durability_and_limits(tmp_path):
    config = apply_config_file(
        HubConfig(),
        {
            "hub": {"certfile": "~/hub.pem", "durability": "normal"},
            "limits": {"rate": 5, "burst": 20, "per_name": 3, "open_timeout": 2.5},
        },
    )
    assert config.certfile == Path("~/hub.pem").expanduser() and config.durability == "normal"
    assert (config.limits.rate, config.limits.burst, config.limits.per_name) == (5.0, 20, 3)
    assert config.open_timeout == 2.5
    with pytest.raises(HubConfigError, match="rate_of_fire"):
        apply_config_file(HubConfig(), {"limits": {"rate_of_fire": 1}})
    with pytest.raises(HubConfigError, match="expected a number"):
        apply_config_file(HubConfig(), {"limits": {"rate": "fast"}})


async def test_durability_normal_and_full_set_the_sqlite_synchronous_level(tmp_path):
    for level, expected in (("normal", 1), ("full", 2)):
        store = Store(tmp_path / f"{level}.db", durability=level)
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == expected
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.close()
    async with running_hub(tmp_path / "hub.db", durability="normal") as hub:
        assert hub.store.durability == "normal"


def test_credentials_are_matched_whole_and_never_shown():
    tokens = {"oncall": "s3cret-oncall-token", "sre": "another-sre-secret"}
    assert match_token("another-sre-secret", tokens) == "sre"
    for wrong in ("", "s3cret", "s3cret-oncall-token ", "S3CRET-ONCALL-TOKEN", "another"):
        assert match_token(wrong, tokens) is None
    assert "s3cret" not in repr(HubConfig(tokens=tokens))
    # A token wins over a code; a code for an incident the hub does not have is refused.
    issued = new_join_code("inc-gone")
    headers = {"Authorization": "Bearer another-sre-secret", JOIN_CODE_HEADER: issued.code}
    assert authenticate(headers, tokens, lambda _: None).name == "sre"
    assert authenticate({JOIN_CODE_HEADER: issued.code}, tokens, lambda _: None) is None
    assert authenticate({}, {}, lambda _: None).kind == "open"
    assert parse_join_code("inc-1:zzzzzzzz:" + "a" * 24) is None
    assert parse_join_code(issued.code) == tuple(issued.code.split(":"))
