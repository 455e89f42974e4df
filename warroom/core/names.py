"""Names people and incidents go by: what the hub accepts, and which names look alike.

The record says who decided what, so a name on it must mean one person and must not pass for
another. These pure functions are the rules; the hub applies them to every ``hello`` and ``join``
(and the console uses them to normalise what the user typed).

- A name is normalised to Unicode NFKC (fullwidth ``ｄａｎａ`` is ``dana``), with runs of spaces
  collapsed. Control, format (zero-width), private-use and unassigned characters, and the few
  letters that render as nothing (Hangul fillers), are refused, as are names that mix scripts
  (``dаna`` with a Cyrillic ``а``).
- Two names are *confusable* when their skeletons are equal: the skeleton is the casefolded NFKC
  name with every character replaced by one representative of its class of look-alikes, built
  from the Unicode TR39 confusables data as shipped by the ``confusable-homoglyphs`` package.
  This is a compact variant of the TR39 skeleton: each look-alike class maps to one character, so
  ``dana``, ``DANA`` and ``dаna`` share a skeleton while ``dana`` and ``dano`` do not.
- ``warroom`` (the hub's own actor name) and anything that looks like it is reserved.
- Guests (who entered with a join code) are recorded as ``guest:NAME``. The ``:`` is reserved
  for that marker, so no team member's name can start with it, and a guest's bare name must not
  look like anyone else's in the incident.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

from warroom.core.roles import HUB_ACTOR

#: Longest name, in characters after normalisation (the protocol's ``hello`` limit).
MAX_NAME = 60
#: What marks a guest's name on the record, in every console, the export and the postmortem.
GUEST_PREFIX = "guest:"
#: Longest name a guest may choose (the marker still has to fit in ``MAX_NAME``).
MAX_GUEST_NAME = MAX_NAME - len(GUEST_PREFIX)

#: Letters that draw as blank space although Unicode calls them letters (Hangul fillers), and
#: invisible joiners or selectors that NFKC keeps.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f", "\u17b4", "\u17b5"}
#: General categories a name may not contain: controls, format (zero-width space, joiners,
#: bidi marks), surrogates, private use, unassigned, line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: Scripts that may share one name (Japanese writes Han, Hiragana and Katakana together).
_CJK = {"HAN", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"}


class BadName(ValueError):
    """Why a name is refused; the message is meant for the person who typed it."""


def normalise_name(raw: str) -> str:
    """NFKC, surrounding space stripped, inner runs of space made one."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def is_guest_name(name: str) -> bool:
    return name.startswith(GUEST_PREFIX)


def guest_name(name: str) -> str:
    """How a guest called ``name`` is recorded (idempotent)."""
    return name if is_guest_name(name) else GUEST_PREFIX + name


def bare_name(name: str) -> str:
    """The name without the guest marker: what it looks like to a reader."""
    return name[len(GUEST_PREFIX) :] if is_guest_name(name) else name


def name_problem(name: str, *, guest: bool = False) -> str | None:
    """Why ``name`` (already normalised, without the guest marker) cannot be used, or None."""
    limit = MAX_GUEST_NAME if guest else MAX_NAME
    if not name:
        return "A name cannot be empty."
    if len(name) > limit:
        return f"A name is at most {limit} characters."
    for ch in name:
        category = unicodedata.category(ch)
        if ch in _INVISIBLE or category in _REFUSED_CATEGORIES or (category == "Zs" and ch != " "):
            return (
                f"Names cannot contain invisible or control characters "
                f"(U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})."
            )
    if ":" in name:
        return "Names cannot contain ':' (it marks guests, as in guest:NAME)."
    scripts = _scripts(name)
    if len(scripts) > 1 and not scripts <= _CJK:
        mixed = ", ".join(sorted(s.title() for s in scripts))
        return f"A name cannot mix scripts ({mixed}); it would look like someone else's."
    if skeleton(name) == skeleton(HUB_ACTOR):
        return f"{HUB_ACTOR!r} is the hub's own name; choose another."
    return None


def check_name(raw: str, *, guest: bool = False) -> str:
    """The normalised name, or :class:`BadName` with a message that says why not.

    For a guest, ``raw`` may carry the guest marker already (a console that reconnects); the
    result always does.
    """
    name = normalise_name(raw)
    if guest:
        name = bare_name(name)
    problem = name_problem(name, guest=guest)
    if problem is not None:
        raise BadName(problem)
    return guest_name(name) if guest else name


def confusable_with(name: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that looks like ``name`` without being it, else None.

    Names are compared without the guest marker, so ``guest:dana`` looks like ``dana``.
    """
    mine = skeleton(bare_name(name))
    for other in others:
        if other != name and skeleton(bare_name(other)) == mine:
            return other
    return None


@lru_cache(maxsize=8192)
def skeleton(name: str) -> str:
    """A key equal for names that look alike (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    classes = _classes()
    return "".join(classes.get(ch, ch) for ch in folded if ch not in _INVISIBLE)


def valid_incident_id(value: str) -> bool:
    """3-40 ASCII letters, digits or '-' (``inc-٣٣٣`` and ``inc-ＡＢＣ`` are not)."""
    return 3 <= len(value) <= 40 and value.isascii() and all(c.isalnum() or c == "-" for c in value)


def _scripts(name: str) -> set[str]:
    from confusable_homoglyphs import categories

    found = set()
    for ch in name:
        alias = categories.alias(ch)
        if alias not in ("COMMON", "INHERITED"):
            found.add(alias)
    return found


@cache
def _classes() -> dict[str, str]:
    """Each character that has look-alikes, mapped to one representative of its class.

    The classes are the connected groups of the TR39 confusables table (single characters
    only); the representative is the smallest code point, so ASCII letters stand for their
    look-alikes.
    """
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    parent: dict[str, str] = {}

    def find(ch: str) -> str:
        root = ch
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(ch, ch) != root:
            parent[ch], ch = root, parent[ch]
        return root

    for source, homoglyphs in data.items():
        if len(source) != 1:
            continue
        for entry in homoglyphs:
            target = entry["c"]
            if len(target) != 1:
                continue
            a, b = find(source), find(target)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {ch: find(ch) for ch in parent}
