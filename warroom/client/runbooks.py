"""What the hub serves about runbooks: ``GET /runbooks?incident=ID`` (docs/RUNBOOKS.md)."""

from __future__ import annotations

import httpx

from warroom.client.lobby import HubRefused, HubUnreachable
from warroom.client.urls import auth_headers, client_ssl, http_base
from warroom.core.checklist_runbook import Runbook


async def fetch_runbooks(
    url: str,
    incident: str,
    token: str | None = None,
    join_code: str | None = None,
    cafile: str | None = None,
    timeout: float = 5.0,
) -> list[tuple[Runbook, list[str]]]:
    """Every runbook the hub serves, with the words that make it apply to ``incident``, best
    match first. Raises :class:`HubUnreachable` or :class:`HubRefused`."""
    try:
        async with httpx.AsyncClient(
            timeout=timeout, verify=client_ssl(url, cafile) or True
        ) as http:
            answer = await http.get(
                http_base(url) + "/runbooks",
                params={"incident": incident},
                headers=auth_headers(token, join_code),
            )
        rows = answer.json()
    except httpx.HTTPError as exc:
        raise HubUnreachable(type(exc).__name__) from exc
    except ValueError as exc:
        raise HubRefused("bad_answer", "The hub's answer was not JSON.") from exc
    if answer.status_code != 200:
        raise HubRefused(f"http_{answer.status_code}", str(rows.get("message", rows)))
    return [
        (Runbook.model_validate({k: v for k, v in r.items() if k != "matches"}), r["matches"])
        for r in rows
    ]
