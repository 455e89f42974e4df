"""Updates to Teams, Mattermost, Discord and Matrix, each checked by a local receiver against the
shape the target documents (a receiver answers 400 to a body its real counterpart would reject)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from warroom.hub.app import HubConfigError
from warroom.hub.config import apply_config_file
from warroom.hub.webhooks import TargetKind, WebhookTarget

from tests.helpers import T0, eventually, running_hub
from tests.status_room import status_room
from tests.test_comms_webhooks import fast_policy, webhook
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdateDeliveryRetried, UpdatePublished
from warroom.core.comms_state import Audience, DeliveryStatus
from warroom.core.protocol import Ack

MATRIX_ROOM = "!ops-status:example.org"
MATRIX_TOKEN = "syt_bot_token_0123456789"
MATRIX_PATH = re.compile(r"^/_matrix/client/v3/rooms/([^/]+)/send/m\.room\.message/([^/]+)$")


def teams_problems(request: dict[str, Any]) -> list[str]:
    """A Teams workflow / incoming webhook message carrying an Adaptive Card."""
    body = request["body"]
    problems = []
    if request["method"] != "POST" or body.get("type") != "message":
        problems.append("a POSTed message")
    attachments = body.get("attachments") or []
    if len(attachments) != 1:
        return [*problems, "one attachment"]
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        problems.append("contentType")
    card = attachment.get("content") or {}
    if card.get("type") != "AdaptiveCard" or not re.fullmatch(r"1\.\d", card.get("version", "")):
        problems.append("AdaptiveCard with a version")
    for element in card.get("body", []):
        if element.get("type") == "TextBlock" and isinstance(element.get("text"), str):
            continue
        facts = element.get("facts") if element.get("type") == "FactSet" else None
        if facts and all(set(f) == {"title", "value"} for f in facts):
            continue
        problems.append(f"body element {element}")
    return problems


def mattermost_problems(request: dict[str, Any]) -> list[str]:
    body = request["body"]
    allowed = {"text", "channel", "username", "icon_url", "icon_emoji", "attachments", "type"}
    problems = [f"unknown key {k}" for k in set(body) - allowed]
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 16383:
        problems.append("text: Markdown, at most 16383 characters")
    return problems


def discord_problems(request: dict[str, Any]) -> list[str]:
    body = request["body"]
    problems = []
    if len(body.get("content", "")) > 2000:
        problems.append("content over 2000")
    embeds = body.get("embeds", [])
    if not body.get("content") and not embeds:
        problems.append("content or embeds")
    total = 0
    for embed in embeds:
        if len(embed.get("title", "")) > 256 or len(embed.get("description", "")) > 4096:
            problems.append("embed title/description too long")
        if not 0 <= embed.get("color", 0) <= 0xFFFFFF:
            problems.append("colour")
        fields = embed.get("fields", [])
        if len(fields) > 25 or any(len(f["name"]) > 256 or len(f["value"]) > 1024 for f in fields):
            problems.append("fields")
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > 6000:
        problems.append("embeds over 6000 characters")
    parse = body.get("allowed_mentions", {}).get("parse")
    if parse is None or set(parse) - {"roles", "users", "everyone"}:
        problems.append("allowed_mentions.parse")
    return problems


def matrix_problems(request: dict[str, Any]) -> list[str]:
    body = request["body"]
    problems = []
    match = MATRIX_PATH.match(request["path"])
    if request["method"] != "PUT" or match is None:
        return ["PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}"]
    if match.group(1) != "%21ops-status%3Aexample.org":
        problems.append("room id escaped in the path")
    if request["headers"].get("authorization") != f"Bearer {MATRIX_TOKEN}":
        problems.append("access token")
    if body.get("msgtype") not in ("m.text", "m.notice") or not isinstance(body.get("body"), str):
        problems.append("msgtype and body")
    if "formatted_body" in body and body.get("format") != "org.matrix.custom.html":
        problems.append("format")
    return problems


CHECKS = {
    "/teams": teams_problems,
    "/mattermost": mattermost_problems,
    "/discord": discord_problems,
    "/_matrix": matrix_problems,
}


def judge(request: dict[str, Any]) -> int:
    check = next(c for prefix, c in CHECKS.items() if request["path"].startswith(prefix))
    request["problems"] = check(request)
    return 400 if request["problems"] else 200


def targets(url: str) -> list[WebhookTarget]:
    base = url.removesuffix("/hook")
    return [
        WebhookTarget(name="teams", kind=TargetKind.TEAMS, url=f"{base}/teams"),
        WebhookTarget(name="mattermost", kind=TargetKind.MATTERMOST, url=f"{base}/mattermost"),
        WebhookTarget(name="discord", kind=TargetKind.DISCORD, url=f"{base}/discord"),
        WebhookTarget(
            name="matrix", kind=TargetKind.MATRIX, url=base, room=MATRIX_ROOM, token=MATRIX_TOKEN
        ),
    ]


LONG = "We rolled back payments-api. @everyone <b>not markup</b> " + "More detail. " * 400


async def test_each_chat_kind_gets_its_native_shape_and_is_delivered(tmp_path):
    clock = ManualClock(T0)
    async with webhook(judge=judge) as receiver:
        hub_running = running_hub(
            tmp_path / "hub.db",
            clock=clock,
            webhooks=targets(receiver.url),
            delivery=fast_policy(attempts=1),
        )
        async with hub_running as hub:
            room = await status_room(hub.url, clock)
            ack = await room.cy.post(
                UpdatePublished(
                    audience=Audience.EXTERNAL, text=LONG, fields={"affected": "EU card payments"}
                )
            )
            assert isinstance(ack, Ack)

            def outcomes() -> dict[str, DeliveryStatus]:
                return {d.target: d.status for d in room.cy.state.comms.deliveries_of(ack.id)}

            await eventually(lambda: len(outcomes()) == 4, timeout=10)
            assert [r.get("problems") for r in receiver.requests] == [[], [], [], []]
            assert set(outcomes().values()) == {DeliveryStatus.DELIVERED}
            by_path = {r["path"].split("/")[1]: r["body"] for r in receiver.requests}

            card = by_path["teams"]["attachments"][0]["content"]
            assert card["body"][0]["text"] == "Checkout errors after deploy: update 1"
            assert {"title": "Severity", "value": "Major (SEV2)"} in card["body"][1]["facts"]
            assert card["body"][2]["text"] == LONG

            text = by_path["mattermost"]["text"]
            assert text.startswith("#### Checkout errors after deploy: update 1\n")
            assert "**Affected:** EU card payments" in text and text.endswith(LONG)

            discord = by_path["discord"]
            embed = discord["embeds"][0]
            assert embed["description"].endswith("…") and len(embed["description"]) == 4096
            assert discord["allowed_mentions"] == {"parse": []}  # @everyone pings nobody

            matrix = by_path["_matrix"]
            assert matrix["msgtype"] == "m.notice" and matrix["body"].endswith(LONG)
            assert "&lt;b&gt;not markup&lt;/b&gt;" in matrix["formatted_body"]
            # None of them says who wrote it or anything else from the room.
            for body in by_path.values():
                assert "cy" not in re.findall(r"\b\w+\b", str(body))
            await room.close()


async def test_a_failed_chat_delivery_is_retried_by_hand_and_matrix_keeps_its_txn(tmp_path):
    clock = ManualClock(T0)
    async with webhook(script=[503], judge=judge) as receiver:
        matrix = targets(receiver.url)[3]
        hub_running = running_hub(
            tmp_path / "hub.db", clock=clock, webhooks=[matrix], delivery=fast_policy(attempts=1)
        )
        async with hub_running as hub:
            room = await status_room(hub.url, clock)
            ack = await room.cy.post(
                UpdatePublished(audience=Audience.INTERNAL, text="Rolled back")
            )
            assert isinstance(ack, Ack)

            def status() -> DeliveryStatus | None:
                found = room.cy.state.comms.delivery(ack.id, "matrix")
                return found.status if found else None

            await eventually(lambda: status() == DeliveryStatus.FAILED, timeout=10)
            retry = await room.cy.post(UpdateDeliveryRetried(update_id=ack.id, target="matrix"))
            assert isinstance(retry, Ack)
            await eventually(lambda: status() == DeliveryStatus.DELIVERED, timeout=10)
            first, second = receiver.requests
            assert first["path"] == second["path"]  # the same transaction: stored once
            assert second["problems"] == []
            await room.close()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "matrix", "url": "https://m.example.org"}, "needs room"),
        (
            {
                "kind": "matrix",
                "url": "https://m.example.org",
                "room": "#ops:example.org",
                "token": "t",
            },
            "room id, not an alias",
        ),  # fmt: skip
        ({"kind": "matrix", "url": "https://m.example.org", "room": MATRIX_ROOM}, "access token"),
        ({"kind": "discord", "url": "https://d.example/x", "token": "t"}, "matrix targets only"),
        ({"kind": "irc", "url": "https://x.example"}, '"teams", "mattermost", "discord"'),
    ],
)
def test_chat_targets_in_the_config_file_are_checked(entry, message):
    from warroom.hub.app import HubConfig

    with pytest.raises(HubConfigError, match=re.escape(message)):
        apply_config_file(HubConfig(), {"webhooks": [entry]})


def test_a_matrix_token_is_never_printed():
    from warroom.hub.app import HubConfig

    config = apply_config_file(
        HubConfig(),
        {
            "webhooks": [
                {
                    "kind": "matrix",
                    "url": "https://m.example.org",
                    "room": MATRIX_ROOM,
                    "token": MATRIX_TOKEN,
                    "name": "ops-room",
                }  # fmt: skip
            ]
        },
    )
    [target] = config.webhooks
    assert target.token == MATRIX_TOKEN and MATRIX_TOKEN not in repr(target)
