"""Plays a scenario: simulated responders join the drill incident and act on the script.

Steps run one at a time in script order, each at its scenario time, so a headless run with a
fixed seed produces the same events every time. When the user plays a role, the steps written for
that role's cast member become waits: a coach posts a hint on the timeline and the script carries
on once the user has done the equivalent thing in their console.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from warroom.client.backoff import Backoff
from warroom.client.lobby import declare
from warroom.client.sync import IncidentClient
from warroom.core.board import BoardItemAdded
from warroom.core.events import EventBase
from warroom.core.gate import GateChecked
from warroom.core.incident import NoteAdded
from warroom.core.phases import Phase
from warroom.core.protocol import Error
from warroom.core.roles import Role
from warroom.core.severity import Severity
from warroom.core.state import IncidentState
from warroom.drill import commands
from warroom.drill.coach import coach_hint
from warroom.drill.pipeline import GateAnswer, GateUnavailable, ask_gate, pipeline_line
from warroom.drill.scenario import Do, Responder, Scenario, Step
from warroom.drill.user_steps import checklist_done

log = logging.getLogger("warroom.drill")

COACH = "drill-coach"
Clock = Callable[[], datetime]
#: Called with a one-line description of what the drill is doing (for --headless output).
Narrator = Callable[[str], None]
#: The gate credential of a simulated pipeline, by its name (made on the drill's hub).
GateCredential = Callable[[str], str]


class TimeUp(Exception):
    """The scenario's ``ends_at`` passed while the script was waiting."""


class DrillRunner:
    """Runs one scenario against a hub.

    ``advance`` moves scenario time: in a headless run it moves a manual clock and fires the
    hub's timers; in a live run it simply sleeps (time is already sped up by the clock).
    """

    def __init__(
        self,
        scenario: Scenario,
        url: str,
        clock: Clock,
        advance: Callable[[float], Awaitable[None]],
        *,
        user_role: Role | None = None,
        user_name: str | None = None,
        seed: int = 0,
        token: str | None = None,
        narrate: Narrator | None = None,
        gate_credential: GateCredential | None = None,
    ) -> None:
        self.scenario = scenario
        self.gate_credential = gate_credential
        #: What the gate told each pipeline step, in order.
        self.gate_answers: list[tuple[Step, GateAnswer]] = []
        #: Pipeline steps that could not ask the gate, and why.
        self.gate_failures: list[tuple[Step, str]] = []
        self.url = url
        self.clock = clock
        self._advance = advance
        self.token = token
        self.rng = random.Random(seed)
        self.narrate = narrate or (lambda line: None)
        self.user_member: Responder | None = (
            scenario.played_by_user(user_role) if user_role else None
        )
        self.user_name = user_name or (self.user_member.name if self.user_member else None)
        self.user_role = user_role
        self.bots: dict[str, IncidentClient] = {}
        self.coach: IncidentClient | None = None
        self.incident_id = ""
        self.start: datetime | None = None
        self.items: dict[str, int] = {}
        self.actions: dict[str, UUID] = {}
        self.refused: list[tuple[Step, Error]] = []
        self._reacted: set[UUID] = set()
        minutes, secs = scenario.scenario.ends_at.split(":")
        #: Scenario seconds after which the drill stops waiting and ends.
        self.ends_at = int(minutes) * 60 + int(secs)
        self._scanned = 0
        #: Steps already played out of script order (a simulated comms lead's updates).
        self._done: set[int] = set()

    # --- setting up -----------------------------------------------------------------------------
    async def declare(self) -> str:
        """Declare the drill incident (as the user when they play IC, else as the IC bot)."""
        info = self.scenario.scenario
        self.start = self.clock()
        declarer = self.user_name if self.user_role == Role.IC else self.scenario.ic.name
        self.incident_id = await declare(
            self.url,
            declarer or self.scenario.ic.name,
            token=self.token,
            role=Role.IC,
            title=info.title,
            severity=info.severity,
            detected_at=(self.start - timedelta(minutes=info.detected_minutes_before)).isoformat(),
            trigger=info.trigger,
            symptoms=info.symptoms,
            scope=info.scope,
            drill=True,
        )
        self.narrate(f"declared {self.incident_id}: {info.title}")
        return self.incident_id

    async def join_cast(self) -> None:
        """Every simulated responder joins, in cast order (plus a coach when a person plays)."""
        names = [r for r in self.scenario.responders if r is not self.user_member]
        for member in names:
            self.bots[member.name] = await self._join(member.name, member.role)
        if self.user_member is not None:
            self.coach = await self._join(COACH, Role.RESPONDER)

    async def _join(self, name: str, role: Role) -> IncidentClient:
        client = IncidentClient(
            self.url,
            name,
            role,
            self.incident_id,
            token=self.token,
            backoff=Backoff(base=0.05, cap=1.0),
        )
        client.start()
        await client.wait_synced(timeout=30)
        return client

    @property
    def reader(self) -> IncidentClient:
        """A client whose log the runner reads (any of them: they are all equal)."""
        return self.coach or next(iter(self.bots.values()))

    @property
    def state(self) -> IncidentState:
        return self.reader.state

    async def close(self) -> None:
        for client in [*self.bots.values(), *([self.coach] if self.coach else [])]:
            await client.close()

    # --- running ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Play every step of the script, then stop (or stop at the scenario's end time)."""
        try:
            await self._play()
        except TimeUp:
            self.narrate("the scenario's time is up")
            if self.coach is not None:
                await self._send(
                    self.coach,
                    None,
                    NoteAdded(kind="note", text="DRILL: time is up; the drill ends here."),
                )

    async def _play(self) -> None:
        for index, step in enumerate(self.scenario.steps):
            if index in self._done:
                continue
            await self.advance_to(step.seconds)
            if index in self._done:  # played on schedule while time moved
                continue
            # done: keep_promises must not play it again while a later step waits for the user
            self._done.add(index)
            if self.user_member is not None and step.by == self.user_member.name:
                await self.wait_for_user(step)
            else:
                await self.perform(step)
            await self.react()
            if self.state.phase == Phase.CLOSED:
                break

    def scenario_seconds(self) -> float:
        assert self.start is not None
        return (self.clock() - self.start).total_seconds()

    async def advance_to(self, seconds: float) -> None:
        while (left := seconds - self.scenario_seconds()) > 0:
            await self._advance(min(left, 60.0))
            await self.settle()
            await self.react()

    async def settle(self) -> None:
        """Give the hub's latest events time to reach the runner's clients."""
        await asyncio.sleep(0)

    async def react(self) -> None:
        """Scripted reactions to what happened since the last look (an overdue update, say)."""
        events = self.reader.log[self._scanned :]
        self._scanned = len(self.reader.log)
        for event in events:
            for reaction in self.scenario.reactions:
                if not isinstance(event, reaction.trigger) or event.id in self._reacted:
                    continue
                self._reacted.add(event.id)
                bot = self.bots.get(reaction.by)
                if bot is None:
                    continue
                await self._send(bot, None, NoteAdded(text=reaction.text, kind=reaction.kind))

    async def perform(self, step: Step) -> None:
        if step.do == Do.PIPELINE:
            await self.run_pipeline(step)
            return
        bot = self.bots[step.by]
        command = commands.build(self, bot, step)
        if command is None:
            return
        if step.do == Do.LOCK:
            await self._send(bot, step, command)
            await self._until(lambda: self.state.lock.holder == bot.name, step)
            return
        reply = await self._send(bot, step, command)
        if reply is not None and step.do in (Do.FACT, Do.GUESS):
            self.items[step.key] = reply
        if reply is not None and step.do == Do.ACTION:
            self.actions[bot.name] = self._last_id

    async def run_pipeline(self, step: Step) -> None:
        """A simulated pipeline asks the drill hub's gate about the drill incident (only)."""
        lock = self.state.lock
        seen = sum(isinstance(e, GateChecked) for e in self.reader.log)
        try:
            if self.gate_credential is None:
                raise GateUnavailable("this drill's hub gives its pipelines no gate credential")
            credential = self.gate_credential(step.by)
            answer = await ask_gate(self.url, credential, self.incident_id, step, lock)
        except GateUnavailable as exc:
            # The pipeline could not ask (a broken drill set-up): say so and play on, as a real
            # pipeline's step would fail and the room would carry on.
            line = f"DRILL: pipeline {step.by} could not ask the deploy gate: {exc}"
            log.info("%s", line)
            self.narrate(f"{_mmss(self.scenario_seconds())} {line.removeprefix('DRILL: ')}")
            self.gate_failures.append((step, str(exc)))
            if self.coach is not None:
                await self._send(self.coach, None, NoteAdded(text=line, kind="note"))
            return
        self.gate_answers.append((step, answer))
        if answer.action is not None and lock.holder is not None:
            self.actions[lock.holder] = answer.action

        async def recorded() -> None:  # the hub's record of the check reaches the room
            while sum(isinstance(e, GateChecked) for e in self.reader.log) <= seen:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(recorded(), timeout=30)
        line = pipeline_line(step.by, step.target, answer)
        self.narrate(f"{_mmss(self.scenario_seconds())} {line.removeprefix('DRILL: ')}")
        if self.coach is not None:
            await self._send(self.coach, None, NoteAdded(text=line, kind="note"))

    async def _send(self, bot: IncidentClient, step: Step | None, command: EventBase) -> int | None:
        event_type = command.type
        self._last_id = command.id
        reply = await bot.send(command)
        if isinstance(reply, Error):
            log.info("%s: %s refused: %s", bot.name, event_type, reply.message)
            self.narrate(f"{bot.name}: {event_type} refused ({reply.message})")
            if step is not None:
                self.refused.append((step, reply))
            return None
        await bot.wait_for_seq(reply.seq, timeout=30)
        await self.reader.wait_for_seq(reply.seq, timeout=30)
        event = next(e for e in reversed(bot.log) if e.seq == reply.seq)
        self.narrate(f"{_mmss(self.scenario_seconds())} {bot.name}: {event.describe()}")
        return reply.seq

    async def wait_for_user(self, step: Step) -> None:
        """Hint, then wait until the user has done what this step stands for."""
        mark = len(self.reader.log)
        user = self.user_name
        done = _user_done(step, user)
        # A step read from the room's state (a freeze, a runbook step) may be done already: the
        # trainee ran ahead of the script, and a hint for it now would only confuse.
        if self.coach is not None and not done(self.state, []):
            await self._send(self.coach, None, NoteAdded(text=coach_hint(step), kind="note"))
            mark = len(self.reader.log)
        await self._until(lambda: done(self.state, self.reader.log[mark:]), step)
        if step.do in (Do.FACT, Do.GUESS):
            for event in self.reader.log[mark:]:
                if isinstance(event, BoardItemAdded) and event.actor == user:
                    self.items[step.key] = event.seq

    async def _until(self, predicate: Callable[[], bool], step: Step) -> None:
        """Wait (in scenario time, reacting as time passes) until ``predicate`` holds."""
        while not predicate():
            if self.scenario_seconds() >= self.ends_at:
                raise TimeUp
            await self._advance(1.0)
            await self.settle()
            await self.react()
            await self.keep_promises()

    async def keep_promises(self) -> None:
        """Play a simulated comms lead's due updates even while the script waits for the user.

        A stakeholder update is owed to the schedule, not to the script's order: a slow IC must
        not make the simulated comms lead miss a deadline, or the IC is blamed (on the timeline,
        by support, on the scorecard) for an update someone else owed.
        """
        if self.user_member is None:
            return
        now = self.scenario_seconds()
        for index, step in enumerate(self.scenario.steps):
            if index in self._done or not _on_schedule(step) or step.seconds > now:
                continue
            if step.do == Do.UPDATE and (
                step.by == self.user_member.name or step.by not in self.bots
            ):
                continue
            self._done.add(index)
            await self.perform(step)


def _on_schedule(step: Step) -> bool:
    """Steps that keep their time while the script waits for the user: a simulated comms lead's
    updates, and a pipeline that does not carry the live lease's token (a scheduled deploy does
    not wait for the room; one carrying the token was handed it, so it follows the script)."""
    return step.do == Do.UPDATE or (step.do == Do.PIPELINE and step.presents != "lock")


def _user_done(step: Step, user: str | None) -> Callable[[IncidentState, list[EventBase]], bool]:
    """What counts as the user having done ``step``."""
    by_user = lambda events, *types: any(  # noqa: E731
        isinstance(e, types) and e.actor == user for e in events
    )
    if step.do == Do.PHASE:
        phase = Phase(step.to)
        return lambda s, ev: s.phase.index >= phase.index
    if step.do == Do.SEVERITY:
        level = Severity(step.to)
        return lambda s, ev: s.severity.level <= level.level
    if step.do == Do.LOCK:
        return lambda s, ev: s.lock.holder == user
    if step.do == Do.RELEASE:
        return lambda s, ev: s.lock.holder != user
    if step.do in (Do.ATTACH, Do.CLAIM_STEP, Do.DONE_STEP, Do.FREEZE, Do.THAW):
        return lambda s, ev: checklist_done(step, s, user)
    types = commands.EVENT_FOR[step.do]
    return lambda s, ev: by_user(ev, *types)


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"
