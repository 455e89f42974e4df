"""A drill that uses a runbook and the deploy gate (#19): its step kinds are checked at load with
their line, its simulated pipeline asks the drill hub's real gate about the drill incident only,
the scorecard follows what the room did, and a drill never changes a real incident's gate."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from warroom.hub.app import HubConfig, HubServer
from warroom.hub.runbooks_config import RunbooksConfig

from tests.helpers import client, declare_incident
from warroom.core.checklist import ChecklistStepDone, RunbookAttached
from warroom.core.clock import ManualClock
from warroom.core.decisions import DecisionRecorded
from warroom.core.gate import ChangeFreezeSet, GateChecked
from warroom.core.production import ProductionLock
from warroom.core.roles import Role
from warroom.drill.coach import coach_hint
from warroom.drill.pipeline import GateAnswer, pipeline_line, presented
from warroom.drill.runner import DrillRunner
from warroom.drill.scenario import Scenario, ScenarioError, Step, load, parse, shipped
from warroom.drill.scenario_gate import runbook_named
from warroom.drill.session import pipeline_credentials, run_headless, score_drill

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
START = datetime(2026, 3, 14, 14, 3, tzinfo=UTC)
NAME = "bad-deploy-rollback"


def shipped_text() -> str:
    return shipped()[NAME].read_text()


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """The 1-based line of the ``nth`` line of ``text`` that contains ``needle``."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return found[nth]


# --- loading: every new kind checked, with its line -------------------------------------------
def test_the_scenario_ships_and_uses_a_shipped_runbook_and_the_gate():
    scenario = load(NAME)
    kinds = {s.do.value for s in scenario.steps}
    assert {"attach", "claim_step", "done_step", "freeze", "pipeline"} <= kinds
    assert scenario.expect.runbook == "roll-back-deploy"
    assert runbook_named("roll-back-deploy").steps[3].changes_production


BAD_INPUTS = [
    # (what is replaced, by what, the field's line holds, the message)
    ('do = "attach"\nrunbook = "roll-back-deploy"', 'do = "attach"\nrunbook = "roll-back-depoly"',
     'runbook = "roll-back-depoly"', r"steps\.2\.runbook: no shipped runbook 'roll-back-depoly'; "
     r"the drill's hub serves fail-over-database, roll-back-deploy, shed-load"),
    ('do = "claim_step"\nrunbook = "roll-back-deploy"\nstep = 1',
     'do = "claim_step"\nrunbook = "shed-load"\nstep = 1', 'runbook = "shed-load"',
     r"steps\.3\.runbook: no earlier attach step for 'shed-load'"),
    ('do = "claim_step"\nrunbook = "roll-back-deploy"\nstep = 1',
     'do = "claim_step"\nrunbook = "roll-back-deploy"\nstep = 9', "step = 9",
     r"steps\.3\.step: roll-back-deploy has 7 steps, not 9"),
    ('do = "claim_step"\nrunbook = "roll-back-deploy"\nstep = 1',
     'do = "claim_step"\nrunbook = "roll-back-deploy"', '^do = "claim_step"',
     r"steps\.3: a 'claim_step' step needs step"),
    ('presents = "lock"\nstarted = true', 'presents = "lock"\nstarted = false', "step = 4",
     r"steps\.17\.step: step 4 of roll-back-deploy changes production: it is done as a "
     r"production action, so an earlier action step by priya"),
    ('by = "deploy-prod"', 'by = "priya"', 'by = "priya"\ndo = "pipeline"',
     r"steps\.12\.by: 'priya' is a responder; a pipeline step's by names the pipeline"),
    ('by = "deploy-prod"', 'by = "Deploy Prod"', 'by = "Deploy Prod"',
     r"steps\.12\.by: 'Deploy Prod' is not a pipeline name"),
    ('target = "checkout-api"\npresents = "none"', 'target = "Checkout API"\npresents = "none"',
     'target = "Checkout API"', r"steps\.12\.target: 'Checkout API' is not a target name"),
    ('presents = "none"', 'presents = "yesterday"', 'presents = "yesterday"',
     r"steps\.12\.presents: Input should be 'none', 'lock' or 'previous'"),
    ('target = "checkout-api"\npresents = "none"',
     'target = "checkout-api"\npresents = "none"\nstarted = true', "started = true",
     r'steps\.12\.started: started = true needs presents = "lock"'),
    ('kind = "rollback"\nexpected = "5xx', 'kind = "rollforward"\nexpected = "5xx',
     'kind = "rollforward"', r"steps\.13\.kind: kind is one of rollback, feature_flag_off"),
    ('targets = ["checkout-api"]', 'targets = ["checkout api"]', 'targets = ["checkout api"]',
     r"steps\.10\.targets: 'checkout api' is not a target name \(or \*\)"),
    ('targets = ["checkout-api"]\n', "", '^do = "freeze"', r"steps\.10: a 'freeze' step needs targets"),
    ('runbook = "roll-back-deploy"\nattach_within', 'runbook = "fail-over"\nattach_within',
     'runbook = "fail-over"', r"expect\.runbook: no shipped runbook 'fail-over'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "where", "message"), BAD_INPUTS)
def test_a_bad_runbook_or_gate_step_is_refused_at_load_with_its_file_and_line(
    old, new, where, message
):
    good = shipped_text()
    parse(good, "good.toml")
    assert good.count(old) >= 1, old
    bad = good.replace(old, new, 1)
    lines = bad.splitlines()
    line = line_of(bad, where.split("\n")[0].lstrip("^"), 0)
    if where.startswith("^"):  # a step-wide problem: the line of its [[steps]] header
        line = max(i + 1 for i in range(line) if lines[i] == "[[steps]]")
    if "\n" in where:  # the pipeline step's by: the line before its do
        line = next(
            i + 1
            for i, text in enumerate(bad.splitlines())
            if text == where.split("\n")[0] and bad.splitlines()[i + 1] == where.split("\n")[1]
        )
    with pytest.raises(ScenarioError, match=rf"^bad\.toml:{line}: {message}"):
        parse(bad, "bad.toml")


def test_no_traceback_for_a_broken_scenario_file_on_the_command_line(tmp_path, capsys):
    from warroom.cli import main

    broken = tmp_path / "broken.toml"
    broken.write_text(
        shipped_text().replace('step = 4\ntext = "rolled', 'step = 8\ntext = "rolled')
    )
    assert main(["drill", "--scenario", str(broken), "--headless"]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:" in err and "roll-back-deploy has 7 steps, not 8" in err
    assert "Traceback" not in err


# --- played headless: the gate's real answers, deterministic -----------------------------------
def normalised(db, incident_id) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT seq, type, actor, payload FROM events WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        ).fetchall()
    finally:
        conn.close()
    ids: dict[str, str] = {}
    return [(s, t, a, json.loads(_ids(p, ids))) for s, t, a, p in rows]


def _ids(text: str, ids: dict[str, str]) -> str:
    """Each UUID as <idN>, numbered in order of appearance, so two runs compare equal."""
    return UUID.sub(lambda m: ids.setdefault(m.group(0), f"<id{len(ids)}>"), text)


async def test_played_headless_the_pipeline_meets_the_drill_hubs_gate(tmp_path):
    scenario = load(NAME)
    first = await run_headless(scenario, seed=3, db=tmp_path / "a.db", start=START)
    second = await run_headless(scenario, seed=3, db=tmp_path / "b.db", start=START)
    log = normalised(first.db, first.incident_id)
    assert log == normalised(second.db, second.incident_id)
    assert first.refused == 0
    checks = [row[3] for row in log if row[1] == "gate_checked"]
    assert [(c["credential"], c["token"], c["allowed"], c["reason"]) for c in checks] == [
        ("deploy-prod", None, False, "no_token"),  # during priya's lease, the target frozen
        ("rollback-job", 1, True, "token_valid"),  # with priya's live token
        ("deploy-prod", None, True, "not_frozen"),  # after the incident is resolved
    ]
    assert checks[1]["started"] and not checks[0]["started"]
    check_seqs = [row[0] for row in log if row[1] == "gate_checked"]
    # the rollback job's change was recorded as priya's production action and linked to C1.4
    started = next(row for row in log if row[1] == "action_started")
    assert started[2] == "priya" and started[0] == check_seqs[1] + 1
    assert started[3]["token"] == 1 and started[3]["kind"] == "rollback"
    done4 = next(r for r in log if r[1] == "checklist_step_done" and r[3]["step"] == 4)
    assert done4[2] == "priya" and done4[3]["action_id"] is not None
    card = first.scorecard
    assert card == second.scorecard
    assert card.runbook_attached_s == 60
    assert (card.checklist_steps_finished, card.checklist_steps) == (7, 7)
    assert (card.pipeline_checks, card.pipelines_blocked, card.pipelines_past_the_lock) == (3, 1, 0)
    assert card.production_steps_by_hand == 0
    assert "deploy-prod was blocked from checkout-api at 04:00 while priya held the lock." in (
        card.observations
    )
    assert any("C1.4 changes production and was done as priya's production action under the lock"
               in o for o in card.observations)  # fmt: skip


async def test_the_export_keeps_the_runbook_and_gate_scores(tmp_path):
    from warroom.export.exporter import export_incidents
    from warroom.export.sources import DatabaseSource

    outcome = await run_headless(load(NAME), db=tmp_path / "d.db", start=START)
    source = DatabaseSource(outcome.db)
    try:
        export_incidents(source, tmp_path / "out.db", [outcome.incident_id])
    finally:
        source.close()
    conn = sqlite3.connect(tmp_path / "out.db")
    try:
        row = conn.execute(
            "SELECT runbook_attached_s, checklist_steps_finished, pipeline_checks, "
            "pipelines_blocked, pipelines_past_the_lock FROM drill_scorecards"
        ).fetchone()
    finally:
        conn.close()
    assert row == (60.0, 7, 3, 1, 0)


async def test_without_the_freeze_the_scheduled_deploy_goes_past_the_lock_and_is_scored(tmp_path):
    """The same script with the IC never freezing: the gate lets deploy-prod through while priya
    holds the lock, and the scorecard says so (the numbers are the room's, not the script's)."""
    data = load(NAME).model_dump(mode="json")
    data["steps"] = [s for s in data["steps"] if s["do"] != "freeze"]
    outcome = await run_headless(Scenario.model_validate(data), db=tmp_path / "n.db", start=START)
    card = outcome.scorecard
    assert (card.pipeline_checks, card.pipelines_blocked, card.pipelines_past_the_lock) == (3, 0, 1)
    assert (
        "deploy-prod changed checkout-api at 04:00 while priya held the lock, without that "
        "lease's token: nothing froze checkout-api." in card.observations
    )


# --- played by a person: what the trainee does is what is scored -------------------------------
Act = Callable[[], Awaitable[object]]


async def play_as_ic(tmp_path, attach_at: int, freeze_at: int, by_hand: int = 0):
    """The IC is a person (a real client, "ana") who attaches the runbook and freezes the
    service at the given scenario seconds (and tries ``by_hand`` times to tick the production
    step without a production action); the script waits for them; the drill times out at 8:00
    (nobody moves the phase on). Returns the scorecard and the coach's lines."""
    data = load(NAME).model_dump(mode="json")
    data["scenario"]["ends_at"] = "8:00"
    scenario = Scenario.model_validate(data)
    clock = ManualClock(START)
    config = HubConfig(host="127.0.0.1", port=0, db=tmp_path / "p.db", timer_interval=0,
                       runbooks=RunbooksConfig(examples=True))  # fmt: skip
    server = HubServer(config, clock=clock)
    await server.start()
    ana = None
    todo: list[tuple[int, Act]] = []

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await server.hub.tick()
        now = (clock() - START).total_seconds()
        while todo and todo[0][0] <= now:
            await todo.pop(0)[1]()

    runner = DrillRunner(scenario, server.url, clock, advance, user_role=Role.IC,
                         user_name="ana", gate_credential=pipeline_credentials(server))  # fmt: skip
    try:
        incident = await runner.declare()
        await runner.join_cast()
        ana = await client(server.url, "ana", "ic", incident)
        runbook = runbook_named("roll-back-deploy")
        steps = [s.model_dump(mode="json") for s in runbook.steps]

        def send(kind, **payload) -> Act:  # noqa: ANN001
            async def act() -> None:
                reply = await ana.post(kind(**payload))
                assert reply.op == "ack", reply

            return act

        async def tick_by_hand() -> None:
            reply = await ana.post(ChecklistStepDone(checklist=1, step=4))
            assert reply.op == "error" and reply.code == "production_step", reply

        decide_at = max(attach_at, 150) + 1
        todo += sorted(
            [
                (
                    attach_at,
                    send(RunbookAttached, runbook=runbook.name, title=runbook.title, steps=steps),
                ),  # fmt: skip
                # the decision counts once the coach has asked for it (2:30)
                (decide_at, send(DecisionRecorded, what="Roll back to 2.13", why="2.14")),
                (decide_at + 1, send(ChecklistStepDone, checklist=1, step=2)),
                (freeze_at, send(ChangeFreezeSet, targets=["checkout-api"], reason="rollback")),
                (freeze_at + 1, send(ChecklistStepDone, checklist=1, step=3)),
                *[(freeze_at + 2, tick_by_hand)] * by_hand,
            ],
            key=lambda pair: pair[0],
        )
        await runner.run()
        card = await score_drill(server, runner)
        coach = [
            e.text for e in runner.reader.log if e.actor == "drill-coach" and e.type == "note_added"
        ]
        return card, coach
    finally:
        if ana is not None:
            await ana.close()
        await runner.close()
        await server.stop()


@pytest.mark.parametrize(
    ("attach_at", "freeze_at", "blocked", "past", "by_hand"),
    [(60, 180, 1, 0, 0), (200, 300, 0, 1, 2)],
    ids=["prompt-ic", "slow-ic"],
)
async def test_the_scorecard_follows_what_the_trainee_did(
    tmp_path, attach_at, freeze_at, blocked, past, by_hand
):
    card, coach = await play_as_ic(tmp_path, attach_at, freeze_at, by_hand)
    assert card.runbook_attached_s == attach_at
    assert (card.pipelines_blocked, card.pipelines_past_the_lock) == (blocked, past)
    assert card.production_steps_by_hand == by_hand
    # the coach asked for the runbook with its keys, and told the trainee what the gate did
    # (a trainee who attached before the script asked is not told to do it again)
    asked = [t for t in coach if "Attach the 'Roll back a bad deploy' runbook" in t]
    assert len(asked) == (0 if attach_at <= 60 else 1)
    assert all("press 8 then a, pick the runbook, Enter" in t for t in asked)
    gate_lines = [t for t in coach if "deploy-prod" in t and t.startswith("DRILL: pipeline")]
    assert len(gate_lines) == 1
    if blocked:
        assert gate_lines[0].startswith(
            "DRILL: pipeline blocked: lock held by priya; deploy-prod may not change "
            "checkout-api with no token. checkout-api is frozen"
        )
        verdict = "within"
    else:
        assert gate_lines[0].startswith(
            "DRILL: pipeline NOT stopped: lock held by priya, yet deploy-prod changed "
            "checkout-api with no token: nothing froze checkout-api."
        )
        verdict = "beyond"
    assert any(f"{verdict} the 3 min it allows" in o for o in card.observations)
    # the rollback job still got through with priya's token, as her production action
    assert any(t.startswith("DRILL: pipeline allowed: rollback-job") for t in coach)
    assert coach[-1] == "DRILL: time is up; the drill ends here."
    # ana stopped after step 3: the checklist says so (1, 2, 3 finished; not the rest)
    assert (card.checklist_steps_finished, card.checklist_steps) == (3, 7)


# --- a drill never opens or closes the real gate -------------------------------------------------
async def test_a_drill_never_changes_the_real_gates_answer(tmp_path):
    """A real incident and a drill on one hub: a real pipeline's check (no incident named) gets
    the same answer before, during and after the drill, although the drill freezes the same
    target, hands its lock's token around and lets its own pipelines through; the drill's
    token opens nothing for the real incident; and neither timeline holds the other's checks."""
    clock = ManualClock(START)
    db = tmp_path / "shared.db"
    config = HubConfig(host="127.0.0.1", port=0, db=db, timer_interval=0,
                       runbooks=RunbooksConfig(examples=True))  # fmt: skip
    server = HubServer(config, clock=clock)
    await server.start()
    assert server.gate is not None
    real_secret = server.gate.add("real-deploy")
    real = await declare_incident(server.url, "olga", title="Real: payments latency")
    olga = await client(server.url, "olga", "ic", real)

    async def real_check(**params) -> dict:
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"http://127.0.0.1:{server.port}/gate/check",
                params={"target": "checkout-api", **params},
                headers={"Authorization": f"Bearer {real_secret}"},
            )
        assert answer.status_code == 200, answer.text
        return answer.json()

    before = await real_check()
    assert before["allowed"] and [r["incident"] for r in before["incidents"]] == [real]
    during: list[dict] = []
    with_drill_token: list[dict] = []

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await server.hub.tick()
        if not during and runner.state.freeze is not None and runner.state.lock.holder:
            # the drill froze checkout-api and priya holds the drill's lock
            during.append(await real_check())
            token = runner.state.lock.token
            with_drill_token.append(await real_check(token=str(token)))

    runner = DrillRunner(load(NAME), server.url, clock, advance,
                         gate_credential=pipeline_credentials(server))  # fmt: skip
    try:
        drill = await runner.declare()
        await runner.join_cast()
        await runner.run()
        assert during == [before], "the drill's freeze and lock changed a real check's answer"
        assert with_drill_token[0]["incidents"] == before["incidents"]
        after = await real_check()
        assert after == before

        # the real IC freezes: now the drill's live token does not open the real gate
        reply = await olga.post(ChangeFreezeSet(targets=["checkout-api"], reason="real"))
        assert reply.op == "ack"
        frozen = await real_check()
        assert not frozen["allowed"] and frozen["reason"] == "no_token"
        drill_grant = runner.state.lock.grants[-1].token
        stale = await real_check(token=str(drill_grant))
        assert not stale["allowed"] and stale["incidents"][0]["incident"] == real
        assert stale["reason"] == "stale_token"

        real_log = [e for e in olga.log if isinstance(e, GateChecked)]
        assert {e.credential for e in real_log} == {"real-deploy"}
        drill_log = [e for e in runner.reader.log if isinstance(e, GateChecked)]
        assert [e.credential for e in drill_log] == ["deploy-prod", "rollback-job", "deploy-prod"]
        assert server.hub.rooms[drill].state.drill
    finally:
        await olga.close()
        await runner.close()
        await server.stop()


# --- the coach's words ----------------------------------------------------------------------------
def test_the_coach_names_the_keys_for_runbook_and_freeze_steps():
    attach = Step(by="morgan", do="attach", runbook="roll-back-deploy", hint="Attach it.")
    assert coach_hint(attach) == "DRILL: Attach it. Keys: press 8 then a, pick the runbook, Enter."
    freeze = Step(by="morgan", do="freeze", targets=["checkout-api"])
    assert "press 8 then z, type the targets" in coach_hint(freeze)
    plain = Step(by="sam", do="done_step", runbook="roll-back-deploy", step=5)
    assert coach_hint(plain).endswith("press 8, pick the step with the arrows, then d.")
    prod = Step(by="priya", do="done_step", runbook="roll-back-deploy", step=4)
    assert "take the lock (L)" in coach_hint(prod) and "production action" in coach_hint(prod)


def test_what_a_pipeline_presents_and_what_the_coach_says_about_it():
    lock = ProductionLock(holder="priya", token=3, grants=())
    assert presented(lock, "lock") == 3 and presented(lock, "none") is None
    from warroom.core.production import LockGrant

    handed = ProductionLock(holder="sam", token=3, grants=(LockGrant(token=2, holder="priya"),
                                                           LockGrant(token=3, holder="sam")))  # fmt: skip
    assert presented(handed, "previous") == 2
    assert (
        presented(ProductionLock(), "previous") is None
        and presented(ProductionLock(), "lock") is None
    )

    refused = GateAnswer(False, "checkout-api is frozen", None, "priya", 3)
    assert pipeline_line("deploy-prod", "checkout-api", refused) == (
        "DRILL: pipeline blocked: lock held by priya; deploy-prod may not change checkout-api "
        "with no token. checkout-api is frozen"
    )
    through = GateAnswer(True, "Allowed: no change freeze.", None, "priya", 3)
    assert through.past_the_lock
    assert pipeline_line("deploy-prod", "checkout-api", through).startswith(
        "DRILL: pipeline NOT stopped: lock held by priya, yet deploy-prod changed checkout-api "
        "with no token: nothing froze checkout-api."
    )
    live = GateAnswer(True, "Allowed: token 3 is priya's live lease.", 3, "priya", 3, uuid.uuid4())
    assert not live.past_the_lock
    assert pipeline_line("rollback-job", "checkout-api", live) == (
        "DRILL: pipeline allowed: rollback-job may change checkout-api with token 3. "
        "Allowed: token 3 is priya's live lease."
    )


async def test_attaching_another_runbook_than_the_one_expected_is_not_counted(tmp_path):
    data = load(NAME).model_dump(mode="json")
    data["expect"]["runbook"] = "shed-load"  # the room attaches roll-back-deploy instead
    outcome = await run_headless(Scenario.model_validate(data), db=tmp_path / "o.db", start=START)
    card = outcome.scorecard
    assert card.runbook_attached_s is None
    assert "The shed-load runbook was never attached: the room worked without its checklist." in (
        card.observations
    )
    assert (card.checklist_steps_finished, card.checklist_steps) == (7, 7)


async def test_a_pipeline_that_cannot_ask_the_gate_is_reported_and_the_drill_goes_on(tmp_path):
    """A broken set-up (here: a credential the hub does not know) is one line in the drill, never
    a crash; the gate records nothing for it."""
    clock = ManualClock(START)
    config = HubConfig(host="127.0.0.1", port=0, db=tmp_path / "u.db", timer_interval=0,
                       runbooks=RunbooksConfig(examples=True))  # fmt: skip
    server = HubServer(config, clock=clock)
    await server.start()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await server.hub.tick()

    said: list[str] = []
    runner = DrillRunner(load(NAME), server.url, clock, advance, narrate=said.append,
                         gate_credential=lambda name: "wrg_not-a-credential")  # fmt: skip
    try:
        await runner.declare()
        await runner.join_cast()
        await runner.run()
        assert [step.by for step, _ in runner.gate_failures] == [
            "deploy-prod", "rollback-job", "deploy-prod"
        ]  # fmt: skip
        assert "401" in runner.gate_failures[0][1]
        assert any("pipeline deploy-prod could not ask the deploy gate" in line for line in said)
        assert not any(isinstance(e, GateChecked) for e in runner.reader.log)
        assert runner.state.phase.value == "closed"  # the script played to its end
    finally:
        await runner.close()
        await server.stop()


async def test_a_second_drill_in_the_same_db_file_gets_fresh_pipeline_credentials(tmp_path):
    """`warroom drill --db FILE` twice: the second drill's pipelines still reach the gate."""
    db = tmp_path / "kept.db"
    await run_headless(load(NAME), db=db, start=START)
    again = await run_headless(load(NAME), db=db, start=START)
    assert (again.scorecard.pipeline_checks, again.scorecard.pipelines_blocked) == (3, 1)
