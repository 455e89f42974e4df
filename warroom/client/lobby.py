"""What a console does before it follows an incident: list incidents, declare a new one."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx

from warroom.client.outbox import OutboxStore
from warroom.client.sync import Change, IncidentClient, LinkStatus
from warroom.client.urls import auth_headers, client_ssl, http_base
from warroom.core.incident import IncidentDeclared
from warroom.core.log import draft as build_command
from warroom.core.protocol import Error
from warroom.core.roles import Role


class HubUnreachable(ConnectionError):
    """The hub could not be reached, or the link broke before it answered.

    The client raises this in place of its transport's own errors (httpx, websockets), so the
    screens handle one error and import no transport. ``reason`` names what went wrong.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    incidents: list[dict[str, Any]] = await hub_get(
        url, "/incidents", auth_headers(token, join_code), cafile, timeout, params
    )
    return incidents


async def hub_get(
    url: str,
    path: str,
    headers: dict[str, str],
    cafile: str | None = None,
    timeout: float = 5.0,
    params: dict[str, str] | None = None,
) -> Any:
    """The JSON the hub answers to ``GET path``; :class:`HubUnreachable` or :class:`HubRefused`
    (with the hub's own message) otherwise."""
    verify = client_ssl(url, cafile) or True
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=verify) as http:
            response = await http.get(http_base(url) + path, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise HubUnreachable(type(exc).__name__) from exc
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise HubRefused(f"http_{response.status_code}", message)
    return response.json()


def new_incident_id() -> str:
    """An id for an incident this console declares, in the hub's own form (``inc-`` and six
    hex digits), chosen here so that every retry of the declaration names the same incident."""
    return "inc-" + secrets.token_hex(3)


def declaration(
    incident_id: str = "", command_id: uuid.UUID | None = None, **fields: Any
) -> IncidentDeclared:
    """The declaration command, with its ids chosen once (a retry sends the same ids).

    Validated here, so a bad field fails with a clear message before touching the network.
    """
    return build_command(
        IncidentDeclared,
        id=command_id or uuid.uuid4(),
        incident_id=incident_id or new_incident_id(),
        **fields,
    )


async def declare(
    url: str,
    name: str,
    token: str | None = None,
    role: Role = Role.IC,
    incident_id: str = "",
    cafile: str | None = None,
    *,
    draft: IncidentDeclared | None = None,
    store: OutboxStore | None = None,
    timeout: float = 10.0,
    **fields: Any,
) -> str:
    """Declare an incident; returns its id once the hub has stored the declaration.

    The declaration goes through the client's outbox like any other command (on disk first when
    ``store`` is given). Pass the same ``draft`` to try again: the hub answers a retry of a
    declaration it already stored with that incident, so a lost answer never makes a second one.
    Raises :class:`HubRefused` when the hub says no, :class:`HubUnreachable` when it cannot be
    reached or the link broke before it answered.
    """
    if draft is None:
        draft = declaration(incident_id, **fields)
    client = IncidentClient(
        url, name, role, draft.incident_id, token=token, cafile=cafile, store=store,
        follow=False,
    )  # fmt: skip
    link_failed = asyncio.Event()

    def watch(change: Change) -> None:
        if change.kind == "status" and change.status in (
            LinkStatus.RECONNECTING,
            LinkStatus.OFFLINE,
        ):
            link_failed.set()

    client.subscribe(watch)
    client.start()  # takes over the outbox on disk (a declaration left by a console that died)
    answer = client.send(draft)
    failed = asyncio.ensure_future(link_failed.wait())
    try:
        either: set[asyncio.Future[Any]] = {answer, failed}
        await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        failed.cancel()
        await client.close()
    if not answer.done():
        if client.fatal:
            raise HubRefused("unauthorized", client.fatal)
        raise HubUnreachable(client.link_error or "no answer in time")
    reply = answer.result()
    if isinstance(reply, Error):
        raise HubRefused(reply.code, reply.message)
    return reply.incident
