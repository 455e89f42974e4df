"""Keys typed behind a key that opens something reach what it opened, in order.

Textual hands each key to the focused widget as the app reads it, and resolves a widget's or a
screen's key binding only once the key has travelled back up to the app. By then the app has
already handed the keys behind it to the same widget: ``a`` then ``Database pool at 100%`` in
one burst (a paste, ``tmux send-keys``, a fast typist) opened the board's form while the text
went to the board, where its letters ran the board's own keys. The same for the capital keys
that open a form from any pane, the timeline's ``n`` and for Enter in a field that closes it.

:class:`KeysInOrder` (mixed into the app) makes such a key wait for nothing but makes the keys
behind it wait: when a key read on a screen that asks for it (``KEYS_WAIT_FOR_BINDINGS``) would
run a binding, the keys and pastes read after it are held until that binding has run and what
it set off has settled (a form pushed, a field focused), then read again in order. A form that
has not focused its first field yet holds them in turn (:class:`~.screens.form_keys.FieldKeys`).
Text typed into a text field is never held: only a key bound to something is.

While the console is being built behind the joining screen (the first second of ``warroom
join``), every key and paste is held (:meth:`KeysInOrder.hold_typing`); the console reads them
in order once its first pane has focus (:meth:`KeysInOrder.read_held_typing`).
"""

from __future__ import annotations

import asyncio
from collections import deque

from textual import events
from textual.actions import parse as parse_action
from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Input, TextArea

from warroom.console.screens.form_keys import turns as _turns

Typed = events.Key | events.Paste


class KeysInOrder:
    """Mix into the app, before :class:`textual.app.App`."""

    #: Keys and pastes read while a bound key is being resolved, in the order they came.
    _held_input: deque[Typed] | None = None
    #: The bound key whose binding has not run yet, if any.
    _key_in_flight: events.Key | None = None
    _follower: asyncio.Task[None] | None = None
    #: Every key is held: the console is still being built behind the joining screen.
    _holding_typing = False

    def hold_typing(self) -> None:
        """Hold every key and paste from now on, until :meth:`read_held_typing`."""
        self._holding_typing = True

    async def read_held_typing(self) -> None:
        """Stop holding, and read what was typed meanwhile, in order."""
        if not self._holding_typing:
            return
        self._holding_typing = False
        held = self._held()
        while held and self._key_in_flight is None and not self._holding_typing:
            await self._read_typed(held.popleft())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._holding_typing or self._key_in_flight is not None or self._held_input:
                self._held().append(event)
                return
            await self._read_typed(event)
            return
        await super().on_event(event)  # type: ignore[misc]

    async def _read_typed(self, event: Typed) -> None:
        """Read ``event`` as Textual would; a bound key makes the keys behind it wait."""
        app = self._app()
        screen = app.screen
        if isinstance(event, events.Key) and _runs_a_binding(screen, event):
            self._key_in_flight = event
            # The key travels from the focused widget up to the screen, one level per turn;
            # what its binding sets off is queued on one of those (a screen's ``call_later``).
            focused = screen.focused
            path: list[DOMNode] = [screen]
            if focused is not None:
                path = [node for node in focused.ancestors_with_self if not isinstance(node, App)]
            await App.on_event(app, event)
            self._follower = asyncio.create_task(self._follow(event, path))
        else:
            await App.on_event(app, event)

    async def _follow(self, key: events.Key, path: list[DOMNode]) -> None:
        """Wait until ``key``'s binding has run and settled, then read the held keys."""
        app = self._app()
        try:
            await _turns(path)  # the key has come back up to the app (or was stopped)
            await _turns([app], 1)  # the app has resolved it: the binding has run
            await _turns([node for node in path if node.is_attached])  # what it set off
        finally:
            # Behind any focus change the app was asked for meanwhile.
            app.call_later(self._release, key)

    async def _release(self, key: events.Key) -> None:
        if self._key_in_flight is not key:
            return
        self._key_in_flight = None
        held = self._held()
        while held and self._key_in_flight is None and not self._holding_typing:
            await self._read_typed(held.popleft())

    def _held(self) -> deque[Typed]:
        if self._held_input is None:
            self._held_input = deque()
        return self._held_input

    def _app(self) -> App[object]:
        assert isinstance(self, App), "KeysInOrder is for the app"
        return self


def _runs_a_binding(screen: Screen[object], key: events.Key) -> bool:
    """Whether ``key`` would run one of the bindings Textual resolves after its journey."""
    if not getattr(screen, "KEYS_WAIT_FOR_BINDINGS", False):
        return False
    if isinstance(screen.focused, (Input, TextArea)) and key.is_printable:
        return False  # text being typed
    for namespace, bindings in screen._modal_binding_chain:  # noqa: SLF001
        for binding in bindings.key_to_bindings.get(key.key, ()):
            if binding.priority:
                continue  # already resolved as the key is read
            _, action, params = parse_action(binding.action)
            if namespace.check_action(action, params):
                return True
    return False
