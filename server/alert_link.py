"""Where alert groups meet incidents on the hub: the few hooks issue 20 needs, in one place.

* :meth:`AlertLink.stamp` fills an ``alert_group_attached`` command with what the alert store
  knows of the group (the command's hub-filled fields) before the core's rules run, so the rule
  decides on the hub's facts, never on what the sender claimed;
* :meth:`AlertLink.after_store` ties the group to the incident once the attachment is stored;
* :meth:`AlertLink.dismiss` takes a dismissal (a command about a group, on a connection that
  joined no incident): checked by the core's rule, kept in the alert store's action log;
* :meth:`AlertLink.notified` is called by the intake after it stored a notification: news of a
  group tied to an incident goes on that incident's timeline as an ``alert_notified`` event
  recorded by the hub. A flood of news for one group is gathered into at most one event per
  ``interval`` seconds (the changes listed, the rest counted), so the timeline stays readable and
  the writer is not swamped; every state change is still stored once in the alert tables.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from warroom.hub.alert_store import AlertStore, Recorded
from warroom.hub.intake_config import IntakeConfig

from warroom.core.alerts import AlertChange
from warroom.core.alerts_incident import (
    AUTO_DECLARED_NOTE,
    MAX_LISTED,
    MAX_SUMMARY,
    AlertChangeNote,
    AlertGroupAttached,
    AlertGroupDismissed,
    AlertNotified,
    auto_declaration_fields,
    auto_rule,
    dismissal_refusal,
)
from warroom.core.clock import Clock, utc_now
from warroom.core.events import Actor, EventBase
from warroom.core.incident import IncidentDeclared, NoteAdded
from warroom.core.log import explain
from warroom.core.phases import Phase
from warroom.core.protocol import Ack, Error
from warroom.core.roles import HUB_ACTOR, Role

if TYPE_CHECKING:
    from warroom.hub.writer import Writer

log = logging.getLogger("warroom.hub.alerts")

#: Seconds between two ``alert_notified`` events of one group (news in between is gathered).
DEFAULT_INTERVAL = 5.0


def _datetime(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


class AlertLink:
    """The hub's side of alert groups in incidents; without an alert store it knows no group."""

    def __init__(
        self,
        store: AlertStore | None = None,
        interval: float = DEFAULT_INTERVAL,
        clock: Clock = utc_now,
        config: IntakeConfig | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock
        self.config = config or IntakeConfig()
        #: Groups being auto-declared now (a second notification must not declare twice).
        self._declaring: set[str] = set()
        self.hub: Writer | None = None
        #: News waiting for its group's next event, by group id (the latest counts with it).
        self._waiting: dict[str, tuple[list[AlertChange], Recorded]] = {}
        self._flushing: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, float] = {}

    def bind(self, hub: Writer) -> None:
        self.hub = hub
        hub.after_store.append(self.after_store)

    # --- before the rules ---------------------------------------------------------------------
    def stamp(self, draft: EventBase) -> EventBase:
        """``draft`` with the hub's facts about the group it names (only attachments name one)."""
        if not isinstance(draft, AlertGroupAttached):
            return draft
        group = self.store.group(draft.group_id) if self.store is not None else None
        if group is None:
            facts: dict[str, Any] = {
                "known": False, "source": "", "summary": "", "starts_at": None,
                "firing": 0, "resolved": 0, "tied_to": "",
            }  # fmt: skip
        else:
            facts = {
                "known": True,
                "source": group["source"],
                "summary": (group["summary"] or "")[:MAX_SUMMARY],
                "starts_at": _datetime(group["starts_at"]),
                "firing": group["firing"],
                "resolved": group["resolved"],
                "tied_to": group["incident_id"] or "",
            }
        return draft.model_copy(update=facts)

    # --- after an attachment is stored --------------------------------------------------------
    def after_store(self, event: EventBase) -> None:
        if isinstance(event, AlertGroupAttached) and self.store is not None:
            asyncio.get_running_loop().create_task(self._tie(event))

    async def _tie(self, event: AlertGroupAttached) -> None:
        assert self.store is not None
        try:
            await asyncio.to_thread(
                self.store.act, str(event.id), event.group_id, "attached", event.actor,
                event.at or self.clock(), incident_id=event.incident_id,
            )  # fmt: skip
        except Exception:  # the attachment is on the record; the list shows it until retried
            log.exception("could not tie alert group %s to %s", event.group_id, event.incident_id)

    # --- dismissing ---------------------------------------------------------------------------
    @staticmethod
    def dismissal(data: dict[str, Any], sent_id: str | None) -> AlertGroupDismissed | Error | None:
        """``data`` read as a dismissal if it is one (an :class:`Error` if it is one that does
        not validate); None for every other command."""
        if data.get("type") != "alert_group_dismissed":
            return None
        try:
            return AlertGroupDismissed.model_validate(data)
        except ValidationError as exc:
            return Error(code="invalid", message=explain(exc), id=sent_id)

    async def dismiss(
        self, name: str, seat: Role, guest: bool, command: AlertGroupDismissed | Error
    ) -> Ack | Error:
        """Check and keep a dismissal; the answer is an ack (``incident`` empty) or a refusal
        (``command`` itself when it did not even validate)."""
        if isinstance(command, Error):
            return command
        group = self.store.group(command.group_id) if self.store is not None else None
        refusal = dismissal_refusal(
            command, seat, guest, known=group is not None,
            tied_to=(group or {}).get("incident_id") or "",
        )  # fmt: skip
        if refusal is not None:
            return Error(code=refusal.code, message=refusal.message, id=str(command.id))
        assert self.store is not None
        try:
            fresh = await asyncio.to_thread(
                self.store.act, str(command.id), command.group_id, "dismissed", name,
                self.clock(), reason=command.reason.strip(),
            )  # fmt: skip
        except Exception:
            log.exception("could not store a dismissal of %s", command.group_id)
            return Error(code="internal", message="The hub could not store this; try again.",
                         id=str(command.id))  # fmt: skip
        return Ack(id=command.id, incident="", seq=0, duplicate=not fresh)

    # --- news from the intake -----------------------------------------------------------------
    def notified(self, recorded: Recorded) -> None:
        """The intake stored ``recorded``: its news goes to the group's incident, if it has one
        (or, by an auto-declare rule, to one the hub declares for it). Called on the hub's
        loop; never blocks."""
        if self.hub is None:
            return
        if (
            recorded.incident_id is None
            and recorded.firing
            and self.config.auto_declare
            and recorded.group_id not in self._declaring
        ):
            self._declaring.add(recorded.group_id)
            task = asyncio.get_running_loop().create_task(self._auto_declare(recorded.group_id))
            task.add_done_callback(lambda _: self._declaring.discard(recorded.group_id))
            return
        if not recorded.news or not recorded.incident_id:
            return
        changes, _ = self._waiting.get(recorded.group_id, ([], recorded))
        self._waiting[recorded.group_id] = ([*changes, *recorded.news], recorded)
        if recorded.group_id not in self._flushing:
            task = asyncio.get_running_loop().create_task(self._flush(recorded.group_id))
            self._flushing[recorded.group_id] = task

    async def _flush(self, group_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            wait = self._last.get(group_id, -self.interval) + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            changes, latest = self._waiting.pop(group_id)
            self._last[group_id] = loop.time()
            await self._record(latest, changes)
        except Exception:
            log.exception("could not record alert news for group %s", group_id)
        finally:
            self._flushing.pop(group_id, None)
            if group_id in self._waiting:  # news arrived while recording
                self._flushing[group_id] = loop.create_task(self._flush(group_id))

    async def _record(self, latest: Recorded, changes: list[AlertChange]) -> None:
        assert self.hub is not None and latest.incident_id is not None
        # The latest state of each alert, in the order they changed.
        last = {c.fingerprint: c for c in changes}
        notes = [
            AlertChangeNote(
                name=c.labels.get("alertname") or c.fingerprint,
                status=c.status.value,
                at=c.ends_at if c.status.value == "resolved" and c.ends_at else c.starts_at,
            )
            for c in last.values()
        ]
        source = self.store.group(latest.group_id) if self.store is not None else None
        event = AlertNotified(
            group_id=latest.group_id,
            source=(source or {}).get("source", "alerts"),
            summary=latest.summary,
            firing=latest.firing,
            resolved=latest.resolved,
            changes=notes[:MAX_LISTED],
            more=max(len(notes) - MAX_LISTED, 0),
            link=latest.link,
        )
        room = await self.hub.live.room(latest.incident_id)
        if room is None or room.state.phase == Phase.CLOSED:
            # The incident is over (its record stays as it ended): a group that fires again is
            # news for the incident list. It leaves the incident and is listed while it fires.
            if self.store is not None:
                await asyncio.to_thread(
                    self.store.act, str(uuid.uuid4()), latest.group_id, "released", HUB_ACTOR,
                    self.clock(), incident_id=latest.incident_id, reason="the incident is closed",
                )  # fmt: skip
            log.info("alert group %s left closed incident %s", latest.group_id, latest.incident_id)
            return
        reply = await self.hub.record_by_hub(latest.incident_id, event)
        if isinstance(reply, Error):
            log.warning("alert news for %s not recorded: %s", latest.incident_id, reply.message)

    # --- auto-declare (only with [intake] auto_declare rules) ---------------------------------
    async def _auto_declare(self, group_id: str) -> None:
        """Declare an incident for a firing group a rule matches, attach the group, and say on
        the timeline that nobody is IC until someone claims it. Idempotent: the declaration's
        id and the incident's come from the group, so a second try finds the first."""
        assert self.hub is not None and self.store is not None
        config = self.config
        try:
            group = self.store.described(
                group_id, config.severity, config.severity_label, config.scope
            )
            if group is None or group["incident_id"] or group["dismissed_reason"]:
                return
            if not group["firing"]:
                return
            rule = auto_rule(config.auto_declare, self.store.label_sets(group))
            if rule is None:
                return
            fields = auto_declaration_fields(group, rule, config.scope)
            key = f"warroom-auto-declare:{group_id}"
            incident = "inc-" + hashlib.sha256(key.encode()).hexdigest()[:6]
            declared = IncidentDeclared(
                id=uuid.uuid5(uuid.NAMESPACE_URL, key), incident_id=incident,
                **{k: v for k, v in fields.items() if v},
            )  # fmt: skip
            # Declared by nobody: the declarer would be its IC, and an automatic incident has
            # none until a person claims the role.
            reply = await self.hub.record_by_hub(
                incident, declared, actor=Actor(name="", seat=Role.HUB)
            )
            if isinstance(reply, Error):
                log.error("could not auto-declare for alert group %s: %s", group_id, reply.message)
                return
            # Every id comes from the group: a hub that declares it at the same moment as
            # another hub sharing the database (#22) is answered "duplicate" three times.
            attach = AlertGroupAttached(id=uuid.uuid5(uuid.NAMESPACE_URL, f"{key}:attach"),
                                        group_id=group_id)  # fmt: skip
            await self.hub.record_by_hub(incident, self.stamp(attach))
            note = NoteAdded(id=uuid.uuid5(uuid.NAMESPACE_URL, f"{key}:note"),
                             text=AUTO_DECLARED_NOTE)  # fmt: skip
            await self.hub.record_by_hub(incident, note)
            log.warning("auto-declared %s for alert group %s (%s)", incident, group_id,
                        group["summary"])  # fmt: skip
        except Exception:
            log.exception("auto-declare failed for alert group %s", group_id)

    async def close(self) -> None:
        for task in list(self._flushing.values()):
            task.cancel()
        await asyncio.gather(*self._flushing.values(), return_exceptions=True)
