"""The deploy gate against a real hub: a change freeze bound to the production lock, every check
on the timeline, every bad request refused with nothing recorded, and the CLI's exit codes. The behaviour tests run
on a SQLite file and on PostgreSQL (``hub_db``, #22)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys

import httpx
import pytest
from warroom.hub.gate_store import GateCredentialError, GateCredentials
from warroom.hub.storage_open import open_people

from tests.helpers import T0, HubProcess, ManualClock, client, declare_incident, running_hub
from warroom.cli import main
from warroom.core.gate import ChangeFreezeLifted, ChangeFreezeSet
from warroom.core.lifecycle import PhaseChanged
from warroom.core.lock import LockHandedOver, LockRequested
from warroom.gate_command import CREDENTIAL_ENV


@contextlib.asynccontextmanager
async def gated(db):
    """A hub with ana (IC), bo and cy in an incident, and deploy-prod's gate credential."""
    clock = ManualClock(T0)
    async with running_hub(db, clock=clock) as hub:
        secret = GateCredentials(db).add("deploy-prod")
        incident = await declare_incident(hub.url)
        people = {n: await client(hub.url, n, r, incident) for n, r in
                  (("ana", "ic"), ("bo", "responder"), ("cy", "responder"))}  # fmt: skip
        try:
            yield Gate(hub, incident, clock, secret, people)
        finally:
            for c in people.values():
                await c.close()


class Gate:
    def __init__(self, hub, incident, clock, secret, people) -> None:
        self.hub, self.incident, self.clock, self.secret, self.people = (
            hub, incident, clock, secret, people,
        )  # fmt: skip

    async def ask(self, secret: str | None = None, **params) -> httpx.Response:
        headers = {"Authorization": f"Bearer {secret or self.secret}"}
        async with httpx.AsyncClient() as http:
            return await http.get(
                f"http://127.0.0.1:{self.hub.port}/gate/check", params=params, headers=headers
            )

    async def check(self, **params) -> dict:
        answer = await self.ask(**params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def post(self, name: str, command) -> None:
        reply = await self.people[name].post(command)
        assert reply.op == "ack", reply

    def checks(self) -> list:
        return [e for e in self.hub.hub.store.events(self.incident) if e.type == "gate_checked"]


async def test_a_freeze_binds_changes_to_the_live_lease(hub_db):
    async with gated(hub_db) as g:
        # No freeze: allowed, and recorded all the same.
        assert (await g.check(target="checkout-api"))["reason"] == "not_frozen"
        await g.post("ana", ChangeFreezeSet(targets=["checkout-api"], reason="mid-incident"))
        # Frozen, no token: refused.
        refused = await g.check(target="checkout-api")
        assert (refused["allowed"], refused["reason"]) == (False, "no_token")
        # Another target is not frozen.
        assert (await g.check(target="search-api"))["allowed"] is True
        # A token nobody was granted.
        assert (await g.check(target="checkout-api", token=1))["reason"] == "stale_token"
        # bo holds the lock (token 1): his token lets the change through.
        await g.post("bo", LockRequested())
        allowed = await g.check(target="checkout-api", token=1)
        assert (allowed["allowed"], allowed["reason"]) == (True, "token_valid")
        # The IC hands the lock on to cy (token 2): bo's token is stale now.
        await g.post("ana", LockHandedOver(token=1, to="cy", reason="cy owns checkout"))
        stale = await g.check(target="checkout-api", token=1)
        assert (stale["allowed"], stale["reason"]) == (False, "stale_token")
        assert "bo's lease, which has handed over" in stale["message"]
        assert (await g.check(target="checkout-api", token=2))["allowed"] is True
        # cy's lease runs out: refused before and after the hub records the expiry.
        g.clock.advance(11 * 60)
        expired = await g.check(target="checkout-api", token=2)
        assert (expired["allowed"], expired["reason"]) == (False, "lease_expired")
        await g.hub.hub.tick()
        assert g.hub.hub.rooms[g.incident].state.lock.holder is None
        assert (await g.check(target="checkout-api", token=2))["reason"] == "lease_expired"
        # The freeze lifted: allowed again, without a token.
        await g.post("ana", ChangeFreezeLifted(reason="rolled back"))
        assert (await g.check(target="checkout-api"))["allowed"] is True
        lines = [e.describe() for e in g.checks()]
        assert lines[0] == "deploy-prod checked checkout-api without a token: allowed"
        assert lines[1].startswith("deploy-prod checked checkout-api without a token: refused (")
        assert "deploy-prod checked checkout-api with token 1: allowed" in lines
        assert len(lines) == 10, "every check is on the timeline"
        assert [e.allowed for e in g.checks()] == [
            True, False, True, False, True, False, True, False, False, True,
        ]  # fmt: skip


async def test_a_freeze_on_everything_ends_when_the_incident_is_resolved(hub_db):
    async with gated(hub_db) as g:
        await g.post("ana", ChangeFreezeSet(targets=["*"]))
        assert (await g.check(target="anything"))["reason"] == "no_token"
        await g.post("ana", PhaseChanged(phase="resolved", resolution="rolled back"))
        named = await g.check(target="anything", incident=g.incident)
        assert named["allowed"] is True and named["message"] == "Allowed: the incident is resolved."
        after = await g.check(target="anything")  # a resolved incident is not in progress
        assert (after["allowed"], after["reason"], after["incidents"]) == (True, "no_incident", [])


async def test_only_the_ic_freezes_and_lifts(hub_db):
    async with gated(hub_db) as g:
        refused = await g.people["bo"].post(ChangeFreezeSet(targets=["*"]))
        assert refused.op == "error" and refused.code == "forbidden"
        nothing = await g.people["ana"].post(ChangeFreezeLifted())
        assert nothing.op == "error" and nothing.code == "no_freeze"
        await g.post("ana", ChangeFreezeSet(targets=["*"]))
        refused = await g.people["cy"].post(ChangeFreezeLifted())
        assert refused.op == "error" and refused.code == "forbidden"
        bad = await g.people["ana"].post(ChangeFreezeSet(targets=["Checkout API"]))
        assert bad.op == "error" and bad.code == "invalid"


async def test_a_started_change_is_a_production_action_of_the_lock_holder(hub_db):
    async with gated(hub_db) as g:
        await g.post("ana", ChangeFreezeSet(targets=["checkout-api"]))
        await g.post("bo", LockRequested())
        started = await g.check(
            target="checkout-api", token=1, started=1, kind="rollback", metric="5xx", before="9%"
        )
        assert started["allowed"]
        action_id = started["incidents"][0]["action"]
        action = g.hub.hub.rooms[g.incident].state.actions[action_id]
        assert (action.by, action.token, action.kind.value) == ("bo", 1, "rollback")
        assert (action.metric, action.value_before, action.open) == ("5xx", "9%", True)
        [check] = g.checks()
        assert check.describe() == (
            "deploy-prod started a change to checkout-api with token 1: allowed"
        )


async def test_every_bad_request_is_refused_and_records_nothing(hub_db):
    async with gated(hub_db) as g:
        await g.post("ana", ChangeFreezeSet(targets=["*"]))
        person = open_people(hub_db)
        _, person_token = person.add("dee")
        person.close()
        cases = [
            ({"target": "Checkout API"}, None, 400, "bad_target"),
            ({"target": ""}, None, 400, "bad_target"),
            ({"target": "api", "token": "three"}, None, 400, "bad_request"),
            ({"target": "api", "token": "-1"}, None, 400, "bad_request"),
            ({"target": "api", "colour": "red"}, None, 400, "bad_request"),
            ({"target": "api", "started": "yes"}, None, 400, "bad_request"),
            ({"target": "api", "kind": "deploy"}, None, 400, "bad_request"),
            ({"target": "api", "incident": "inc-nope"}, None, 404, "unknown_incident"),
            ({"target": "api"}, "wrg_not-a-credential", 401, "unauthorized"),
            ({"target": "api"}, person_token, 403, "forbidden"),
        ]
        for params, secret, status, error in cases:
            answer = await g.ask(secret=secret, **params)
            assert (answer.status_code, answer.json()["error"]) == (status, error), params
        async with httpx.AsyncClient() as http:
            base = f"http://127.0.0.1:{g.hub.port}"
            twice = await http.get(f"{base}/gate/check?target=a&target=b",
                                   headers={"Authorization": f"Bearer {g.secret}"})  # fmt: skip
            assert (twice.status_code, twice.json()["error"]) == (400, "bad_request")
            nobody = await http.get(f"{base}/gate/check?target=a")
            assert nobody.status_code == 401
            # A gate credential opens nothing else on the hub.
            listing = await http.get(f"{base}/incidents",
                                     headers={"Authorization": f"Bearer {g.secret}"})  # fmt: skip
            assert listing.status_code == 401
        assert g.checks() == []


async def test_a_revoked_credential_is_refused_at_once(hub_db):
    async with gated(hub_db) as g:
        store = GateCredentials(hub_db)
        assert (await g.check(target="api"))["allowed"]
        store.revoke("deploy-prod")
        assert (await g.ask(target="api")).status_code == 401
        with pytest.raises(GateCredentialError, match="No live gate credential"):
            store.revoke("deploy-prod")
        with pytest.raises(GateCredentialError, match="name a gate credential"):
            store.add("Deploy Prod")
        assert [row[0] for row in store.listing()] == ["deploy-prod"]


async def test_checks_without_an_incident_go_to_every_incident_in_progress_but_not_drills(
    hub_db,
):
    async with gated(hub_db) as g:
        other = await declare_incident(g.hub.url, title="Search slow")
        drill = await declare_incident(g.hub.url, title="Drill", drill=True)
        await g.post("ana", ChangeFreezeSet(targets=["checkout-api"]))
        answer = await g.check(target="checkout-api")
        assert answer["allowed"] is False
        rows = {r["incident"]: r["allowed"] for r in answer["incidents"]}
        assert rows == {g.incident: False, other: True}
        assert drill not in rows
        only = await g.check(target="checkout-api", incident=other)
        assert only["allowed"] is True and [r["incident"] for r in only["incidents"]] == [other]


async def run_cli(monkeypatch, secret, *args) -> int:
    monkeypatch.setenv(CREDENTIAL_ENV, secret)
    return await asyncio.to_thread(main, ["gate", *args])


async def test_the_cli_exits_0_allowed_1_refused_2_bad_request(hub_db, monkeypatch, capsys):
    async with gated(hub_db) as g:
        hub = g.hub.url
        await g.post("ana", ChangeFreezeSet(targets=["checkout-api"]))
        assert (
            await run_cli(monkeypatch, g.secret, "check", "--hub", hub, "--target", "checkout-api")
            == 1
        )
        assert "refused" in capsys.readouterr().err
        await g.post("bo", LockRequested())
        assert await run_cli(monkeypatch, g.secret, "check", "--hub", hub,
                             "--target", "checkout-api", "--token", "1") == 0  # fmt: skip
        assert "token 1 is bo's live lease" in capsys.readouterr().out
        assert await run_cli(monkeypatch, g.secret, "report", "--hub", hub,
                             "--target", "checkout-api", "--token", "1") == 0  # fmt: skip
        assert "recorded as production action" in capsys.readouterr().out
        assert await run_cli(monkeypatch, "wrg_wrong", "check", "--hub", hub, "--target", "x") == 2
        assert "unauthorized" in capsys.readouterr().err
        assert await run_cli(monkeypatch, g.secret, "check", "--hub", hub, "--target", "X Y") == 2
        assert await run_cli(monkeypatch, "", "check", "--hub", hub, "--target", "x") == 2
        assert CREDENTIAL_ENV in capsys.readouterr().err


async def test_the_cli_says_what_an_unreachable_hub_means(tmp_path, monkeypatch, capsys):
    from tests.helpers import free_port

    gone = f"ws://127.0.0.1:{free_port()}"
    base = ("check", "--hub", gone, "--target", "api", "--timeout", "2")
    assert await run_cli(monkeypatch, "wrg_x", *base) == 3
    assert await run_cli(monkeypatch, "wrg_x", *base, "--unreachable", "allow") == 0
    assert "going ahead (--unreachable allow)" in capsys.readouterr().err
    assert await run_cli(monkeypatch, "wrg_x", *base, "--unreachable", "deny") == 1
    assert "refusing (--unreachable deny)" in capsys.readouterr().err


def test_gate_list_and_revoke_never_create_a_database_at_a_mistyped_path(tmp_path):
    """Like ``warroom people``: only ``add`` makes the hub's database; ``list`` on a typo used
    to create an empty one there and answer "No gate credentials on this hub"."""
    typo = tmp_path / "hbu.db"
    for action in (["list"], ["revoke", "deploy-prod"]):
        done = subprocess.run([sys.executable, "-m", "warroom", "gate", *action, "--db", str(typo)],
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 1, done
        assert f"No hub database at {typo}" in done.stderr and "Traceback" not in done.stderr
        assert not typo.exists()


def test_gate_credentials_from_the_cli_and_a_real_process(hub_db):
    """``warroom gate add`` on the hub's database, then a pipeline's ``warroom gate check`` as
    a separate process against a hub in its own process."""
    db = hub_db
    added = subprocess.run([sys.executable, "-m", "warroom", "gate", "add", "deploy-prod",
                            "--db", str(db)], capture_output=True, text=True, check=True)  # fmt: skip
    secret = next(w for w in added.stdout.split() if w.startswith("wrg_"))
    listed = subprocess.run([sys.executable, "-m", "warroom", "gate", "list", "--db", str(db)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert listed.stdout.startswith("deploy-prod\tsince ") and secret not in listed.stdout
    hub = HubProcess(db)
    hub.start()
    try:
        env = {"PATH": "/usr/bin:/bin", CREDENTIAL_ENV: secret}
        done = subprocess.run([sys.executable, "-m", "warroom", "gate", "check", "--hub", hub.url,
                               "--target", "checkout-api"], capture_output=True, text=True,
                              env=env, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "no incident is in progress" in done.stdout
    finally:
        hub.kill()
