"""The hub's HTTP views: its health and the list of incidents it serves."""

from __future__ import annotations

from typing import Any

from warroom.hub.hubstate import HubState

from warroom import __version__


class Views(HubState):
    """What ``/healthz`` and ``/incidents`` answer, read from the hub's memory."""

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
        return health

    def incident_list(self, include_closed: bool = False) -> list[dict[str, Any]]:
        rows = []
        for room in self.rooms.values():
            s = room.state
            if s.phase == "closed" and not include_closed:
                continue
            rows.append(
                {
                    "id": s.incident_id,
                    "title": s.title,
                    "severity": s.severity.value,
                    "phase": s.phase.value,
                    "declared_at": s.declared_at.isoformat() if s.declared_at else None,
                    "detected_at": s.detected_at.isoformat() if s.detected_at else None,
                    "participants": len(s.participants),
                    "online": len(room.online),
                    "ic": s.ic,
                    "drill": s.drill,
                    "head": room.head,
                }
            )
        rows.sort(key=lambda r: r["declared_at"] or "", reverse=True)
        return rows
