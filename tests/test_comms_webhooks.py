"""Webhook delivery of published updates, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from warroom.hub.app import HubConfigError
from warroom.hub.config import apply_config_file
from warroom.hub.webhooks import DeliveryPolicy, TargetKind, WebhookTarget

from tests.helpers import T0, client, declare_incident, eventually, running_hub
from warroom.client.sync import IncidentClient
from warroom.core.clock import ManualClock
from warroom.core.comms import UpdateDeliveryRetried, UpdatePublished
from warroom.core.comms_state import Audience, DeliveryStatus
from warroom.core.incident import NoteAdded
from warroom.core.protocol import Ack, Error
from warroom.core.update_text import prefill, render


class LocalWebhook:
    """A tiny HTTP/1.1 server: answers each POST with the next scripted status (then 200).

    ``hang`` makes it read the request and never answer, like an endpoint stuck behind a dead
    load balancer.
    """

    def __init__(
        self,
        script: list[int] | None = None,
        hang: bool = False,
        judge: Callable[[dict], int] | None = None,
    ) -> None:
        self.script = list(script or [])
        self.hang = hang
        #: Answers a request that has no scripted status (a receiver that checks the body).
        self.judge = judge
        self.requests: list[dict] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def bodies(self) -> list[dict]:
        return [r["body"] for r in self.requests]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(
                    {"method": method, "path": path, "headers": headers, "body": json.loads(body)}
                )
                if self.hang:
                    await asyncio.Event().wait()
                status = self.script.pop(0) if self.script else 200
                if status == 200 and self.judge is not None:
                    status = self.judge(self.requests[-1])
                answer = b'{"ok": true}' if status == 200 else b'{"error": "boom"}'
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@contextlib.asynccontextmanager
async def webhook(**kw) -> AsyncIterator[LocalWebhook]:
    server = LocalWebhook(**kw)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


class RecordedSleep:
    """Backoff delays as the hub asked for them, slept for real but shrunk a hundredfold."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay / 100)


def fast_policy(sleep: RecordedSleep | None = None, attempts: int = 4) -> DeliveryPolicy:
    return DeliveryPolicy(
        attempts=attempts,
        base_delay=1.0,
        max_delay=30.0,
        rng=random.Random(7),
        sleep=sleep or RecordedSleep(),
    )


def target(server: LocalWebhook, name: str, kind: str = "slack", timeout: float = 2.0):
    return WebhookTarget(name=name, kind=TargetKind(kind), url=server.url, timeout=timeout)


async def publish(c: IncidentClient, clock: ManualClock, audience: str = "external") -> Ack:
    draft = prefill(c.state, Audience(audience), clock())
    reply = await c.post(
        UpdatePublished(
            audience=audience,
            text=render(c.state, draft, clock()),
            fields=draft.fields.model_dump(mode="json"),
            next_update_at=draft.next_update_at.isoformat() if draft.next_update_at else None,
        )
    )
    assert isinstance(reply, Ack), reply
    return reply


def delivery_events(c: IncidentClient) -> list:
    return [e for e in c.log if e.type in ("update_delivered", "update_delivery_failed")]


async def test_an_update_reaches_a_slack_and_a_json_webhook(tmp_path):
    clock = ManualClock(T0)
    async with webhook() as slack, webhook() as generic:
        targets = [target(slack, "status-slack"), target(generic, "pager-json", kind="json")]
        async with running_hub(
            tmp_path / "hub.db", clock=clock, webhooks=targets, delivery=fast_policy()
        ) as hub:
            incident = await declare_incident(hub.url, scope="Card payments in the EU")
            ana = await client(hub.url, "ana", "ic", incident)
            clock.advance(timedelta(minutes=3))
            ack = await publish(ana, clock)
            await eventually(lambda: len(delivery_events(ana)) == 2)
            [update] = ana.state.comms.updates

            assert slack.bodies == [{"text": update.text}]
            assert "Affected: Card payments in the EU" in slack.bodies[0]["text"]
            [body] = generic.bodies
            assert body["type"] == "update_published"
            assert body["incident"] == {
                "id": incident,
                "title": update.text.split(" - ")[0],
                "drill": False,
            }
            assert body["update"]["text"] == update.text
            assert body["update"]["author"] == "ana" and body["update"]["audience"] == "external"
            assert body["update"]["fields"]["affected"] == "Card payments in the EU"
            assert body["update"]["update_id"] == str(ack.id)
            assert generic.requests[0]["headers"]["idempotency-key"] == f"{ack.id}:pager-json"

            for name in ("status-slack", "pager-json"):
                record = ana.state.comms.delivery(ack.id, name)
                assert record is not None and record.status == DeliveryStatus.DELIVERED
                assert record.attempts == 1
            assert {e.describe() for e in delivery_events(ana)} == {
                "Update delivered to status-slack (1 attempt)",
                "Update delivered to pager-json (1 attempt)",
            }
            await ana.close()


async def test_a_server_failing_twice_is_retried_with_backoff_and_delivered_once(tmp_path):
    clock = ManualClock(T0)
    sleep = RecordedSleep()
    async with (
        webhook(script=[500, 503]) as flaky,
        running_hub(
            tmp_path / "hub.db",
            clock=clock,
            webhooks=[target(flaky, "status-slack")],
            delivery=fast_policy(sleep),
        ) as hub,
    ):
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        ack = await publish(ana, clock)
        await eventually(lambda: len(delivery_events(ana)) == 1)
        await hub.webhooks.idle()
        assert len(flaky.requests) == 3
        assert len({json.dumps(b) for b in flaky.bodies}) == 1  # the same update each time
        [recorded] = delivery_events(ana)
        assert recorded.type == "update_delivered" and recorded.attempts == 3
        assert ana.state.comms.delivery(ack.id, "status-slack").status == "delivered"
        # Exponential with jitter: retry n waits between half and all of 2**(n-1) seconds.
        assert len(sleep.delays) == 2
        assert 0.5 <= sleep.delays[0] <= 1.0 and 1.0 <= sleep.delays[1] <= 2.0
        await ana.close()


async def test_a_server_that_never_answers_is_recorded_failed_and_the_room_carries_on(tmp_path):
    clock = ManualClock(T0)
    async with (
        webhook(hang=True) as dead,
        running_hub(
            tmp_path / "hub.db",
            clock=clock,
            webhooks=[target(dead, "status-slack", timeout=2.0)],
            delivery=fast_policy(attempts=2),
        ) as hub,
    ):
        incident = await declare_incident(hub.url)
        ana = await client(hub.url, "ana", "ic", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        ack = await publish(ana, clock)
        await eventually(lambda: len(dead.requests) == 1)

        # While the hub waits on the dead endpoint (2 s an attempt), the room works at full
        # speed: a hub that waited for it would hold a note for most of those 2 s.
        for i in range(5):
            started = time.monotonic()
            note = await bo.post(NoteAdded(text=f"still working {i}"))
            assert isinstance(note, Ack) and time.monotonic() - started < 1.0
        assert delivery_events(ana) == [], "the notes were answered while the hub still waited"

        await eventually(lambda: len(delivery_events(ana)) == 1, timeout=10)
        [failed] = delivery_events(ana)
        assert failed.type == "update_delivery_failed" and failed.attempts == 2
        assert failed.reason == "no answer within 2s"
        record = ana.state.comms.delivery(ack.id, "status-slack")
        assert record.status == DeliveryStatus.FAILED
        assert failed.describe() == (
            "Update NOT delivered to status-slack after 2 attempts: no answer within 2s"
        )
        # The update itself was stored and acknowledged before any of this.
        assert ana.state.comms.updates[0].update_id == ack.id

        # The endpoint recovers; the comms lead (here the IC) retries by hand.
        dead.hang = False
        refused = await bo.post(UpdateDeliveryRetried(update_id=str(ack.id), target="status-slack"))
        assert isinstance(refused, Error) and refused.code == "forbidden"
        retry = await ana.post(UpdateDeliveryRetried(update_id=str(ack.id), target="status-slack"))
        assert isinstance(retry, Ack)
        await eventually(
            lambda: ana.state.comms.delivery(ack.id, "status-slack").status == "delivered",
            timeout=10,
        )
        again = await ana.post(UpdateDeliveryRetried(update_id=str(ack.id), target="status-slack"))
        assert isinstance(again, Error) and again.code == "not_failed"
        await ana.close()
        await bo.close()


async def test_a_delivery_cut_short_by_a_restart_is_resumed(tmp_path):
    clock = ManualClock(T0)
    db = tmp_path / "hub.db"
    async with webhook(hang=True) as endpoint:
        config = {"webhooks": [target(endpoint, "status-slack", timeout=30)]}
        async with running_hub(db, clock=clock, delivery=fast_policy(), **config) as hub:
            incident = await declare_incident(hub.url)
            ana = await client(hub.url, "ana", "ic", incident)
            ack = await publish(ana, clock)
            await eventually(lambda: len(endpoint.requests) == 1)
            await ana.close()
        endpoint.hang = False
        async with running_hub(db, clock=clock, delivery=fast_policy(), **config) as hub:
            await eventually(lambda: len(endpoint.requests) == 2)
            await hub.webhooks.idle()
            state = hub.hub.rooms[incident].state
            assert state.comms.delivery(ack.id, "status-slack").status == "delivered"


async def test_internal_updates_skip_a_target_meant_for_outsiders(tmp_path):
    clock = ManualClock(T0)
    async with webhook() as public:
        outside = WebhookTarget(
            name="status-page",
            kind=TargetKind.JSON,
            url=public.url,
            audiences=frozenset({Audience.EXTERNAL}),
        )
        async with running_hub(
            tmp_path / "hub.db", clock=clock, webhooks=[outside], delivery=fast_policy()
        ) as hub:
            incident = await declare_incident(hub.url)
            ana = await client(hub.url, "ana", "ic", incident)
            await publish(ana, clock, audience="internal")
            await publish(ana, clock, audience="external")
            await eventually(lambda: len(delivery_events(ana)) == 1)
            await hub.webhooks.idle()
            assert [b["update"]["audience"] for b in public.bodies] == ["external"]
            await ana.close()


def test_webhook_targets_come_from_the_config_file(tmp_path):
    from warroom.hub.app import HubConfig

    config = apply_config_file(
        HubConfig(),
        {
            "webhooks": [
                {"kind": "slack", "url": "https://hooks.example.com/T1", "name": "status"},
                {
                    "kind": "json",
                    "url": "http://127.0.0.1:9/x",
                    "audience": "internal",
                    "timeout": 2,
                },
            ],
            "webhook_delivery": {"attempts": 6, "backoff": 0.5},
        },
    )
    slack, generic = config.webhooks
    assert (slack.name, slack.kind, slack.audiences) == ("status", "slack", frozenset(Audience))
    assert (generic.name, generic.timeout, generic.audiences) == (
        "json-2",
        2.0,
        frozenset({Audience.INTERNAL}),
    )
    assert config.delivery.attempts == 6 and config.delivery.base_delay == 0.5
    for bad in (
        {"webhooks": [{"kind": "irc", "url": "https://x"}]},
        {"webhooks": [{"kind": "slack", "url": "ftp://x"}]},
        {
            "webhooks": [
                {"kind": "slack", "url": "https://x", "name": "a"},
                {"kind": "json", "url": "https://y", "name": "a"},
            ]
        },
        {"webhooks": [{"kind": "slack", "url": "https://x", "secret": "s"}]},
        {"webhook_delivery": {"attempts": 0}},
    ):
        with pytest.raises(HubConfigError):
            apply_config_file(HubConfig(), bad)


async def test_retrying_a_target_the_hub_no_longer_has_is_answered_not_left_hanging(tmp_path):
    clock = ManualClock(T0)
    db = tmp_path / "hub.db"
    async with webhook(hang=True) as dead:
        hooks = [target(dead, "old-hook", timeout=0.2)]
        async with running_hub(
            db, clock=clock, webhooks=hooks, delivery=fast_policy(attempts=1)
        ) as hub:
            incident = await declare_incident(hub.url)
            ana = await client(hub.url, "ana", "ic", incident)
            ack = await publish(ana, clock)
            await eventually(lambda: len(delivery_events(ana)) == 1, timeout=10)
            await ana.close()
    async with running_hub(db, clock=clock) as hub:  # restarted without any webhook
        ana = await client(hub.url, "ana", "ic", incident)
        retry = await ana.post(UpdateDeliveryRetried(update_id=str(ack.id), target="old-hook"))
        assert isinstance(retry, Ack)
        await eventually(lambda: len(delivery_events(ana)) == 2)
        assert delivery_events(ana)[-1].reason == "no such webhook target on this hub any more"
        assert ana.state.comms.delivery(ack.id, "old-hook").status == DeliveryStatus.FAILED
        await ana.close()
