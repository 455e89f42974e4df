"""Command-palette entries with which the IC lets a guest into one incident, and shuts them out.

The secret part of a code exists only here, at the moment it is made: the hub and the log keep its
digest. The IC sees the whole code once, on a screen of its own that stays until closed
(:mod:`warroom.console.screens.shown_once`), to pass on by whatever channel still works.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from warroom.console.screens.shown_once import join_code_screen
from warroom.core.access import JoinCodeCreated, JoinCodeRevoked, SeatLimit, new_join_code
from warroom.core.protocol import Error

if TYPE_CHECKING:
    from warroom.console.app import WarroomApp


def join_code_commands(app: WarroomApp) -> Iterator[SystemCommand]:
    client = app.client
    if client is None or not client.state.is_ic(app.me):
        return
    yield SystemCommand(
        "Join code: create one for a guest (responder)",
        "Let someone without the team token into this incident only",
        partial(_create, app, SeatLimit.RESPONDER),
    )
    yield SystemCommand(
        "Join code: create one for an observer",
        "Let someone read this incident without writing anything",
        partial(_create, app, SeatLimit.OBSERVER),
    )
    for code in client.state.access.codes.values():
        if code.revoked:
            continue
        label = f" ({code.label})" if code.label else ""
        yield SystemCommand(
            f"Join code: revoke {code.code_id}{label}",
            "Disconnect everyone who joined with it and refuse it from now on",
            partial(_revoke, app, code.code_id),
        )


def _create(app: WarroomApp, seat_limit: SeatLimit) -> None:
    client = app.client
    if client is None:
        return
    issued = new_join_code(client.incident_id)
    future = app.send_command(
        JoinCodeCreated,
        code_id=issued.code_id,
        digest=issued.digest,
        label=f"made by {app.me}",
        seat_limit=seat_limit.value,
    )
    if future is None:
        return

    def done(fut: object) -> None:
        reply = future.result()
        if isinstance(reply, Error):
            app.notify(reply.message, title="Join code refused", severity="error")
            return
        app.push_screen(join_code_screen(issued.code, issued.code_id, app.url, seat_limit))

    future.add_done_callback(done)


def _revoke(app: WarroomApp, code_id: str) -> None:
    future = app.send_command(JoinCodeRevoked, code_id=code_id)
    if future is None:
        return

    def done(fut: object) -> None:
        reply = future.result()
        if isinstance(reply, Error):
            app.notify(reply.message, title="Revoke refused", severity="error")
        else:
            app.notify(f"Join code {code_id} revoked; its guests were disconnected.")

    future.add_done_callback(done)
