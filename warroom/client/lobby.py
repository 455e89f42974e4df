"""What a console does before it follows an incident: list incidents, declare a new one."""

from __future__ import annotations

from typing import Any

import httpx
from websockets.asyncio.client import connect

from warroom.client.urls import auth_headers, client_ssl, http_base
from warroom.core.incident import IncidentDeclared
from warroom.core.log import draft
from warroom.core.protocol import HUB_ADAPTER, Ack, Command, Error, Hello
from warroom.core.roles import Role
from warroom.redact import redacted_logger


class HubRefused(RuntimeError):
    """The hub answered with an error; ``code`` and the message say why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def list_incidents(
    url: str,
    token: str | None = None,
    include_closed: bool = False,
    timeout: float = 5.0,
    join_code: str | None = None,
    cafile: str | None = None,
) -> list[dict[str, Any]]:
    """The hub's incidents from ``GET /incidents`` (with a join code: only that incident)."""
    params = {"all": "1"} if include_closed else None
    verify = client_ssl(url, cafile) or True
    async with httpx.AsyncClient(timeout=timeout, verify=verify) as http:
        response = await http.get(
            http_base(url) + "/incidents", headers=auth_headers(token, join_code), params=params
        )
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise HubRefused(f"http_{response.status_code}", message)
    return response.json()


async def declare(
    url: str,
    name: str,
    token: str | None = None,
    role: Role = Role.IC,
    incident_id: str = "",
    cafile: str | None = None,
    **fields: Any,
) -> str:
    """Declare an incident with the declaration template's ``fields``; returns its id.

    A bad field fails here (:class:`~warroom.core.log.EventError`, in words), before the network.
    """
    declaration = draft(IncidentDeclared, incident_id=incident_id, **fields)
    body = declaration.command_body()
    async with connect(
        url,
        additional_headers=auth_headers(token),
        open_timeout=5,
        ssl=client_ssl(url, cafile),
        logger=redacted_logger("warroom.client.websockets"),
    ) as ws:
        await ws.send(Hello(name=name, role=role).model_dump_json())
        await ws.send(Command(command=body).model_dump_json())
        async for raw in ws:
            msg = HUB_ADAPTER.validate_json(raw)
            if isinstance(msg, Ack) and msg.id == declaration.id:
                return msg.incident
            if isinstance(msg, Error):
                raise HubRefused(msg.code, msg.message)
    raise HubRefused("closed", "The hub closed the connection before answering.")
