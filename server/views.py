"""The hub's HTTP views: its health and the list of incidents it serves."""

from __future__ import annotations

from typing import Any

from warroom.hub.hubstate import HubState

from warroom import __version__


class Views(HubState):
    """What ``/healthz`` and ``/incidents`` answer: loaded incidents from memory, the others
    from their summary row in the database (see ``server/loading.py``)."""

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = {
            "status": "degraded" if self.set_aside else "ok",
            "version": __version__,
            "incidents": len(self.rooms),
            "connections": len(self.conns),
        }
        if self.set_aside:
            health["set_aside"] = dict(self.set_aside)
        if self.write_failures:
            health["write_failures"] = self.write_failures
        health["memory"] = self.live.figures()
        return health

    def incident_list(self, include_closed: bool = False) -> list[dict[str, Any]]:
        """Loaded incidents from memory, the others from their summary row (not loaded)."""
        return self.live.incident_list(include_closed)
