"""A greyed key says what the hub would say: the core's refusal, word for word.

A responder presses keys that are not theirs on a console joined to a real hub. Each toast is
compared with the core's refusal of the command the key would send (through
:func:`warroom.core.affordances.affordances`) and with the error the hub itself returns when the
same command is sent anyway.
"""

from __future__ import annotations

from tests.console_helpers import NOW, console_session
from tests.helpers import ROLLBACK
from warroom.console.widgets.pane import WHAT_TO_DO
from warroom.core.actions import ActionStarted
from warroom.core.affordances import affordances, draft
from warroom.core.comms import UpdatePublished
from warroom.core.decisions import DecisionRecorded
from warroom.core.events import Actor
from warroom.core.protocol import Error


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_greyed_key_says_the_cores_refusal_and_the_hub_agrees(tmp_path):
    async with console_session(tmp_path, name="rita", role="responder", size=(120, 40)) as s:
        state = s.app.client.state
        rita = Actor(name="rita", seat=state.participants["rita"].seat)
        commands = {
            "decide": (DecisionRecorded, {"what": "roll back", "why": "errors since deploy"}),
            "publish": (UpdatePublished, {"audience": "internal", "text": "we are on it"}),
            "action": (ActionStarted, {"token": state.lock.token, **ROLLBACK}),
        }
        core = affordances(
            state, rita, NOW, {k: draft(state, t, **p) for k, (t, p) in commands.items()}
        )
        assert not core.allowed  # none of these is a responder's

        keys = {"decide": ("3", "d"), "publish": ("5", "i"), "action": ("4", "a")}
        for key, presses in keys.items():
            refusal = core.refusal(key)
            assert refusal is not None
            said = f"{refusal.message} {WHAT_TO_DO.get(refusal.code, '')}".strip()
            before = len(toasts(s.app))
            await s.pilot.press(*presses)
            await s.wait_for(lambda before=before: len(toasts(s.app)) > before)
            assert toasts(s.app)[-1] == said, key
            assert s.app.screen.__class__.__name__ == "ConsoleScreen"  # no form was opened

            # Sent anyway, the hub answers with the same refusal.
            kind, payload = commands[key]
            reply = await s.app.send_command(kind, **payload)
            assert isinstance(reply, Error), key
            assert (reply.code, reply.message) == (refusal.code, refusal.message), key
