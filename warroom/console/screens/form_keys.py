"""Keys in forms: Enter moves on from every kind of field, and no key typed ahead goes astray.

Textual hands each key to whichever widget has focus at the moment the app reads it, and that
widget handles it later, from its own queue. A field that moved focus in reaction to Enter (an
input's ``Submitted``, an option chosen) did so only after the keys behind Enter had already been
handed to it: text pasted, or typed by someone fast, or delivered by a terminal in one burst,
landed in the previous field. Likewise ``ctrl+s``, a priority key, read the fields before the
text typed just before it had reached them, and declared an incident "without a title".

:class:`FieldKeys` makes Enter a priority key of the form, handled as the app reads it, in order
with the other keys. It moves focus at once where the form decides nothing (a radio set, a
selection list, a closed dropdown: Enter moves on, Space toggles or opens), and otherwise lets the
field react (an input submits, a list chooses, a button presses) and waits until the form has
finished reacting before the app reads the next key. The arrows and Space act at once in a
choice or a list as well (Textual would resolve them only after the key had travelled back up to
the app, after an Enter typed right behind them); in a choice the arrows choose, not only
highlight. Sending waits until every key read before it has reached its field. A text area keeps Enter for a new line (Tab moves on).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import ClassVar, cast

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Input,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    TextArea,
)

#: Put in a form's ``BINDINGS``. Not shown: every form's hint line says what Enter does. Tab
#: and shift+tab move focus as Textual's do, but as the key is read, like Enter.
FIELD_BINDINGS = [
    Binding("enter", "field_enter", "Next field", show=False, priority=True),
    Binding("tab", "field_step(1)", "Next field", show=False, priority=True),
    Binding("shift+tab", "field_step(-1)", "Previous field", show=False, priority=True),
    # Arrows and Space in a choice or a list act as they are read too: Textual resolves a
    # widget's own bindings only after the key has travelled back up to the app, by which time
    # an Enter typed right after had already moved on.
    Binding("up", "field_arrow(-1, 0)", show=False, priority=True),
    Binding("down", "field_arrow(1, 0)", show=False, priority=True),
    Binding("left", "field_arrow(-1, 1)", show=False, priority=True),
    Binding("right", "field_arrow(1, 1)", show=False, priority=True),
    Binding("space", "field_space", show=False, priority=True),
]

#: A form never waits longer than this for its fields to catch up (they normally take
#: milliseconds); a key is better late than a console that stops reading keys.
SETTLE_LIMIT = 2.0


async def keys_landed(screen: Screen[object], rounds: int | None = None) -> None:
    """Wait until every message already queued on ``screen``'s widgets, and what each of them
    posts up to its parents, has been handled.

    One round lets every widget work through its queue as it stood; a message that bubbles
    moves up one level per round, so the rounds cover the depth of the screen.
    """
    nodes: list[DOMNode] = list(screen.walk_children(with_self=True))
    if rounds is None:
        focused = screen.focused
        depth = len(focused.ancestors) if focused is not None else 2
        rounds = depth + 1
    await turns(nodes, max(rounds, 1))


async def turns(nodes: list[DOMNode], rounds: int | None = None) -> None:
    """Let each of ``nodes`` handle what is queued on it, ``rounds`` times (by default one more
    than there are nodes, so a message bubbling from the first reaches the last), for at most
    :data:`SETTLE_LIMIT` in all."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT
    for _ in range(rounds or len(nodes) + 1):
        waits: list[asyncio.Future[None]] = []
        for node in nodes:
            done: asyncio.Future[None] = loop.create_future()
            if node.call_later(_resolve, done):
                waits.append(done)
        remaining = deadline - loop.time()
        if not waits or remaining <= 0:
            return
        _, pending = await asyncio.wait(waits, timeout=remaining)
        if pending:
            return


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


class FieldKeys:
    """Mix into a form screen (before the Textual screen class) and add ``FIELD_BINDINGS``.

    The form's ``submit`` action (bound to ``ctrl+s``) runs once the keys typed before it are in
    their fields; a form whose send action has another name wraps it the same way with
    :meth:`after_typed_keys`.

    Keys typed right after the key that opened the form reach it before any field has focus
    (a form focuses its first field once mounted): the app hands them to the screen, which would
    drop them. They are held, and given to the first field as it takes focus, ahead of any key
    that follows them.
    """

    #: No field is focused by Textual's own rule (the first focusable one): the form says which.
    AUTO_FOCUS: ClassVar[str | None] = ""
    #: Whether keys that reach the screen itself are held for the first field to take focus.
    _holding = True
    _typed_ahead: list[events.Key | events.Paste] | None = None

    def _forward_event(self, event: events.Event) -> None:
        screen = self._form_screen()
        if (
            isinstance(event, (events.Key, events.Paste))
            and self._holding
            and screen.focused is None
        ):
            if self._typed_ahead is None:
                self._typed_ahead = []
            self._typed_ahead.append(event)
            return
        super()._forward_event(event)  # type: ignore[misc]

    def watch_focused(self, focused: Widget | None) -> None:
        """The first field has focus: give it what was typed before (in this same step, so no
        later key can overtake them)."""
        if focused is None or not self._holding:
            return
        self._release(focused)

    def _on_mount(self, event: events.Mount) -> None:
        # A form that focuses no field itself gets its first one, once its own choice (a
        # ``focus()`` from its mount, run by the app) has had its turn; one with no field at all
        # (a preview) gets the held keys itself.
        screen = self._form_screen()
        screen.call_after_refresh(screen.app.call_later, self._stop_holding)

    def _stop_holding(self) -> None:
        screen = self._form_screen()
        if not self._holding or not screen.is_attached:
            return
        if screen.focused is None:
            screen.focus_next()  # focuses the first field, and so releases the keys to it
        if self._holding:
            self._release(screen)

    def _release(self, target: Widget | Screen[object]) -> None:
        self._holding = False
        held, self._typed_ahead = self._typed_ahead or [], None
        for key in held:
            if cast(object, target) is self:
                super()._forward_event(key)  # type: ignore[misc]
            else:
                target._forward_event(key)

    async def action_field_enter(self) -> None:
        screen = self._form_screen()
        field = screen.focused
        if field is None or isinstance(field, TextArea):
            raise SkipAction()  # a text area takes Enter as a new line
        # Enter acts on the field as the keys before it left it (an arrow moved the highlight).
        await keys_landed(screen)
        field = screen.focused
        if field is None:
            return
        if isinstance(field, RadioSet):
            _press_highlighted(field)
            screen.focus_next()
        elif isinstance(field, (SelectionList, Select)):
            screen.focus_next()  # Space picks (a selection list) or opens the list (a dropdown)
        elif isinstance(field, Input):
            await field.action_submit()  # the form decides: next field, or send
            await keys_landed(screen)
        elif isinstance(field, OptionList):
            field.action_select()  # an open dropdown, or a list the form reacts to
            await keys_landed(screen)
        elif isinstance(field, Button):
            field.press()
            await keys_landed(screen)
        else:
            raise SkipAction()

    def action_field_arrow(self, step: int, sideways: int) -> None:
        field = self._form_screen().focused
        if isinstance(field, RadioSet):
            # The arrows choose, as in any radio group and as the forms say ("↑↓ to choose"):
            # Textual's own arrows only move a highlight, and a responder who then pressed Tab
            # or ctrl+s sent the level the form started on.
            if step > 0:
                field.action_next_button()
            else:
                field.action_previous_button()
            _press_highlighted(field)
        elif isinstance(field, OptionList) and not sideways:
            if step > 0:
                field.action_cursor_down()
            else:
                field.action_cursor_up()
        else:
            raise SkipAction()  # inputs, text areas, a closed dropdown: their own keys

    def action_field_space(self) -> None:
        field = self._form_screen().focused
        if isinstance(field, RadioSet):
            field.action_toggle_button()
        elif isinstance(field, SelectionList):
            field.action_select()
        else:
            raise SkipAction()  # a space in text; a closed dropdown opens

    def action_field_step(self, step: int) -> None:
        screen = self._form_screen()
        if step > 0:
            screen.focus_next()
        else:
            screen.focus_previous()

    async def _action_submit(self) -> None:
        """``submit`` runs once what was typed before ``ctrl+s`` is in its field."""
        await self.after_typed_keys("submit")

    async def after_typed_keys(self, action: str) -> None:
        """Run ``action_<action>`` once every key read before now has reached its field."""
        screen = self._form_screen()
        await keys_landed(screen)
        if screen.is_attached:
            result = getattr(screen, f"action_{action}")()
            if inspect.isawaitable(result):
                await result

    def _form_screen(self) -> Screen[object]:
        assert isinstance(self, Screen), "FieldKeys is for screens"
        return self


def _press_highlighted(radios: RadioSet) -> None:
    """Choose the highlighted button (the arrows move the highlight; Enter takes it)."""
    highlighted = radios.query(RadioButton)
    index = radios._selected  # noqa: SLF001 - Textual exposes the highlight only as this
    if index is None or index >= len(highlighted):
        return
    button = highlighted[index]
    if not button.value:
        button.value = True
