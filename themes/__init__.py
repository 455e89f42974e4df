"""The console's colour themes, registered with Textual in one place.

Severity colours are theme variables (``$sev1`` .. ``$sev4``) so every widget that shows a
severity takes its colour from the same definition, and a theme changes all of them at once.
``$link-live``, ``$link-down`` and ``$pending`` colour the connection state and unacknowledged
entries. Themes that are not warroom's own (Textual's built-ins, chosen from the palette) get the
defaults in :data:`VARIABLE_DEFAULTS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.theme import Theme

if TYPE_CHECKING:
    from warroom.config import UserTheme

DEFAULT_THEME = "warroom-dark"

#: Values for warroom's own variables when the active theme does not define them.
VARIABLE_DEFAULTS: dict[str, str] = {
    "sev1": "#d7263d",
    "sev2": "#f46036",
    "sev3": "#e0b700",
    "sev4": "#5b8def",
    "link-live": "#3fb950",
    "link-down": "#f85149",
    "pending": "#d29922",
}

WARROOM_DARK = Theme(
    name="warroom-dark",
    primary="#4c9be8",
    secondary="#7aa2c7",
    accent="#f0a04b",
    warning="#e3b341",
    error="#f85149",
    success="#3fb950",
    foreground="#d8dee9",
    background="#10151c",
    surface="#19212b",
    panel="#222c38",
    dark=True,
    variables={
        **VARIABLE_DEFAULTS,
        "footer-key-foreground": "#f0a04b",
        "input-selection-background": "#4c9be8 35%",
    },
)

WARROOM_LIGHT = Theme(
    name="warroom-light",
    primary="#1f5fa8",
    secondary="#4a6a8a",
    accent="#b55400",
    warning="#9a6700",
    error="#c62828",
    success="#1a7f37",
    foreground="#1d232b",
    background="#f6f7f9",
    surface="#eceff3",
    panel="#dde3ea",
    dark=False,
    variables={
        "sev1": "#b3001b",
        "sev2": "#c44900",
        "sev3": "#8a6d00",
        "sev4": "#2357b5",
        "link-live": "#1a7f37",
        "link-down": "#c62828",
        "pending": "#9a6700",
        "footer-key-foreground": "#b55400",
    },
)

#: For glare, old projectors and colour-blind readers: pure black and white, and severities that
#: differ in lightness as well as hue (blue/orange are the pair most readers tell apart).
WARROOM_CONTRAST = Theme(
    name="warroom-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffff00",
    warning="#ffb000",
    error="#ff4d4d",
    success="#00e5ff",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    dark=True,
    luminosity_spread=0.25,
    text_alpha=1.0,
    variables={
        "sev1": "#ff00ff",
        "sev2": "#ff8c00",
        "sev3": "#ffff00",
        "sev4": "#00bfff",
        "link-live": "#00e5ff",
        "link-down": "#ff00ff",
        "pending": "#ffff00",
        "footer-key-foreground": "#ffff00",
        "border": "#ffffff",
        "text-muted": "#d0d0d0",
        "block-cursor-background": "#ffff00",
        "block-cursor-foreground": "#000000",
    },
)

THEMES: dict[str, Theme] = {t.name: t for t in (WARROOM_DARK, WARROOM_LIGHT, WARROOM_CONTRAST)}

#: Short names accepted on the command line and in the config file.
ALIASES: dict[str, str] = {
    "dark": "warroom-dark",
    "light": "warroom-light",
    "contrast": "warroom-contrast",
    "high-contrast": "warroom-contrast",
}


def resolve_theme(name: str | None) -> str:
    """The registered name for ``name`` ("light" → "warroom-light"); the default for ``None``."""
    if not name:
        return DEFAULT_THEME
    return ALIASES.get(name, name)


def user_theme(spec: UserTheme) -> Theme:
    """A Textual theme from a user's theme file; warroom's variables default to the dark theme's."""
    fields = spec.model_dump(exclude={"variables"})
    return Theme(**fields, variables={**VARIABLE_DEFAULTS, **spec.variables})
