"""Every message the console's widgets and screens pass up (messages up, attributes down).

The app turns what the client reports into these; the console screen, the open form and the
handoff screens handle them. Kept in one module so the console's vocabulary is read in one place.
"""

from __future__ import annotations

from textual.message import Message

from warroom.core.protocol import Error


class ClientChanged(Message):
    """The incident, the link or the outbox changed; the console re-reads the client.

    Replaceable: during a replay of thousands of events only the latest one waiting in the queue
    is handled, so the console redraws once per batch rather than once per event.
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClientChanged)


class HubMessage(Message):
    """The hub said something that concerns the whole console (not a reply to one command)."""

    def __init__(self, error: Error) -> None:
        super().__init__()
        self.error = error
