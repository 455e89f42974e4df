"""The hub's firing alert groups, for the incident list: read them, dismiss one.

Reading is ``GET /alerts``. A dismissal is a command about a group, not about an incident, so it
goes over a short websocket of its own that joins no incident (hello, the command, its answer),
the way the hub takes every command: checked by the core's rules, stored, then acknowledged. The
command's id is chosen once by the caller, so a retry after a lost answer is acknowledged again
rather than recorded twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from warroom.client.lobby import HubRefused, HubUnreachable, hub_get
from warroom.client.urls import auth_headers, client_ssl
from warroom.core.alerts_incident import AlertGroupDismissed
from warroom.core.log import draft
from warroom.core.protocol import PROTOCOL_VERSION, Hello
from warroom.core.roles import Role
from warroom.redact import redacted_logger


async def list_alert_groups(
    url: str, token: str | None = None, cafile: str | None = None, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The firing groups not tied to an incident nor dismissed, earliest first."""
    groups: list[dict[str, Any]] = await hub_get(
        url, "/alerts", auth_headers(token), cafile, timeout
    )
    return groups


def dismissal(
    group_id: str, reason: str, command_id: uuid.UUID | None = None
) -> AlertGroupDismissed:
    """The dismissal command (validated here: a bad id or an overlong reason never leaves)."""
    return draft(
        AlertGroupDismissed, id=command_id or uuid.uuid4(), group_id=group_id, reason=reason
    )


async def dismiss_group(
    url: str,
    name: str,
    command: AlertGroupDismissed,
    token: str | None = None,
    role: Role = Role.RESPONDER,
    cafile: str | None = None,
    timeout: float = 10.0,
) -> None:
    """Send ``command``; returns once the hub stored it. :class:`HubRefused` says why not."""
    try:
        async with asyncio.timeout(timeout):
            async with connect(
                url,
                additional_headers=auth_headers(token),
                ssl=client_ssl(url, cafile),
                open_timeout=5,
                logger=redacted_logger("warroom.client.websockets"),
            ) as ws:
                hello = Hello(name=name, role=role, protocol=PROTOCOL_VERSION)
                await ws.send(hello.model_dump_json())
                frame = {"op": "command", "command": command.command_body()}
                await ws.send(json.dumps(frame))
                async for raw in ws:
                    answer = json.loads(raw)
                    op = answer.get("op")
                    if op == "error" and answer.get("id") in (None, str(command.id)):
                        raise HubRefused(str(answer.get("code")), str(answer.get("message")))
                    if op == "ack" and answer.get("id") == str(command.id):
                        return
    except InvalidStatus as exc:
        raise HubRefused(f"http_{exc.response.status_code}", "The hub refused us.") from exc
    except (TimeoutError, OSError, WebSocketException) as exc:
        raise HubUnreachable(type(exc).__name__) from exc
    raise HubUnreachable("the hub closed the connection before it answered")
