"""A published update as each chat system expects it: Teams, Mattermost, Discord, Matrix.

Every message says the same things in the target's own way: the incident's title, its severity
and phase in words, the update's number and audience, the text exactly as published. Only what
the update itself carries goes out (like the status page, never a guess or the room's names).

* ``teams``: a Workflows (or legacy incoming) webhook takes a ``message`` with one Adaptive Card
  attachment (``application/vnd.microsoft.card.adaptive``): a heading, a fact set, the text.
* ``mattermost``: an incoming webhook takes ``{"text": <Markdown>}``.
* ``discord``: a webhook takes ``content`` (at most 2,000 characters) and ``embeds`` (a title of at
  most 256, a description of at most 4,096, fields); ``allowed_mentions`` with no parse types, so
  an ``@everyone`` in an update's text never pings a server.
* ``matrix``: the client-server API, ``PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/
  {txn}`` with the bot's access token; an ``m.notice`` (the message type for automated senders)
  with a plain ``body`` and an HTML ``formatted_body``. The transaction id is fixed per update and
  target, so a retry after a lost answer is not posted twice.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from warroom.core.comms_state import Audience, StakeholderUpdate
from warroom.core.state import IncidentState
from warroom.core.status_page_view import PHASE_WORDS, SEVERITY_WORDS

#: Discord's documented limits.
DISCORD_CONTENT = 2000
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
#: Embed colours by severity (SEV1 red ... SEV4 grey).
DISCORD_COLOURS = {1: 0xC0392B, 2: 0xE67E22, 3: 0x2E86C1, 4: 0x7F8C8D}


def heading(state: IncidentState, update: StakeholderUpdate) -> str:
    audience = "" if update.audience == Audience.EXTERNAL else " (internal)"
    return f"{state.title or state.incident_id}: update {update.number}{audience}"


def facts(state: IncidentState, update: StakeholderUpdate) -> list[tuple[str, str]]:
    """Severity and status in words, and what the update said is affected."""
    rows = [
        ("Severity", f"{SEVERITY_WORDS[update.severity]} ({update.severity.value})"),
        ("Status", PHASE_WORDS[update.phase][0]),
    ]
    if update.fields.affected.strip():
        rows.append(("Affected", update.fields.affected.strip()))
    if update.next_update_at is not None:
        rows.append(("Next update", update.next_update_at.strftime("%H:%M UTC")))
    return rows


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def teams(state: IncidentState, update: StakeholderUpdate) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": heading(state, update),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "FactSet",
                "facts": [{"title": k, "value": v} for k, v in facts(state, update)],
            },
            {"type": "TextBlock", "text": update.text, "wrap": True},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def mattermost(state: IncidentState, update: StakeholderUpdate) -> dict[str, Any]:
    lines = [f"#### {heading(state, update)}"]
    lines.append(" · ".join(f"**{k}:** {v}" for k, v in facts(state, update)))
    lines.append("")
    lines.append(update.text)
    return {"text": "\n".join(lines)}


def discord(state: IncidentState, update: StakeholderUpdate) -> dict[str, Any]:
    title = heading(state, update)
    embed: dict[str, Any] = {
        "title": _clip(title, DISCORD_TITLE),
        "description": _clip(update.text, DISCORD_DESCRIPTION),
        "color": DISCORD_COLOURS[update.severity.level],
        "fields": [
            {"name": k, "value": _clip(v, 1024), "inline": True} for k, v in facts(state, update)
        ],
    }
    if update.at is not None:
        embed["timestamp"] = update.at.isoformat()
    return {
        "content": _clip(title, DISCORD_CONTENT),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def matrix(state: IncidentState, update: StakeholderUpdate) -> dict[str, Any]:
    title = heading(state, update)
    fact_line = " · ".join(f"{k}: {v}" for k, v in facts(state, update))
    html_facts = " · ".join(f"<b>{escape(k)}:</b> {escape(v)}" for k, v in facts(state, update))
    html_text = "<br>".join(escape(line) for line in update.text.splitlines())
    return {
        "msgtype": "m.notice",
        "body": f"{title}\n{fact_line}\n\n{update.text}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"<h4>{escape(title)}</h4><p>{html_facts}</p><p>{html_text}</p>",
    }


def matrix_send_url(homeserver: str, room: str, txn: str) -> str:
    """Where a room message is PUT: the homeserver, the room id and transaction id escaped."""
    base = homeserver.rstrip("/")
    return (
        f"{base}/_matrix/client/v3/rooms/{quote(room, safe='')}/send/m.room.message/"
        f"{quote(txn, safe='')}"
    )


FORMATS = {"teams": teams, "mattermost": mattermost, "discord": discord, "matrix": matrix}
