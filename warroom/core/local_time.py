"""Times as each person reads them: their own time zone on screen, UTC on the wire.

Responders in three time zones read "08:45" three ways. The hub stamps and stores every time in
UTC, exports and the wire stay UTC, and each console shows times in its person's zone (the
``timezone`` of their config file, else the system's), with UTC one key away. The incident keeps
a reference zone chosen at declaration (``IncidentDeclared.timezone``), so a postmortem or a
stakeholder knows which clock "the rollback at 08:52" meant.

A :class:`Times` is what every widget and form asks: how to show a moment, and how to read one
typed in a form (in the zone shown, and saying which).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

#: ``HH:MM`` or ``HH:MM:SS`` typed alone: a time of day.
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
#: Longest zone name accepted anywhere (the IANA names are far shorter).
MAX_ZONE = 64


class ZoneError(ValueError):
    """A time zone name that is not one; the message says what is accepted."""


def zone_named(name: str) -> tzinfo:
    """The IANA zone ``name`` (``Europe/Berlin``, ``America/New_York``, ``UTC``)."""
    text = name.strip()
    if text.upper() in {"UTC", "Z", "ETC/UTC"}:
        return UTC
    if not text or len(text) > MAX_ZONE or ".." in text or text.startswith("/"):
        raise ZoneError(f"no time zone called {name!r}; use a name like Europe/Berlin or UTC")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(
            f"no time zone called {name!r}; use a name like Europe/Berlin or UTC"
        ) from None


def is_zone(name: str) -> bool:
    try:
        zone_named(name)
    except ZoneError:
        return False
    return True


def reference_zone(name: str) -> str:
    """The name an incident keeps for its reference zone: ``name`` as the zone database spells
    it, ``UTC`` for the UTC aliases, and "" for nothing (or, in an old record, nothing valid)."""
    if not name.strip():
        return ""
    try:
        return zone_label(zone_named(name))
    except ZoneError:
        return ""


def zone_label(zone: tzinfo) -> str:
    """The name to show for ``zone``: its IANA key, or ``UTC``."""
    if zone is UTC:
        return "UTC"
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return "UTC" if key in {"UTC", "Etc/UTC", "Etc/Universal", "Zulu"} else key
    return datetime.now(zone).tzname() or "local"


def system_zone() -> tzinfo:
    """This computer's zone: ``TZ`` if it names one, else ``/etc/localtime``, else the offset
    the C library reports (without a name for its rules)."""
    env = os.environ.get("TZ", "").lstrip(":")
    if env and is_zone(env):
        return zone_named(env)
    try:
        target = Path("/etc/localtime").resolve()
    except OSError:
        target = None
    if target is not None and "zoneinfo" in target.parts:
        name = "/".join(target.parts[target.parts.index("zoneinfo") + 1 :])
        if is_zone(name):
            return zone_named(name)
    return datetime.now().astimezone().tzinfo or UTC


def known_zones() -> list[str]:
    """Every IANA zone name this computer knows, sorted (for suggestions)."""
    return sorted(available_timezones())


@dataclass(frozen=True, slots=True)
class Times:
    """How one console shows and reads times: its person's zone, or UTC while asked for."""

    zone: tzinfo = UTC
    #: Whether UTC is shown instead of the person's zone (``U`` toggles it).
    utc: bool = False

    @property
    def shown(self) -> tzinfo:
        """The zone times are shown (and form times read) in right now."""
        return UTC if self.utc else self.zone

    @property
    def label(self) -> str:
        """``Europe/Berlin`` or ``UTC``: which clock the console reads."""
        return zone_label(self.shown)

    @property
    def local_is_utc(self) -> bool:
        return zone_label(self.zone) == "UTC"

    def toggled(self) -> Times:
        return replace(self, utc=not self.utc)

    def local(self, at: datetime) -> datetime:
        """``at`` on the clock shown."""
        return at.astimezone(self.shown)

    def hm(self, at: datetime | None, missing: str = "--:--") -> str:
        return f"{self.local(at):%H:%M}" if at is not None else missing

    def hms(self, at: datetime | None, missing: str = "--:--:--") -> str:
        return f"{self.local(at):%H:%M:%S}" if at is not None else missing

    def abbrev(self, at: datetime) -> str:
        """The zone's short name at ``at`` (``CET``, ``CEST``, ``EST``, ``UTC``)."""
        return self.local(at).tzname() or self.label

    def stamp(self, at: datetime, seconds: bool = True) -> str:
        """``2026-03-14 09:45:12 CET``: a full time that says its zone."""
        fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        return f"{self.local(at).strftime(fmt)} {self.abbrev(at)}"

    def both(self, at: datetime) -> str:
        """``09:45:12 CET (08:45:12 UTC)``: the clock shown first, then the other one (only one
        for a person whose own zone is UTC)."""
        shown = f"{self.local(at):%H:%M:%S} {self.abbrev(at)}"
        if self.local_is_utc:
            return shown
        other = self.toggled()
        return f"{shown} ({other.local(at):%H:%M:%S} {other.abbrev(at)})"

    def everywhere(self, at: datetime) -> str:
        """``2026-03-14 09:45:12 CET = 08:45:12 UTC``: this person's clock and UTC, whichever
        is shown (for hover text and the full view of an entry)."""
        mine = replace(self, utc=False).stamp(at)
        if self.local_is_utc:
            return mine
        return f"{mine} = {at.astimezone(UTC):%H:%M:%S} UTC"

    def read(self, text: str, around: datetime, *, roll_back: bool = True) -> datetime | None:
        """A time typed in a form, read on the clock shown.

        ``HH:MM`` or ``HH:MM:SS`` is that time on ``around``'s day in this zone (the day before
        if that would put it more than an hour after ``around``: ``23:50`` typed at ``00:05``;
        always ``around``'s day without ``roll_back``);
        ``YYYY-MM-DD HH:MM[:SS]`` is that day and time in this zone; a time that names its own
        zone (``...Z``, ``+02:00``, `` UTC``) is taken as it says. ``None`` if it is none of them.
        """
        value = text.strip()
        match = _CLOCK.match(value)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour > 23 or minute > 59 or second > 59:
                return None
            day = around.astimezone(self.shown)
            when = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
            if roll_back and when > day + timedelta(hours=1):
                when -= timedelta(days=1)
            return when.astimezone(UTC)
        zone = self.shown
        if value.upper().endswith(" UTC"):
            value, zone = value[:-4].strip(), UTC
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)


#: What a console shows when told nothing: UTC (tests and the hub's own text).
UTC_TIMES = Times()
