"""Drills: shipped scenarios run headless to the end, deterministically, with a scorecard."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from warroom.hub.storage import Store

from warroom.drill.scenario import ScenarioError, load, parse, shipped
from warroom.drill.session import run_headless

START = datetime(2026, 3, 14, 14, 4, tzinfo=UTC)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalised_log(db, incident_id):
    store = Store(db)
    try:
        return [
            (e.seq, e.type, e.actor, e.role.value, UUID.sub("<id>", str(e.payload())))
            for e in store.events(incident_id)
        ]
    finally:
        store.db.conn.close()


def test_three_scenarios_ship():
    assert {"checkout-db-pool", "payments-503", "wrong-balances"} <= set(shipped())


@pytest.mark.parametrize(
    "name", ["checkout-db-pool", "payments-503", "wrong-balances", "bad-deploy-rollback"]
)
async def test_scenario_runs_to_the_end_and_is_deterministic(name, tmp_path):
    scenario = load(name)
    first = await run_headless(scenario, seed=7, db=tmp_path / "a.db", start=START)
    second = await run_headless(scenario, seed=7, db=tmp_path / "b.db", start=START)
    log_a = normalised_log(first.db, first.incident_id)
    log_b = normalised_log(second.db, second.incident_id)
    assert log_a == log_b
    types = [row[1] for row in log_a]
    assert types[0] == "incident_declared" and "drill_scored" in types
    assert "phase_changed" in types and "decision_recorded" in types
    assert first.refused == 0, "a scripted step was refused by the hub"
    card = first.scorecard
    assert card == second.scorecard
    assert card.changes_without_lock == 0 and card.overdue_updates == 0
    assert card.actions_taken >= 1 and card.actions_helped == 1
    assert card.time_to_first_update_s is not None and card.time_to_first_update_s <= 600


async def test_scorecards_match_what_each_scenario_teaches(tmp_path):
    pool = await run_headless(load("checkout-db-pool"), db=tmp_path / "1.db", start=START)
    assert pool.scorecard.time_to_declare_s == 4 * 60
    assert pool.scorecard.time_to_mitigate_s == (4 + 8.5) * 60  # from detection
    assert "The rollback was what helped." in pool.scorecard.observations

    payments = await run_headless(load("payments-503"), db=tmp_path / "2.db", start=START)
    card = payments.scorecard
    assert (card.actions_taken, card.actions_helped) == (3, 1)
    assert any("did not help" in o and "undone" in o for o in card.observations)
    assert "The traffic shift was what helped." in card.observations

    balances = await run_headless(load("wrong-balances"), db=tmp_path / "3.db", start=START)
    assert "Severity ended at SEV1, as this scenario calls for." in balances.scorecard.observations


async def test_overdue_update_is_scored_and_gets_a_reaction(tmp_path):
    text = load("checkout-db-pool").model_dump(mode="json")
    # Push the stakeholder update past its 10-minute deadline.
    for step in text["steps"]:
        if step["do"] == "update":
            step["at"] = "11:00"
    scenario = type(load("checkout-db-pool")).model_validate(text)
    late = await run_headless(scenario, db=tmp_path / "late.db", start=START)
    assert late.scorecard.overdue_updates == 1
    log = normalised_log(late.db, late.incident_id)
    overdue_at = next(i for i, row in enumerate(log) if row[1] == "update_overdue")
    reaction = log[overdue_at + 1]
    assert reaction[1] == "note_added" and reaction[2] == "kim" and "Support here" in reaction[4]


def test_invalid_scenarios_name_the_line_and_the_problem():
    good = (shipped()["payments-503"]).read_text()
    bad_time = good.replace('at = "2:20"', 'at = "2:2x"')
    with pytest.raises(ScenarioError, match=r"bad\.toml:79: steps\.6\.at: at must be"):
        parse(bad_time, "bad.toml")
    unknown_item = good.replace('do = "claim"\nitem = "provider"', 'do = "claim"\nitem = "nope"')
    with pytest.raises(
        ScenarioError,
        match=r"bad\.toml:\d+: steps\.4\.item: no earlier fact or "
        r"guess with key 'nope'",
    ):
        parse(unknown_item, "bad.toml")
    missing = good.replace('what = "Try rolling back payments-api to the 08:00 build"\n', "")
    with pytest.raises(ScenarioError, match=r"a 'decide' step needs what"):
        parse(missing, "bad.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        parse("[scenario\nname = 1", "bad.toml")
    with pytest.raises(ScenarioError, match="No scenario 'nope'"):
        load("nope")


async def test_a_step_for_the_users_role_waits_with_a_hint_until_time_is_up(tmp_path):
    """Nobody plays the IC here: the coach hints, the script waits, the scenario time runs out."""
    from warroom.hub.app import HubConfig, HubServer

    from warroom.core.clock import ManualClock
    from warroom.core.roles import Role
    from warroom.drill.runner import DrillRunner

    data = load("checkout-db-pool").model_dump(mode="json")
    data["scenario"]["ends_at"] = "20:00"
    scenario = type(load("checkout-db-pool")).model_validate(data)
    clock = ManualClock(START)
    server = HubServer(
        HubConfig(host="127.0.0.1", port=0, db=tmp_path / "w.db", timer_interval=0), clock=clock
    )
    await server.start()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await server.hub.tick()

    runner = DrillRunner(scenario, server.url, clock, advance, user_role=Role.IC, user_name="you")
    try:
        await runner.declare()
        await runner.join_cast()
        assert "morgan" not in runner.bots and runner.coach is not None
        await runner.run()
        texts = [e.describe() for e in runner.reader.log if e.type == "note_added"]
        hint = next(t for t in texts if t.startswith("DRILL: The pool guess is confirmed"))
        assert hint.endswith("Keys: press D, type what, Enter, type why, ctrl+s.")  # names keys
        assert texts[-1] == "DRILL: time is up; the drill ends here."
        assert not runner.state.decisions, "the bots must not decide for the IC"
        assert runner.scenario_seconds() >= 20 * 60
        # The simulated comms lead published on schedule although the script waited for the
        # IC: a slow IC is not blamed (overdue, support's complaint) for an update riley owed.
        [update] = runner.state.comms.updates
        assert update.author == "riley" and update.at is not None
        assert (update.at - runner.start).total_seconds() <= 7 * 60
        assert not any(e.type == "update_overdue" for e in runner.reader.log)
        assert not any(t.startswith("Support here") for t in texts)
    finally:
        await runner.close()
        await server.stop()


def test_coach_hints_name_the_keys():
    from warroom.drill.coach import coach_hint
    from warroom.drill.scenario import Step

    phase = Step(by="morgan", do="phase", to="mitigating",
                 hint="Move the incident to 'mitigating' (Summary pane).")  # fmt: skip
    assert coach_hint(phase) == (
        "DRILL: Move the incident to 'mitigating' (Summary pane). "
        "Keys: press P, then 3 for mitigating, then Enter."
    )
    resolve = Step(by="morgan", do="phase", to="resolved", hint="Resolve it.")
    assert "press P, then 5 for resolved, then type the summary" in coach_hint(resolve)
    severity = Step(by="morgan", do="severity", to="SEV1", reason="all regions")
    assert coach_hint(severity).endswith("Keys: press V, then 1, type why, Enter.")
    update = Step(by="riley", do="update", affected="x", hint="Publish an update.")
    assert "press E (external) or I (internal)" in coach_hint(update)


def test_an_overdue_update_a_simulated_comms_lead_owed_is_not_put_on_the_player():
    from warroom.core.roles import Role
    from warroom.drill.scorecard import score

    scenario = load("checkout-db-pool")
    state = _state_with_overdue()
    for_ic = score(state, scenario, user_role=Role.IC).observations
    assert any("riley, the simulated comms lead, owed it" in n for n in for_ic)
    for_comms = score(state, scenario, user_role=Role.COMMS).observations
    assert "1 update deadline(s) passed without an update." in for_comms


def _state_with_overdue():
    from datetime import timedelta

    from tests.helpers import make_event
    from warroom.core.fold import replay

    return replay(
        [
            make_event("incident_declared", 1, title="t", severity="SEV2", symptoms="s"),
            make_event(
                "update_overdue",
                2,
                actor="hub",
                role="hub",
                due_at=(START + timedelta(minutes=10)).isoformat(),
            ),  # fmt: skip
        ]
    )


def test_a_step_the_core_would_not_build_is_refused_at_load_with_its_line():
    """Each step's command is built by the core's event class when the scenario loads, so a
    value no console could send (a phase that does not exist, a note kind nobody knows, a
    reaction to an event type that is not one) is reported with its line, not mid-drill."""
    good = (shipped()["payments-503"]).read_text()
    parse(good, "good.toml")  # the shipped script builds every command
    bad_phase = good.replace('to = "mitigating"', 'to = "fixed"')
    with pytest.raises(
        ScenarioError, match=r"bad\.toml:150: steps\.\d+\.do: the phase command would not be valid"
    ):
        parse(bad_phase, "bad.toml")
    bad_kind = good.replace('kind = "finding"', 'kind = "gossip"')
    with pytest.raises(ScenarioError, match=r"bad\.toml:\d+: steps\.\d+\.do: the note command"):
        parse(bad_kind, "bad.toml")
    bad_trigger = good.replace('on = "update_overdue"', 'on = "update_overdo"')
    with pytest.raises(ScenarioError, match=r"bad\.toml:224: reactions\.0\.on: .*'update_overdo'"):
        parse(bad_trigger, "bad.toml")
