"""Checkpoints: an incident's folded state saved in the database, so a restart folds only the
events recorded after it.

A checkpoint is a cache, never the record: the event log stays the truth. A checkpoint is used
only when all of these hold, and otherwise the incident is folded from its first event:

- it was written by the same fold (its stamp, see :func:`fold_stamp`, equals this code's);
- the log holds an event at the checkpoint's seq, and that event has the id the checkpoint names
  (so a checkpoint ahead of the log, or of a log that was edited or restored, is ignored);
- its state reads back as an :class:`IncidentState` of that incident at that seq.

Checkpoints are written in the same transaction as the events they follow (see
``Store.append``), so a crash can never leave one ahead of the events it includes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources

from warroom.core.state import IncidentState

log = logging.getLogger("warroom.hub")

#: Bumped by hand when the meaning of a stored state changes in a way the checks below miss.
CHECKPOINT_FORMAT = 1


@cache
def fold_stamp() -> str:
    """Which fold wrote a checkpoint: the state's JSON Schema and the core's source code.

    Any change to the core (the fold, the events, the state's fields) gives a new stamp, and
    every checkpoint written before it is ignored: the incident is folded once from its log and
    checkpointed again. That costs one full fold per incident after an upgrade, and can never
    serve a state the current code would not have folded.
    """
    digest = hashlib.sha256(f"format {CHECKPOINT_FORMAT}\n".encode())
    digest.update(json.dumps(IncidentState.model_json_schema(), sort_keys=True).encode())
    try:
        core = resources.files("warroom.core")
        for name in sorted(p.name for p in core.iterdir() if p.name.endswith(".py")):
            digest.update(name.encode())
            digest.update(core.joinpath(name).read_bytes())
    except OSError:  # no readable source (a zipped install): the version names the code
        from warroom import __version__

        digest.update(__version__.encode())
    return digest.hexdigest()[:32]


def encode(state: IncidentState) -> str:
    return state.model_dump_json()


def decode(text: str) -> IncidentState:
    """The state a checkpoint holds (every field of the state reads back typed)."""
    return IncidentState.model_validate_json(text)


@dataclass(frozen=True)
class Checkpoint:
    """One stored checkpoint row."""

    incident_id: str
    seq: int
    event_id: str
    stamp: str
    state: str

    def usable_state(self, event_id_at_seq: str | None) -> IncidentState | None:
        """The state, if this checkpoint may be trusted against the log (see the module doc)."""
        if self.stamp != fold_stamp():
            log.info("checkpoint of %s written by another fold: folding it again", self.incident_id)
            return None
        if event_id_at_seq is None or event_id_at_seq != self.event_id:
            log.warning(
                "checkpoint of %s at seq %d does not match its log: ignored, folding the log",
                self.incident_id,
                self.seq,
            )
            return None
        try:
            state = decode(self.state)
        except ValueError as exc:
            log.warning("checkpoint of %s unreadable (%s): ignored", self.incident_id, exc)
            return None
        if state.seq != self.seq or state.incident_id != self.incident_id:
            log.warning("checkpoint of %s names another state: ignored", self.incident_id)
            return None
        return state
