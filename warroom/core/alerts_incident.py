"""Alert groups inside an incident: attaching a group, its later notifications on the timeline,
each offered on the board as evidence that one key turns into a fact, and dismissing a group that
is not an incident.

The hub knows the groups (``warroom.hub.alert_store``); the incident's log knows only what its
events say. So a command that names a group is *stamped* by the hub with what it knows of that
group (hub-filled fields: whether it exists, its source, summary, counts, and which incident it is
already tied to) before the rules here run: the rule reads the stamp, never the hub's tables.

Who may do what (the one place it is decided):

* **declare from a group**: whoever may declare (not an observer, not a guest); the declaration
  is an ordinary ``incident_declared`` followed by an attachment from its declarer, the new IC;
* **attach** a group to an incident: that incident's IC;
* **dismiss** a group (it is no incident, with a reason that is remembered): anyone with the
  hub's own credentials (not a join code's guest) who is not an observer;
* **turn a notification into a fact**: anyone who may put a fact on the board (not an observer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.core.alerts_state import AlertEvidence, AlertsState, AttachedGroup
from warroom.core.board import (
    BoardItem,
    Evidence,
    EvidenceKind,
    ItemChange,
    ItemKind,
    ItemStatus,
)
from warroom.core.events import Actor, EventBase, Refusal, event, refuse, require_reason
from warroom.core.roles import Role
from warroom.core.severity import Severity
from warroom.core.state import IncidentState

#: Group ids as the hub makes them (``ag-`` and 16 hex digits).
GROUP_ID = r"^ag-[0-9a-f]{16}$"
MAX_REASON = 500
#: Alert state changes listed on one timeline entry; the rest are counted.
MAX_LISTED = 20
#: The labels an incident's scope is read from, unless the hub's ``[intake] scope`` says otherwise.
DEFAULT_SCOPE_LABELS: tuple[str, ...] = ("service", "region", "cluster")


def _with(state: IncidentState, alerts: AlertsState) -> IncidentState:
    return state.model_copy(update={"alerts": alerts})


# --- prefilling a declaration from a group ----------------------------------------------------
def scope_of(
    labels: Iterable[Mapping[str, str]], names: tuple[str, ...] = DEFAULT_SCOPE_LABELS
) -> str:
    """The declaration's scope from a group's label sets (the common labels and each firing
    alert's): ``service=checkout, region=eu-west-1+us-east-1``, the labels in ``names`` order."""
    sets = list(labels)
    parts = []
    for name in names:
        values = sorted({v for ls in sets if (v := ls.get(name, "").strip())})
        if values:
            parts.append(f"{name}={'+'.join(values)}")
    return ", ".join(parts)


def declaration_fields(
    group: dict[str, object], scope_labels: tuple[str, ...] = DEFAULT_SCOPE_LABELS
) -> dict[str, str]:
    """The declaration template's fields for a group as ``GET /alerts`` lists it: title from
    the summary, severity from the mapping, detected at = the group's earliest ``startsAt``,
    scope from its labels, the trigger naming the source."""
    labels: dict[str, str] = {}
    for key in ("common_labels", "group_labels"):
        found = group.get(key)
        if isinstance(found, dict):
            labels.update({str(k): str(v) for k, v in found.items()})
    severity = group.get("severity")
    alertname = labels.get("alertname", "")
    source = str(group.get("source", "alerts"))
    return {
        "title": str(group.get("summary") or alertname or "Alert")[:200],
        "severity": str(severity) if severity in {s.value for s in Severity} else "",
        "detected_at": str(group.get("starts_at") or ""),
        "trigger": f"{source} alert {alertname}".strip() if alertname else f"{source} alert",
        "symptoms": str(group.get("description") or "")[:4000],
        "scope": str(group.get("scope") or scope_of([labels], scope_labels)),
    }


# --- events -----------------------------------------------------------------------------------
#: Longest alert summary kept on an attachment (the hub clips a longer annotation).
MAX_SUMMARY = 4000


@event
class AlertGroupAttached(EventBase):
    """The IC ties an alert group to this incident: its later notifications come here."""

    type: Literal["alert_group_attached"] = "alert_group_attached"
    group_id: str = Field(pattern=GROUP_ID)
    # Stamped by the hub from its alert store before the rules run; never trusted from a sender.
    known: bool = False
    source: str = Field(default="", max_length=40)
    summary: str = Field(default="", max_length=MAX_SUMMARY)
    starts_at: datetime | None = None
    firing: int = 0
    resolved: int = 0
    #: The incident the group is already tied to, if any.
    tied_to: str = Field(default="", max_length=40)
    hub_filled: ClassVar[frozenset[str]] = frozenset(
        {"known", "source", "summary", "starts_at", "firing", "resolved", "tied_to"}
    )

    timeline_kind = "alert"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        if not state.is_ic(actor.name):
            return refuse("forbidden", "Only the incident commander attaches alert groups.")
        if self.group_id in state.alerts.groups:
            return refuse("already_attached", "This alert group is already attached here.")
        if not self.known:
            return refuse("unknown_alert_group", f"No alert group {self.group_id} on this hub.")
        if self.tied_to and self.tied_to != state.incident_id:
            return refuse(
                "already_attached", f"This alert group is already attached to {self.tied_to}."
            )
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        group = AttachedGroup(
            group_id=self.group_id,
            source=self.source,
            summary=self.summary,
            starts_at=self.starts_at,
            firing=self.firing,
            resolved=self.resolved,
            attached_by=self.actor,
            attached_at=self.at,
            updated_at=self.at,
        )
        groups = {**state.alerts.groups, self.group_id: group}
        return _with(state, state.alerts.model_copy(update={"groups": groups}))

    def describe(self) -> str:
        counts = f"firing {self.firing} of {self.firing + self.resolved}"
        return f"{self.source}: alert group attached: {self.summary} ({counts})"


class AlertChangeNote(BaseModel):
    """One alert's state change as the timeline lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    status: Literal["firing", "resolved"]
    at: datetime | None = None


@event
class AlertNotified(EventBase):
    """A later notification of an attached group that brought news: alerts firing or resolving.

    Recorded by the hub (its actor is the hub; ``source`` names the sender), once per delivery
    with news, never for a redelivery."""

    type: Literal["alert_notified"] = "alert_notified"
    group_id: str = Field(pattern=GROUP_ID)
    source: str
    summary: str = ""
    firing: int = Field(ge=0)
    resolved: int = Field(ge=0)
    changes: list[AlertChangeNote] = Field(default_factory=list, max_length=MAX_LISTED)
    #: State changes beyond the ones listed (a flood is counted, not listed).
    more: int = Field(default=0, ge=0)
    link: str = ""

    hub_only = True
    timeline_kind = "alert"

    def fold(self, state: IncidentState) -> IncidentState:
        group = state.alerts.groups.get(self.group_id)
        if group is None:
            return state
        update: dict[str, object] = {
            "firing": self.firing,
            "resolved": self.resolved,
            "updated_at": self.at,
        }
        if self.summary:
            update["summary"] = self.summary
        groups = {**state.alerts.groups, self.group_id: group.model_copy(update=update)}
        offer = AlertEvidence(
            seq=self.seq,
            group_id=self.group_id,
            text=self.describe(),
            link=self.link,
            at=self.at,
            firing=self.firing,
            resolved=self.resolved,
            changes=len(self.changes) + self.more,
        )
        evidence = {**state.alerts.evidence, self.seq: offer}
        return _with(state, AlertsState(groups=groups, evidence=evidence))

    def headline(self) -> str:
        """What happened, as the board offers it: ``HighErrorRate resolved at 12:03``."""
        resolved = [c for c in self.changes if c.status == "resolved"]
        fired = [c for c in self.changes if c.status == "firing"]
        parts = []
        for verb, changes in (("resolved", resolved), ("firing", fired)):
            if not changes:
                continue
            names = sorted({c.name for c in changes})
            who = names[0] if len(names) == 1 else f"{len(changes)} alerts"
            times = [c.at for c in changes if c.at is not None]
            when = f" at {max(times).astimezone(UTC):%H:%M}" if times else ""
            verb_text = "resolved" if verb == "resolved" else "firing since"
            if verb == "firing" and times:
                when = f" {min(times).astimezone(UTC):%H:%M}"
            elif verb == "firing":
                verb_text = "firing"
            parts.append(f"{who} {verb_text}{when}")
        if self.more:
            parts.append(f"{self.more} more change{'s' if self.more != 1 else ''}")
        return "; ".join(parts) or (self.summary or "notification")

    def describe(self) -> str:
        total = self.firing + self.resolved
        return f"{self.source}: {self.headline()}, firing {self.firing} of {total}"


@event
class AlertEvidenceConfirmed(EventBase):
    """One key on the board: an alert notification becomes a confirmed fact, with the
    notification (and its link) as the fact's evidence."""

    type: Literal["alert_evidence_confirmed"] = "alert_evidence_confirmed"
    #: The seq of the ``alert_notified`` entry offered as evidence.
    notification: int = Field(ge=1)

    timeline_kind = "board"

    def check(self, state: IncidentState, actor: Actor, now: datetime) -> Refusal | None:
        offer = state.alerts.evidence.get(self.notification)
        if offer is None:
            return refuse("unknown_item", f"No alert notification #{self.notification} here.")
        if offer.fact is not None:
            return refuse("already_fact", f"That notification is already fact #{offer.fact}.")
        return None

    def fold(self, state: IncidentState) -> IncidentState:
        offer = state.alerts.evidence.get(self.notification)
        if offer is None:
            return state
        notes = [Evidence(kind=EvidenceKind.NOTE, text=f"alert notification #{offer.seq}",
                          by=self.actor, at=self.at, seq=self.seq)]  # fmt: skip
        if offer.link:
            notes.append(
                Evidence(
                    kind=EvidenceKind.LINK, text=offer.link, by=self.actor, at=self.at, seq=self.seq
                )  # fmt: skip
            )
        card = BoardItem(
            no=self.seq,
            kind=ItemKind.FACT,
            text=offer.text,
            author=self.actor,
            added_at=self.at,
            status=ItemStatus.CONFIRMED,
            evidence=tuple(notes),
            history=(
                ItemChange(
                    seq=self.seq,
                    at=self.at,
                    actor=self.actor,
                    action="added",
                    detail=f"as a fact, from alert notification #{offer.seq}",
                ),
            ),
        )
        evidence = {
            **state.alerts.evidence,
            offer.seq: offer.model_copy(update={"fact": self.seq}),
        }
        alerts = state.alerts.model_copy(update={"evidence": evidence})
        return state.model_copy(update={"board": {**state.board, self.seq: card}, "alerts": alerts})

    def describe(self) -> str:
        number = f" #{self.seq}" if self.seq else ""
        return f"Fact{number} from alert notification #{self.notification}"


class AlertGroupDismissed(EventBase):
    """A firing group that is no incident, with why: the hub remembers it for that group.

    A command, but no event of any incident (so not in the event union): the hub takes it on any
    connection that said hello, checks :func:`dismissal_refusal`, and keeps it in its alert
    store's record of what was done with each group."""

    type: Literal["alert_group_dismissed"] = "alert_group_dismissed"
    group_id: str = Field(pattern=GROUP_ID)
    reason: str = Field(default="", max_length=MAX_REASON)


def dismissal_refusal(
    command: AlertGroupDismissed, seat: Role, guest: bool, known: bool, tied_to: str
) -> Refusal | None:
    """Whether someone in ``seat`` (with a join code's guest credential when ``guest``) may
    dismiss the group, as the hub's alert store knows it (``known``, ``tied_to``)."""
    if guest:
        return refuse(
            "forbidden", "A join code lets you into one incident; it cannot dismiss alerts."
        )
    if seat == Role.OBSERVER:
        return refuse("forbidden", "Observers can read everything but write nothing.")
    if not known:
        return refuse("unknown_alert_group", f"No alert group {command.group_id} on this hub.")
    if tied_to:
        return refuse("already_attached", f"This alert group is attached to {tied_to}.")
    return require_reason(command.reason, "Say why this alert group is no incident.")


# --- auto-declare (off unless the hub's [intake] names rules) ----------------------------------
class AutoDeclareRule(BaseModel):
    """A team's choice that a firing group matching ``match`` is an incident at once.

    Off by default: without rules, declaring stays a human act. An auto-declared incident says
    so (its trigger, and a note on its timeline) and has no IC until someone claims the role."""

    model_config = ConfigDict(frozen=True)

    #: Label values that must all be present (on the group's labels or any firing alert's).
    match: dict[str, str] = Field(min_length=1)
    #: The severity to declare at; else the label mapping's, else SEV2.
    severity: Severity | None = None

    def matches(self, labels: Iterable[Mapping[str, str]]) -> bool:
        sets = list(labels)
        return all(any(ls.get(k) == v for ls in sets) for k, v in self.match.items())


def auto_rule(
    rules: Iterable[AutoDeclareRule], labels: Iterable[Mapping[str, str]]
) -> AutoDeclareRule | None:
    """The first rule a group with ``labels`` matches, if any."""
    sets = list(labels)
    return next((rule for rule in rules if rule.matches(sets)), None)


def auto_declaration_fields(
    group: dict[str, object], rule: AutoDeclareRule, scope_labels: tuple[str, ...]
) -> dict[str, str]:
    """What the hub declares for ``group``: the prefilled template, saying it was automatic."""
    fields = declaration_fields(group, scope_labels)
    if rule.severity is not None:
        fields["severity"] = rule.severity.value
    fields["severity"] = fields["severity"] or Severity.SEV2.value
    rule_text = ", ".join(f"{k}={v}" for k, v in sorted(rule.match.items()))
    fields["trigger"] = f"Auto-declared by the hub: {fields['trigger']} matched {{{rule_text}}}"
    return fields


AUTO_DECLARED_NOTE = (
    "Auto-declared by the hub from a firing alert group ([intake] auto_declare): nobody is the "
    "incident commander until someone claims the role."
)
