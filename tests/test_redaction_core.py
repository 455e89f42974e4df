"""Redaction of secrets (issue 23, item 2), in the core: who may redact (the IC and the scribe;
every other role and every guest refused, with nothing changed), what may be redacted, what the
state reads after it, and which stored events the hub rewrites."""

from __future__ import annotations

import pytest

from tests.board_room import act, logged, refusal
from tests.test_corrections_core import GUEST, closed, crew, with_entries
from warroom.core.incident import NoteAdded
from warroom.core.names import guest_name
from warroom.core.redaction import marker, redact_log, rewrites_of, scrubbed
from warroom.core.roles import Role
from warroom.core.state import IncidentState

SECRET = "hunter2-prod-db-password"
REASON = "database password pasted"


def with_secret() -> tuple[IncidentState, int]:
    """bo pastes a command with a password, then amends it (the password still in it)."""
    state, _ = with_entries()
    state, note = act(state, "bo", "note_added", kind="command", text=f"psql -p {SECRET}")
    state, _ = act(state, "bo", "entry_amended", entry=note.seq, text=f"psql -W {SECRET}",
                   reason="flag")  # fmt: skip
    return state, note.seq


@pytest.mark.parametrize("who", ["ana", "sam"])
def test_the_ic_and_the_scribe_redact_and_no_version_keeps_the_text(who: str) -> None:
    state, n = with_secret()
    before = state
    state, redaction = act(state, who, "entry_redacted", entry=n, reason=REASON)
    text = f"[redacted by {who}: {REASON}]"
    assert marker(who, REASON) == text
    assert state.redactions[n].by == who and state.redactions[n].reason == REASON
    assert [v.text for v in state.corrections[n]] == [text]
    assert SECRET not in state.model_dump_json()
    assert redaction.describe() == f"Redacted #{n}; reason: {REASON}"
    # the hub rewrites the entry and its amendment, and nothing else
    rewritten = rewrites_of(redaction, before, lambda seq: logged(before, seq))
    assert [e.seq for e in rewritten] == [n, before.corrections[n][0].seq]
    assert all(SECRET not in e.model_dump_json() for e in rewritten)
    assert isinstance(rewritten[0], NoteAdded) and rewritten[0].text == text
    assert rewritten[0].kind == "command" and rewritten[0].actor == "bo", "who wrote it stays"


@pytest.mark.parametrize("who", ["bo", "cy", "dee", "olly", GUEST])
def test_everyone_else_is_refused_and_nothing_changes(who: str) -> None:
    """The author, another responder, the technical lead, an observer and a guest."""
    state, n = with_secret()
    code = refusal(state, who, "entry_redacted", entry=n, reason=REASON)
    assert code == "forbidden"
    assert state.redactions == {}
    assert SECRET in state.corrections[n][0].text


def test_a_guest_holding_the_scribe_seat_still_may_not_redact() -> None:
    state, n = with_secret()
    guest = guest_name("vic")
    state, _ = act(state, "ana", "role_assigned", assigned_role="scribe", holder=guest)
    assert state.holder(Role.SCRIBE) == guest
    assert refusal(state, guest, "entry_redacted", entry=n, reason=REASON) == "forbidden"


def test_what_can_be_redacted() -> None:
    state, seqs = with_entries()
    for which in ("finding", "card", "evidence", "guest_note"):
        assert refusal(state, "ana", "entry_redacted", entry=seqs[which], reason="r") is None
    for which in ("decision", "joined"):
        code = refusal(state, "ana", "entry_redacted", entry=seqs[which], reason="r")
        assert code == "not_redactable", which
    assert refusal(state, "ana", "entry_redacted", entry=999, reason="r") == "unknown_entry"
    assert refusal(state, "ana", "entry_redacted", entry=seqs["finding"]) == "reason_required"
    state, _ = act(state, "ana", "entry_redacted", entry=seqs["finding"], reason="r")
    assert refusal(state, "sam", "entry_redacted", entry=seqs["finding"], reason="r") == "invalid"


def test_a_card_and_its_evidence_read_the_marker() -> None:
    state, seqs = with_entries()
    state, _ = act(state, "sam", "entry_redacted", entry=seqs["card"], reason="customer name")
    state, _ = act(state, "sam", "entry_redacted", entry=seqs["evidence"], reason="token")
    item = state.board[seqs["card"]]
    assert item.text == "[redacted by sam: customer name]"
    assert [e.text for e in item.evidence] == ["[redacted by sam: token]"]


def test_a_published_update_is_redacted_text_and_fields() -> None:
    state = crew()
    state, update = act(state, "ana", "update_published", audience="internal",
                        text=f"Rolled back; creds {SECRET}",
                        fields={"impact": f"password {SECRET}"})  # fmt: skip
    state, _ = act(state, "ana", "entry_redacted", entry=update.seq, reason=REASON)
    assert SECRET not in state.model_dump_json()
    assert state.comms.updates[-1].text == f"[redacted by ana: {REASON}]"
    assert SECRET not in scrubbed(update, "x").model_dump_json()


def test_redaction_is_accepted_after_the_close() -> None:
    state, n = with_secret()
    assert refusal(closed(state), "sam", "entry_redacted", entry=n, reason=REASON) is None


def test_a_consoles_copy_of_the_log_is_replaced() -> None:
    state, n = with_secret()
    log = [e for seq in range(1, state.seq + 1) if (e := logged(state, seq)) is not None]
    after, redaction = act(state, "ana", "entry_redacted", entry=n, reason=REASON)
    assert redact_log(log, redaction, state) == 2
    assert all(SECRET not in e.model_dump_json() for e in log)
    assert [e.seq for e in log] == list(range(1, state.seq + 1)), "nothing moved"


def test_an_amendment_is_redacted_with_the_entry_it_amends_never_alone() -> None:
    state, n = with_secret()
    amendment = state.corrections[n][0].seq
    draft_refusal = refusal(state, "ana", "entry_redacted", entry=amendment, reason=REASON)
    assert draft_refusal == "not_redactable"
