"""The postmortem says when a decision rested on a fact that was later retracted (issue 16,
item 14): the review must not read a retracted fact as the ground a decision stood on."""

from __future__ import annotations

from datetime import timedelta

from tests.console_helpers import INCIDENT
from tests.helpers import T0, make_event
from warroom.export.postmortem import draft


def test_a_cited_fact_that_was_retracted_is_marked_so() -> None:
    events = [
        make_event("incident_declared", 1, **INCIDENT),
        make_event("board_item_added", 2, actor="dee", role="lead",
                   at=T0 + timedelta(minutes=2), kind="fact", text="Only EU is affected"),
        make_event("board_item_added", 3, actor="dee", role="lead",
                   at=T0 + timedelta(minutes=3), kind="fact", text="Pool at 100% on db-primary"),
        make_event("decision_recorded", 4, at=T0 + timedelta(minutes=5),
                   what="Fail over EU checkout", why="only EU is affected", facts=[2, 3]),
        make_event("fact_retracted", 5, actor="dee", role="lead", at=T0 + timedelta(minutes=9),
                   item=2, subject="Only EU is affected", reason="US errors since 09:07"),
    ]  # fmt: skip
    text = draft(None, events)
    resting = [line for line in text.splitlines() if line.startswith("- **Resting on:**")]
    assert resting == [
        "- **Resting on:** #2 Only EU is affected — retracted at 09:09: US errors since 09:07",
        "- **Resting on:** #3 Pool at 100% on db-primary",
    ]
