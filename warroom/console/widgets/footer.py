"""A footer that redraws only what changed in the keys it shows.

Panes ask for their bindings to be refreshed whenever the incident changes (an action may have
become possible), and focus moves between the timeline and its entry line at every note. Textual's
footer rebuilds all its keys (removes every ``FooterKey``, creates and styles new ones) on every
such request: a frame's worth of CPU or more, which Enter and Escape used to wait for (issue 24).
This footer compares what it would show with what it shows and then:

* a key that is still shown keeps its widget: a changed description, tooltip or greyed state is
  set on it in place;
* a key no longer shown is hidden, not removed, and shown again when it comes back (the entry
  line hides the timeline's keys and closing it brings them back: nothing is built either way);
* only a key never shown before is built, in its place among the others.

The update runs just after the next frame of the footer's screen, not in it: a key that moves
the focus into or out of an input (``n``, ``/``, Escape, Enter) changes which keys the footer
shows (an input takes ``n`` ``f`` ``c`` ``d`` ``/`` ``end`` for typing), and showing or hiding
them asks for a layout and repaints the footer's row in that key's frame, which then spans the
screen to the footer (issue 24, fifth pass). The footer follows one frame later (about 16 ms).

The coalesced update is queued with the footer's own screen (:class:`AfterFrame`), never with
``call_after_refresh``: Textual runs the latter after the refresh of whichever screen is in front
at that moment, so a refresh requested while a form was open, just as the form closed, was
dropped with the form; the footer then believed an update was still queued and never updated
again (the board's keys on every pane for the rest of the session).
"""

from __future__ import annotations

from typing import NamedTuple

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from warroom.console.redraw import AfterFrame

#: Hidden keys kept for reuse beyond which the footer is built afresh (a session that visited
#: every pane holds about forty; this only bounds a footer that would otherwise grow forever).
MOST_HIDDEN = 120

PALETTE = "-command-palette"


class KeySpec(NamedTuple):
    """One key as the footer draws it (what ``Footer.compose`` would build for it)."""

    key: str
    key_display: str
    action: str
    description: str
    enabled: bool
    tooltip: str
    classes: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What a reused widget must already be: the rest is set on it in place."""
        return (self.key, self.key_display, self.action, self.classes)


class CalmFooter(Footer):
    """Footer that coalesces binding refreshes and updates its keys in place."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: What the footer shows now (None until it first showed anything).
        self._shown: tuple[KeySpec, ...] | None = None
        #: Every key widget the footer holds, shown or hidden, by identity.
        self._keys: dict[tuple[str, str, str, str], FooterKey] = {}
        #: The update of the keys, after the next frame (one for a burst of requests).
        self._update_soon = AfterFrame(self, self._update_keys)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        self._update_soon()

    async def _update_keys(self) -> None:
        if not self.is_attached:
            return
        wanted = self._wanted()
        if wanted == self._shown:
            return
        self._shown = wanted
        if not await self._in_place(wanted):
            await self._rebuild(wanted)

    def _wanted(self) -> tuple[KeySpec, ...]:
        """The keys to show, in order: those ``Footer.compose`` shows (the shown bindings, then
        the command palette's key). The console binds no groups, so each action is one key; a
        key the footer does not show (the pane numbers, an input's editing keys, a greyed ``e``
        on the highlighted row) changes nothing here."""
        app = self.app
        active = self.screen.active_bindings
        seen: set[str] = set()
        specs: list[KeySpec] = []
        for _node, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            specs.append(
                KeySpec(binding.key, app.get_key_display(binding), binding.action,
                        binding.description, enabled, tooltip, "")
            )  # fmt: skip
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = active.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _node, binding, enabled, _tooltip = palette
                specs.append(
                    KeySpec(binding.key, app.get_key_display(binding), binding.action,
                            binding.description, enabled,
                            binding.tooltip or binding.description, PALETTE)
                )  # fmt: skip
        return tuple(specs)

    async def _in_place(self, wanted: tuple[KeySpec, ...]) -> bool:
        """Show ``wanted`` with the key widgets the footer holds, building only the new keys;
        False when that cannot keep their order (the footer is then built afresh)."""
        children = list(self.children)
        position = {id(child): index for index, child in enumerate(children)}
        held = [self._keys.get(spec.identity) for spec in wanted]
        indices = [position.get(id(key), -1) for key in held if key is not None]
        if any(index < 0 for index in indices) or indices != sorted(indices):
            return False
        if len(children) - len(indices) > MOST_HIDDEN:
            return False
        keep = {id(key) for key in held if key is not None}
        for child in children:
            if id(child) not in keep and child.display:
                child.display = False
        mounts = []
        index = 0
        while index < len(wanted):
            key = held[index]
            if key is not None:
                _update(key, wanted[index])
                index += 1
                continue
            # A run of keys never shown before, built and mounted together after the key
            # before them (or first).
            start = index
            while index < len(wanted) and held[index] is None:
                index += 1
            built = [self._build(spec) for spec in wanted[start:index]]
            for spec, new in zip(wanted[start:index], built, strict=True):
                self._keys[spec.identity] = new
            after = held[start - 1] if start else None
            if after is not None:
                mounts.append(self.mount(*built, after=after))
            elif self.children:
                mounts.append(self.mount(*built, before=0))
            else:
                mounts.append(self.mount(*built))
            held[start:index] = built
        for mounted in mounts:
            await mounted
        return True

    async def _rebuild(self, wanted: tuple[KeySpec, ...]) -> None:
        """Build every key afresh (the first time, or when keys changed order)."""
        await self.remove_children()
        self._keys = {}
        keys = [self._build(spec) for spec in wanted]
        for spec, key in zip(wanted, keys, strict=True):
            self._keys[spec.identity] = key
        if keys:
            await self.mount_all(keys)

    def _build(self, spec: KeySpec) -> FooterKey:
        key = FooterKey(spec.key, spec.key_display, spec.description, spec.action,
                        disabled=not spec.enabled, tooltip=spec.tooltip, classes=spec.classes)  # fmt: skip
        if spec.classes != PALETTE:
            # Start in the footer's style: ``FooterKey.compact`` defaults to True and the
            # binding below sets it only in a callback after the mount, so a layout in between
            # sized the key two cells too narrow for good (``Internal updat``).
            key.set_reactive(FooterKey.compact, self.compact)
            key.data_bind(compact=Footer.compact)
        return key


def _update(key: FooterKey, spec: KeySpec) -> None:
    """Make a held key draw ``spec``: its text, greyed state and tooltip, then show it."""
    if key.description != spec.description:
        key.description = spec.description
        key.refresh(layout=True)  # its width follows its text
    disabled = not spec.enabled
    if key._disabled != disabled:
        key._disabled = disabled  # what a click on it does
        key.set_class(disabled, "-disabled")
    tooltip = spec.tooltip or None
    if key.tooltip != tooltip:
        key.tooltip = tooltip
    if not key.display:
        key.display = True
