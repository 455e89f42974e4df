"""Posting published stakeholder updates to webhook targets, without ever holding up the room.

The hub stores an ``update_published`` event first and acknowledges it; only then does this module
post it, each target in its own background task, with a timeout per attempt and retries with
exponential backoff and jitter. The outcome per target is recorded as a hub event
(``update_delivered`` or ``update_delivery_failed``), so the comms pane shows it and a failed
delivery can be retried by hand (``update_delivery_retry``). A target that is down costs a
background task, never a command's latency, and never the update itself: it is already in the log.

If the hub stops while a delivery is in flight, nothing is recorded for it; the next start
resumes deliveries of recent updates that have no recorded outcome.

Kinds of target:

* ``slack``: a Slack-compatible incoming webhook, posted ``{"text": <the update text>}``;
* ``json``: a generic JSON webhook, posted the whole update (fields, text, author, audience...);
* ``teams``, ``mattermost``, ``discord``, ``matrix``: chat systems, each sent a message in its own
  format (see :mod:`warroom.hub.webhook_chat`); Matrix through the client-server API with an
  access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from warroom.hub.storage_claims import DeliveryClaims, SoleDeliverer
from warroom.hub.webhook_chat import FORMATS, matrix_send_url

from warroom import __version__
from warroom.core.comms import (
    UpdateDelivered,
    UpdateDeliveryFailed,
    UpdateDeliveryRetried,
    UpdatePublished,
)
from warroom.core.comms_state import Audience, DeliveryStatus, StakeholderUpdate
from warroom.core.events import EventBase
from warroom.core.phases import Phase
from warroom.core.state import IncidentState

if TYPE_CHECKING:
    from warroom.hub.hub import Hub

log = logging.getLogger("warroom.webhooks")

Sleep = Callable[[float], Awaitable[None]]


class TargetKind(StrEnum):
    SLACK = "slack"
    JSON = "json"
    TEAMS = "teams"
    MATTERMOST = "mattermost"
    DISCORD = "discord"
    MATRIX = "matrix"


@dataclass(frozen=True)
class WebhookTarget:
    """One place the hub posts published updates to, named in the comms pane by ``name``."""

    name: str
    kind: TargetKind
    url: str
    #: Which updates go here; a public status channel would take external updates only.
    audiences: frozenset[Audience] = frozenset(Audience)
    #: Seconds one attempt may take (connect, send, answer) before it counts as failed.
    timeout: float = 5.0
    #: Matrix only: the room id (``!abc:example.org``) and the sending account's access token.
    room: str = ""
    token: str = field(default="", repr=False)  # never in a log line


@dataclass
class DeliveryPolicy:
    """How hard the hub tries: attempts per target and the backoff between them.

    The delay before retry ``n`` (1-based) is drawn between half and all of
    ``min(max_delay, base_delay * 2 ** (n - 1))``: exponential so a struggling endpoint gets air,
    jittered so several hubs (or several updates) do not retry in lockstep, and never near zero.
    Tests inject a fast policy and ``sleep``.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    #: Updates published this recently are re-sent at start if no outcome was recorded.
    resume_within: timedelta = timedelta(hours=1)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Sleep = asyncio.sleep

    def delay(self, retry: int) -> float:
        bound = min(self.max_delay, self.base_delay * (2 ** max(0, retry - 1)))
        return self.rng.uniform(bound / 2, bound)


def retryable(status: int) -> bool:
    """Server trouble and throttling are worth retrying; other client errors are not."""
    return status >= 500 or status in (408, 425, 429)


def payload(
    target: WebhookTarget, state: IncidentState, update: StakeholderUpdate
) -> dict[str, Any]:
    """The body posted to ``target`` for ``update``."""
    if target.kind == TargetKind.SLACK:
        return {"text": update.text}
    chat = FORMATS.get(target.kind.value)
    if chat is not None:
        return chat(state, update)
    return {
        "type": "update_published",
        "incident": {"id": state.incident_id, "title": state.title, "drill": state.drill},
        "update": update.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    status_code: int = 0
    reason: str = ""


class WebhookDispatcher:
    """Delivers each published update to every matching target, in the background."""

    def __init__(
        self,
        hub: Hub,
        targets: Iterable[WebhookTarget] = (),
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.hub = hub
        self.targets: dict[str, WebhookTarget] = {t.name: t for t in targets}
        self.policy = policy or DeliveryPolicy()
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[tuple[uuid.UUID, str]] = set()
        self._http: httpx.AsyncClient | None = None
        #: Which deliveries are this hub's to make (several hubs on one database, #22).
        self.claims: DeliveryClaims = SoleDeliverer()

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Hook into the hub and resume deliveries the last run left without an outcome."""
        self.hub.after_store.append(self.on_stored)
        if not self.targets:
            return  # still hooked: a retry naming a target no longer configured is answered
        self._http = httpx.AsyncClient(
            headers={"User-Agent": f"warroom/{__version__}"}, follow_redirects=False
        )
        self._resume()

    async def close(self) -> None:
        """Stop in-flight deliveries (they resume at the next start) and close connections."""
        if self.on_stored in self.hub.after_store:
            self.hub.after_store.remove(self.on_stored)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def idle(self) -> None:
        """Wait until every delivery under way has recorded its outcome."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _resume(self) -> None:
        now = self.hub.clock()
        for room in self.hub.rooms.values():
            state = room.state
            if state.phase == Phase.CLOSED:
                continue
            for update in state.comms.updates:
                if update.at is None or now - update.at > self.policy.resume_within:
                    continue
                for target in self._targets_for(update.audience):
                    known = state.comms.delivery(update.update_id, target.name)
                    if known is None or known.status == DeliveryStatus.RETRYING:
                        self.schedule(state.incident_id, update.update_id, target)

    # --- scheduling ---------------------------------------------------------------------------
    def on_stored(self, event: EventBase) -> None:
        """The hub's after-store hook: start deliveries for new updates and manual retries."""
        if isinstance(event, UpdatePublished):
            for target in self._targets_for(event.audience):
                self.schedule(event.incident_id, event.id, target)
        elif isinstance(event, UpdateDeliveryRetried):
            known = self.targets.get(event.target)
            if known is not None:
                self.schedule(event.incident_id, event.update_id, known)
            else:
                self._spawn(
                    self._record(
                        event.incident_id,
                        event.update_id,
                        event.target,
                        Outcome(False, 1, reason="no such webhook target on this hub any more"),
                    )
                )

    def _targets_for(self, audience: Audience) -> list[WebhookTarget]:
        return [t for t in self.targets.values() if audience in t.audiences]

    def schedule(self, incident_id: str, update_id: uuid.UUID, target: WebhookTarget) -> None:
        key = (update_id, target.name)
        if key in self._inflight or self._http is None:
            return
        self._inflight.add(key)
        task = self._spawn(self._deliver(incident_id, update_id, target))
        task.add_done_callback(lambda _t: self._inflight.discard(key))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- delivering ---------------------------------------------------------------------------
    async def _deliver(self, incident_id: str, update_id: uuid.UUID, target: WebhookTarget) -> None:
        room = await self.hub.live.room(incident_id)  # loaded again if it was dropped
        update = room.state.comms.update(update_id) if room is not None else None
        if room is None or update is None:
            log.error("no update %s in %s to deliver", update_id, incident_id)
            return

        def body() -> dict[str, Any]:
            # Read again before every attempt: an update redacted meanwhile (#23) is retried
            # with the redacted text, never with what the room's memory no longer holds.
            now = room.state.comms.update(update_id) or update
            return payload(target, room.state, now)

        async with self.claims.hold(str(update_id), target.name) as claim:
            if not claim.mine:
                return  # another hub is delivering it, or has delivered it
            outcome = await self.post(target, body, update_id)
            claim.delivered = outcome.delivered
            await self._record(incident_id, update_id, target.name, outcome)

    async def post(
        self,
        target: WebhookTarget,
        body: dict[str, Any] | Callable[[], dict[str, Any]],
        update_id: uuid.UUID,
    ) -> Outcome:
        """Post ``body`` to ``target`` until it is accepted or the attempts run out (a callable
        ``body`` is asked for the body again before each attempt)."""
        assert self._http is not None
        key = f"{update_id}:{target.name}"
        headers = {"Idempotency-Key": key}
        method, url = "POST", target.url
        if target.kind == TargetKind.MATRIX:
            # A fixed transaction id: the homeserver stores a retried message once.
            method, url = "PUT", matrix_send_url(target.url, target.room, f"warroom-{key}")
            headers["Authorization"] = f"Bearer {target.token}"
        reason = ""
        attempt = 0
        for attempt in range(1, self.policy.attempts + 1):
            try:
                response = await self._http.request(
                    method,
                    url,
                    json=body() if callable(body) else body,
                    headers=headers,
                    timeout=target.timeout,
                )
            except httpx.TimeoutException:
                reason = f"no answer within {target.timeout:g}s"
            except httpx.HTTPError as exc:
                reason = f"could not connect ({type(exc).__name__})"
            else:
                if 200 <= response.status_code < 300:
                    return Outcome(True, attempt, status_code=response.status_code)
                reason = f"HTTP {response.status_code}"
                if not retryable(response.status_code):
                    break
            if attempt < self.policy.attempts:
                log.info("webhook %s: attempt %d failed (%s)", target.name, attempt, reason)
                await self.policy.sleep(self.policy.delay(attempt))
        log.warning("webhook %s: giving up after %d attempts (%s)", target.name, attempt, reason)
        return Outcome(False, attempt, reason=reason)

    async def _record(
        self, incident_id: str, update_id: uuid.UUID, target: str, outcome: Outcome
    ) -> None:
        result: EventBase
        if outcome.delivered:
            result = UpdateDelivered(
                id=uuid.uuid4(),
                update_id=update_id,
                target=target,
                attempts=outcome.attempts,
                status_code=outcome.status_code,
            )
        else:
            result = UpdateDeliveryFailed(
                id=uuid.uuid4(),
                update_id=update_id,
                target=target,
                attempts=max(1, outcome.attempts),
                reason=outcome.reason[:500],
            )
        await self.hub.record_by_hub(incident_id, result)


# --- configuration ------------------------------------------------------------------------------
class WebhookConfigError(ValueError):
    """A ``[[webhooks]]`` entry the hub cannot use; the message says which and why."""


def targets_from_config(entries: Any) -> list[WebhookTarget]:
    """Read ``[[webhooks]]`` tables: ``kind``, ``url``, and optional ``name``, ``audience``,
    ``timeout``; a ``matrix`` target also needs ``room`` and ``token``."""
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise WebhookConfigError("webhooks must be a list of [[webhooks]] tables.")
    targets: list[WebhookTarget] = []
    for i, entry in enumerate(entries, start=1):
        unknown = set(entry) - {"kind", "url", "name", "audience", "timeout", "room", "token"}
        if unknown:
            raise WebhookConfigError(f"webhook {i}: unknown key(s) {', '.join(sorted(unknown))}.")
        try:
            kind = TargetKind(str(entry.get("kind", "")))
        except ValueError:
            kinds = ", ".join(f'"{k.value}"' for k in TargetKind)
            raise WebhookConfigError(f"webhook {i}: kind must be one of {kinds}.") from None
        url = str(entry.get("url", ""))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WebhookConfigError(f"webhook {i}: url must be an http(s) URL.")
        room, token = _matrix_room(i, kind, entry)
        name = str(entry.get("name") or f"{kind.value}-{i}")
        if any(t.name == name for t in targets):
            raise WebhookConfigError(f"webhook {i}: the name {name!r} is used twice.")
        targets.append(
            WebhookTarget(
                name=name,
                kind=kind,
                url=url,
                audiences=_audiences(i, entry.get("audience", "all")),
                timeout=_timeout(i, entry.get("timeout", 5.0)),
                room=room,
                token=token,
            )
        )
    return targets


def _matrix_room(i: int, kind: TargetKind, entry: dict[str, Any]) -> tuple[str, str]:
    """A Matrix target's room id and access token; other kinds take neither."""
    room, token = entry.get("room", ""), entry.get("token", "")
    if kind != TargetKind.MATRIX:
        if room or token:
            raise WebhookConfigError(f"webhook {i}: room and token are for matrix targets only.")
        return "", ""
    if not isinstance(room, str) or not room.startswith("!") or ":" not in room:
        raise WebhookConfigError(
            f'webhook {i}: a matrix target needs room = "!roomid:server" (the room id, not an '
            "alias: Room settings > Advanced)."
        )
    if not isinstance(token, str) or not token.strip():
        raise WebhookConfigError(f"webhook {i}: a matrix target needs the bot's access token.")
    return room, token.strip()


def _audiences(i: int, value: Any) -> frozenset[Audience]:
    if value in ("all", "both"):
        return frozenset(Audience)
    values = value if isinstance(value, list) else [value]
    try:
        return frozenset(Audience(str(v)) for v in values)
    except ValueError:
        raise WebhookConfigError(
            f'webhook {i}: audience must be "internal", "external" or "all".'
        ) from None


def _timeout(i: int, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 120:
        raise WebhookConfigError(f"webhook {i}: timeout must be a number of seconds (0-120].")
    return float(value)


def policy_from_config(data: Any) -> DeliveryPolicy:
    """Read the optional ``[webhook_delivery]`` table: ``attempts``, ``backoff``, ``max_backoff``."""
    policy = DeliveryPolicy()
    if data is None:
        return policy
    if not isinstance(data, dict):
        raise WebhookConfigError("[webhook_delivery] must be a table.")
    unknown = set(data) - {"attempts", "backoff", "max_backoff"}
    if unknown:
        raise WebhookConfigError(
            f"[webhook_delivery]: unknown key(s) {', '.join(sorted(unknown))}."
        )
    attempts = data.get("attempts", policy.attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
        raise WebhookConfigError("[webhook_delivery] attempts must be 1 to 20.")
    policy.attempts = attempts
    for key, attr in (("backoff", "base_delay"), ("max_backoff", "max_delay")):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise WebhookConfigError(f"[webhook_delivery] {key} must be seconds (>= 0).")
            setattr(policy, attr, float(value))
    return policy
