"""``GET /incidents/<id>/state``: an incident's folded state for scripts without a websocket.

The request is let in exactly as a websocket handshake is (see ``HubServer.authorised``); a join
code reads only the incident it is for. The body is the state as a ``snapshot`` carries it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from warroom.hub.credentials import Credential
from warroom.hub.hubstate import UnreadableIncident

from warroom.core.wire_state import state_json

if TYPE_CHECKING:
    from warroom.hub.hub import Hub


def state_view(hub: Hub, credential: Credential, path: str) -> tuple[HTTPStatus, Any]:
    """The status and JSON body answering ``GET /incidents/<id>/state``."""
    incident_id = unquote(path.removeprefix("/incidents/").removesuffix("/state"))
    if credential.guest and incident_id != credential.incident_id:
        return HTTPStatus.FORBIDDEN, {
            "error": "forbidden",
            "message": f"Your join code is for {credential.incident_id} only.",
        }
    try:  # a closed incident is not kept in memory: read it in as a join would
        room = hub.live.room_now(incident_id)
    except UnreadableIncident:
        room = None
    if room is None and incident_id in hub.set_aside:
        return HTTPStatus.SERVICE_UNAVAILABLE, {
            "error": "unavailable",
            "message": f"Incident {incident_id} is set aside: the hub cannot read its record.",
        }
    if room is None:
        return HTTPStatus.NOT_FOUND, {
            "error": "unknown_incident",
            "message": f"No incident {incident_id!r} on this hub.",
        }
    return HTTPStatus.OK, state_json(room.state)
