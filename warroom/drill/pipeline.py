"""The drill's simulated deploy pipeline: it asks the drill hub's real gate, as a pipeline would.

A ``pipeline`` step is a CI job reaching its deploy stage. It calls ``GET /gate/check`` on the
drill's own hub with a gate credential named after the pipeline, always naming the drill
incident (``incident=``), so the answer comes from the same rules (:mod:`warroom.core.gate`)
applied to the drill incident alone, and the ``gate_checked`` event lands on the drill's
timeline. A check that names no incident (a real pipeline's) never looks at a drill, so nothing
a drill does opens or closes the gate for a real incident.

The room sees each answer on the timeline; a person playing gets a coach line that says what it
meant: blocked while someone held the lock, or let through.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import httpx

from warroom.client.urls import http_base
from warroom.core.production import ProductionLock
from warroom.drill.scenario import Step


class GateUnavailable(RuntimeError):
    """The drill hub's gate did not answer the check (the message says why)."""


@dataclass(frozen=True)
class GateAnswer:
    """What the gate said to one pipeline step, and the lock as the pipeline saw it."""

    allowed: bool
    message: str
    token: int | None
    #: Who held the lock when the pipeline asked (``None``: nobody), and the live lease's token.
    holder: str | None
    live_token: int = 0
    #: The production action the hub recorded for the holder (a started change), if any.
    action: UUID | None = None

    @property
    def past_the_lock(self) -> bool:
        """Let through while someone held the lock, without that lease's token."""
        return self.allowed and self.holder is not None and self.token != self.live_token


def presented(lock: ProductionLock, presents: str) -> int | None:
    """The fencing token a pipeline step shows the gate."""
    if presents == "lock":
        return lock.token or None
    if presents == "previous":
        earlier = [g.token for g in lock.grants if g.token != lock.token]
        return earlier[-1] if earlier else None
    return None


async def ask_gate(
    url: str, credential: str, incident: str, step: Step, lock: ProductionLock
) -> GateAnswer:
    """Ask the hub at ``url`` whether ``step``'s change may go ahead in the drill incident."""
    token = presented(lock, step.presents)
    params: dict[str, str] = {"target": step.target, "incident": incident}
    if token is not None:
        params["token"] = str(token)
    if step.started:
        params["started"] = "1"
        given = {"kind": step.kind, "expect": step.expected, "metric": step.metric}
        params.update({k: v for k, v in {**given, "before": step.before}.items() if v})
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            reply = await http.get(
                http_base(url) + "/gate/check",
                params=params,
                headers={"Authorization": f"Bearer {credential}"},
            )
        body = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GateUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if reply.status_code != 200 or not isinstance(body, dict) or not body.get("incidents"):
        why = body.get("message", reply.status_code) if isinstance(body, dict) else body
        raise GateUnavailable(f"the gate answered {reply.status_code}: {why}")
    row = body["incidents"][0]
    action = UUID(row["action"]) if row.get("action") else None
    allowed, message = bool(row["allowed"]), str(row["message"])
    return GateAnswer(allowed, message, token, lock.holder, lock.token, action)


def pipeline_line(pipeline: str, target: str, answer: GateAnswer) -> str:
    """The coach's line about a check, what matters first: blocked or allowed, and the lock."""
    showing = f"token {answer.token}" if answer.token is not None else "no token"
    lock = f"lock held by {answer.holder}" if answer.holder else "lock free"
    if not answer.allowed:
        return (
            f"DRILL: pipeline blocked: {lock}; {pipeline} may not change {target} with "
            f"{showing}. {answer.message}"
        )
    if answer.past_the_lock:
        return (
            f"DRILL: pipeline NOT stopped: {lock}, yet {pipeline} changed {target} with "
            f"{showing}: nothing froze {target}. {answer.message}"
        )
    return (
        f"DRILL: pipeline allowed: {pipeline} may change {target} with {showing}. {answer.message}"
    )
