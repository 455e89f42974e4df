"""Running a whole drill: an embedded hub, the simulated cast, and the scorecard at the end.

Headless drills move a manual clock from step to step and fire the hub's timers at each move, so
they run in a fraction of a second and give the same events for the same seed. Live drills run
the hub and the cast in a background thread on a sped-up clock while the user's console runs in
the foreground.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from warroom.core.clock import ManualClock
from warroom.core.drill import DrillScored, Scorecard
from warroom.core.roles import Role
from warroom.drill.clock import ScaledClock
from warroom.drill.pipeline import GateUnavailable
from warroom.drill.runner import Clock, DrillRunner, GateCredential, Narrator
from warroom.drill.scenario import Scenario
from warroom.drill.scorecard import score
from warroom.hub.app import HubConfig, HubServer
from warroom.hub.runbooks_config import RunbooksConfig


@dataclass
class DrillOutcome:
    incident_id: str
    db: Path
    scorecard: Scorecard
    refused: int = 0
    events: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def drill_hub(db: Path, port: int, timer_interval: float, clock: Clock) -> HubServer:
    """The drill's own hub: it serves the shipped runbooks (a scenario attaches one of them by
    name, and the player's console attaches from the same list)."""
    config = HubConfig(
        host="127.0.0.1",
        port=port,
        db=db,
        timer_interval=timer_interval,
        runbooks=RunbooksConfig(examples=True),
    )
    return HubServer(config, clock=clock)


def pipeline_credentials(server: HubServer) -> GateCredential:
    """Gate credentials for the script's pipelines, made on the drill's hub when first asked.

    The drill's hub keeps them in its own database, so they open nothing on a real hub."""
    made: dict[str, str] = {}

    def credential(name: str) -> str:
        if name not in made:
            if server.gate is None:  # a hub on PostgreSQL keeps no gate credentials yet
                raise GateUnavailable("this drill's hub keeps no gate credentials")
            if any(n == name and revoked is None for n, _, revoked in server.gate.listing()):
                server.gate.revoke(name)  # an earlier drill kept in the same --db file made it
            made[name] = server.gate.add(name)
        return made[name]

    return credential


def _temp_db() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="warroom-drill-"))
    return folder / "drill.db"


async def score_drill(server: HubServer, runner: DrillRunner) -> Scorecard:
    """Score the drill and record the scorecard on the incident."""
    incident = runner.incident_id
    hub = server.hub
    without_lock = sum(
        count
        for (inc, kind, code), count in hub.refusals.items()
        if inc == incident and kind == "action_started"
    )
    room = hub.rooms[incident]
    with contextlib.suppress(TimeoutError):  # score what the runner saw, at worst
        await runner.reader.wait_for_seq(room.head, timeout=10)
    by_hand = sum(
        count
        for (inc, kind, code), count in hub.refusals.items()
        if inc == incident and kind == "checklist_step_done" and code == "production_step"
    )
    card = score(
        room.state,
        runner.scenario,
        without_lock,
        runner.user_role,
        log=runner.reader.log,
        steps_by_hand=by_hand,
    )
    await hub.record_by_hub(incident, DrillScored(id=uuid.uuid4(), scorecard=card))
    return card


async def run_headless(
    scenario: Scenario,
    seed: int = 0,
    db: Path | None = None,
    start: datetime | None = None,
    narrate: Narrator | None = None,
) -> DrillOutcome:
    """Play ``scenario`` to the end with every role simulated; no console, no real waiting."""
    db = db or _temp_db()
    clock = ManualClock(start or datetime.now(UTC).replace(microsecond=0))
    server = drill_hub(db, 0, 0, clock)
    await server.start()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await server.hub.tick()

    runner = DrillRunner(
        scenario,
        server.url,
        clock,
        advance,
        seed=seed,
        narrate=narrate,
        gate_credential=pipeline_credentials(server),
    )
    try:
        await runner.declare()
        await runner.join_cast()
        await runner.run()
        card = await score_drill(server, runner)
        events = server.hub.rooms[runner.incident_id].head
    finally:
        await runner.close()
        await server.stop()
    return DrillOutcome(runner.incident_id, db, card, len(runner.refused), events)


class LiveDrill:
    """A drill with a person at a console: hub and cast in a background thread."""

    def __init__(
        self,
        scenario: Scenario,
        user_role: Role,
        user_name: str,
        speed: float,
        seed: int,
        db: Path | None = None,
        port: int = 0,
    ) -> None:
        self.scenario = scenario
        self.user_role = user_role
        self.user_name = user_name
        self.clock = ScaledClock(datetime.now(UTC), speed)
        self.seed = seed
        self.db = db or _temp_db()
        self.port = port
        self.url = ""
        self.incident_id = ""
        self.scorecard: Scorecard | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="warroom-drill", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the drill did not start in time")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # surfaced to the foreground
            self.error = exc
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        interval = max(0.05, min(1.0, 1.0 / self.clock.speed))
        server = drill_hub(self.db, self.port, interval, self.clock)
        await server.start()
        self.url = server.url

        async def advance(seconds: float) -> None:
            await asyncio.sleep(seconds / self.clock.speed)

        runner = DrillRunner(
            self.scenario,
            server.url,
            self.clock,
            advance,
            user_role=self.user_role,
            user_name=self.user_name,
            seed=self.seed,
            gate_credential=pipeline_credentials(server),
        )
        try:
            self.incident_id = await runner.declare()
            await runner.join_cast()
            self._ready.set()
            play = asyncio.create_task(runner.run())
            stop = asyncio.create_task(self._stop.wait())
            await asyncio.wait({play, stop}, return_when=asyncio.FIRST_COMPLETED)
            if play.done() and play.exception() is None:
                self.scorecard = await score_drill(server, runner)
                await self._stop.wait()
            else:
                play.cancel()
                self.scorecard = await score_drill(server, runner)
        finally:
            await runner.close()
            await server.stop()
