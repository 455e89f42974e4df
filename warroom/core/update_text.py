"""The stakeholder update template: what is prefilled from the incident, and the exact text sent.

The text is rendered here, in the core, so the comms pane's preview, ``warroom comms preview``
and the published event carry the same characters. Prefilling offers starting text only from
what the room has confirmed: the declaration, the triage scope and the board's confirmed facts.
Open guesses are offered to internal updates, labelled as unconfirmed, and never to external
ones; the hub also refuses an external update that quotes an open guess.

Facts and guesses come from the board's own queries. Triage answers count as confirmed once the
IC has confirmed them; until then an external update falls back on the declared scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.core.board import Column, column
from warroom.core.cadence import cadence_of
from warroom.core.comms_state import Audience, ResolutionRange, UpdateFields
from warroom.core.lifecycle_state import TriageQuestion
from warroom.core.phases import Phase
from warroom.core.state import IncidentState

#: How each phase reads to people outside the room (the status-page words).
PUBLIC_STATUS: dict[Phase, str] = {
    Phase.DETECTED: "Investigating",
    Phase.TRIAGE: "Investigating",
    Phase.MITIGATING: "Identified - mitigation in progress",
    Phase.MONITORING: "Monitoring a fix",
    Phase.RESOLVED: "Resolved",
    Phase.CLOSED: "Resolved",
}

#: Starting text for "what we are doing", by phase.
DOING_BY_PHASE: dict[Phase, str] = {
    Phase.DETECTED: "We are investigating the cause.",
    Phase.TRIAGE: "We are assessing the impact and investigating the cause.",
    Phase.MITIGATING: "We are applying a mitigation to restore service.",
    Phase.MONITORING: "A fix is in place and we are monitoring the results.",
    Phase.RESOLVED: "The issue is resolved.",
    Phase.CLOSED: "The issue is resolved.",
}

#: Guesses shorter than this are not matched against update text (too many false alarms).
MIN_GUESS_MATCH = 12


@dataclass(frozen=True)
class Draft:
    """An update being written: the audience, the template fields and the promised next time."""

    audience: Audience
    fields: UpdateFields
    next_update_at: datetime | None


# --- what the room has established -----------------------------------------------------------
def confirmed_facts(state: IncidentState) -> list[str]:
    """The board's confirmed facts (retracted ones excluded), in the order the room reads them."""
    return [item.text.strip() for item in column(state, Column.FACTS) if item.is_fact]


def open_guesses(state: IncidentState) -> list[str]:
    """The board's open guesses: hypotheses nobody has confirmed or ruled out yet."""
    return [item.text.strip() for item in column(state, Column.GUESSES)]


def triage_answer(state: IncidentState, question: TriageQuestion, confirmed_only: bool) -> str:
    """One triage answer as text; with ``confirmed_only``, blank unless the IC confirmed it.

    An answer the IC has not confirmed is still somebody's guess, so outsiders do not get it.
    """
    mark = state.triage_marks.get(question)
    if mark is None or (confirmed_only and not mark.confirmed):
        return ""
    answer = state.triage.answer(question).strip()
    return "" if answer in ("", "unknown") else answer


def triage_scope(state: IncidentState, confirmed_only: bool = True) -> str:
    """Who, where and which features are affected, from triage; else the declared scope."""
    who, where, features = (
        triage_answer(state, q, confirmed_only)
        for q in (TriageQuestion.WHO, TriageQuestion.WHERE, TriageQuestion.FEATURES)
    )
    text = who or ("Users" if where or features else "")
    if where:
        text += f" in {where}"
    if features:
        text += f" ({features})"
    return text or state.scope.strip()


def expected_experience(state: IncidentState, confirmed_only: bool = True) -> str:
    """What users see: the confirmed customer impact if triage has one, else the symptoms."""
    mark = state.triage_marks.get(TriageQuestion.CUSTOMER_IMPACT)
    usable = mark is not None and (mark.confirmed or not confirmed_only)
    detail = state.triage.customer_impact_detail.strip()
    return detail if usable and detail else state.symptoms.strip()


# --- prefill ---------------------------------------------------------------------------------
def prefill(state: IncidentState, audience: Audience, now: datetime) -> Draft:
    """Starting text for an update written at ``now``: confirmed things only for outsiders."""
    outsiders = audience == Audience.EXTERNAL
    facts = confirmed_facts(state)
    doing = [DOING_BY_PHASE[state.phase]]
    if facts:
        doing.append("What we know: " + "; ".join(facts) + ".")
    if not outsiders:
        guesses = open_guesses(state)
        if guesses:
            doing.append("Unconfirmed, being checked: " + "; ".join(guesses) + ".")
    fields = UpdateFields(
        affected=triage_scope(state, confirmed_only=outsiders),
        not_affected="",
        expect=expected_experience(state, confirmed_only=outsiders),
        doing=" ".join(doing),
        resolution=ResolutionRange(),
    )
    return Draft(audience=audience, fields=fields, next_update_at=promised_next(state, now, None))


def promised_next(state: IncidentState, now: datetime, minutes: int | None) -> datetime | None:
    """The next-update time an update published at ``now`` states.

    ``minutes`` is what the comms lead asked for; the severity's cadence caps it, because the
    cadence is the promise the room already made to stakeholders.
    """
    cadence = cadence_of(state, state.severity)
    wanted = timedelta(minutes=minutes) if minutes else None
    gaps = [g for g in (cadence, wanted) if g is not None]
    return now + min(gaps) if gaps else None


# --- resolution range ------------------------------------------------------------------------
_RANGE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|hr)?\s*(?:(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*(m|min|h|hr)?)?\s*$"
)


class RangeError(ValueError):
    """Text that is not a resolution range; the message says what is accepted."""


def parse_range(text: str) -> ResolutionRange:
    """``unknown``, ``45``, ``30-60``, ``1-2h``, ``30m to 2h`` as a range of minutes."""
    cleaned = text.strip().lower()
    if cleaned in ("", "unknown", "?", "tbd"):
        return ResolutionRange()
    match = _RANGE.match(cleaned)
    if match is None:
        raise RangeError("Give a range like 30-60 (minutes), 1-2h, or 'unknown'.")
    low, low_unit, high, high_unit = match.groups()
    high_unit = high_unit or low_unit
    low_unit = low_unit or high_unit
    low_m = _minutes(low, low_unit)
    high_m = _minutes(high, high_unit) if high else low_m
    if high_m < low_m:
        raise RangeError("The end of the range comes before its start.")
    return ResolutionRange(low_minutes=low_m, high_minutes=high_m)


def _minutes(value: str, unit: str | None) -> int:
    number = float(value)
    return round(number * 60) if unit in ("h", "hr") else round(number)


def format_range(resolution: ResolutionRange) -> str:
    """The range as people type it back: ``unknown``, ``30-60``, ``1-2h``."""
    if resolution.unknown:
        return "unknown"
    low = resolution.low_minutes or 0
    high = resolution.high_minutes if resolution.high_minutes is not None else low
    if low % 60 == 0 and high % 60 == 0 and low:
        return f"{low // 60}h" if low == high else f"{low // 60}-{high // 60}h"
    return f"{low}" if low == high else f"{low}-{high}"


def describe_range(resolution: ResolutionRange) -> str:
    if resolution.unknown:
        return "Unknown at this time."
    low = resolution.low_minutes or 0
    high = resolution.high_minutes if resolution.high_minutes is not None else low
    if low == high:
        return f"In about {_span(low)}."
    return f"Between {_span(low)} and {_span(high)}."


def _span(minutes: int) -> str:
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} hours"
    if minutes == 60:
        return "1 hour"
    return f"{minutes} minutes"


# --- the text --------------------------------------------------------------------------------
def clock_time(at: datetime) -> str:
    return at.strftime("%H:%M UTC")


def render(state: IncidentState, draft: Draft, now: datetime) -> str:
    """The exact text of an update, as previewed, published and posted to webhooks."""
    f = draft.fields
    number = len(state.comms.updates) + 1
    drill = "[DRILL] " if state.drill else ""
    if draft.audience == Audience.INTERNAL:
        head = (
            f"{drill}[{clock_time(now)}] {state.severity} {state.title} - "
            f"internal update #{number} ({state.phase})"
        )
    else:
        head = f"{drill}{state.title} - update #{number} ({clock_time(now)})"
        head += f"\nStatus: {PUBLIC_STATUS[state.phase]}"
    lines = [
        head,
        f"Affected: {f.affected.strip() or 'Still being assessed.'}",
        f"Not affected: {f.not_affected.strip() or 'Still being assessed.'}",
        f"What users should expect: {f.expect.strip() or 'Still being assessed.'}",
        f"What we are doing: {f.doing.strip() or 'Investigating.'}",
        f"Expected resolution: {describe_range(f.resolution)}",
        f"Next update: {_next_line(state, draft)}",
    ]
    return "\n".join(lines)


def _next_line(state: IncidentState, draft: Draft) -> str:
    if draft.next_update_at is not None:
        return f"by {clock_time(draft.next_update_at)}"
    return "when there is news."


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def quoted_guesses(state: IncidentState, *texts: str) -> list[str]:
    """Open guesses (long enough to match reliably) that any of ``texts`` quotes, ignoring case.

    The hub passes the update's text and every one of its fields: a client may send fields that
    differ from the text, and a JSON webhook posts the fields as they are.
    """
    folded = [_folded(text) for text in texts]
    facts = {_folded(f) for f in confirmed_facts(state)}
    out = []
    for guess in open_guesses(state):
        needle = _folded(guess)
        if len(needle) < MIN_GUESS_MATCH or needle in facts:
            continue
        if any(needle in text for text in folded):
            out.append(guess)
    return out


def update_texts(text: str, fields: UpdateFields) -> list[str]:
    """Everything an update says: its text and each of its free-text fields."""
    return [text, fields.affected, fields.not_affected, fields.expect, fields.doing]


# --- sentences that resemble an open guess ------------------------------------------------------
#: Words that carry no meaning of their own in an update ("we suspect a ... from the ...").
STOP_WORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "may",
        "me",
        "might",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "suspect",
        "suspected",
        "suspects",
        "think",
        "believe",
        "believed",
        "likely",
        "possibly",
        "probably",
        "perhaps",
        "seems",
        "seem",
        "appears",
        "appear",
        "looks",
        "maybe",
        "cause",
        "caused",
        "causing",
        "due",
        "issue",
        "issues",
        "problem",
        "problems",
        "version",
        "versions",
        "v",
    ]
)
#: How many of a guess's significant words a sentence must share to resemble it (and at least 2).
RESEMBLANCE_SHARE = 0.6

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _stem(word: str) -> str:
    """A light stemmer: enough for retries/retry, errors/error, timeouts/timeout."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def significant_words(text: str) -> frozenset[str]:
    """The words of ``text`` that carry its meaning: lower-cased, stemmed, stop words left out.

    Version numbers and dotted names stay whole (``5.2``, ``v2.3.1``, ``db-primary``).
    """
    words = (w.strip(".-") for w in _WORD.findall(text.casefold()))
    return frozenset(_stem(w) for w in words if w and w not in STOP_WORDS)


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (and lines, and the items of a ``;`` list)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def shared_words(sentence: str, guess: str) -> frozenset[str]:
    """The significant words ``sentence`` shares with ``guess`` if it closely resembles it, else
    an empty set: at least two, and at least :data:`RESEMBLANCE_SHARE` of the guess's own."""
    wanted = significant_words(guess)
    if len(wanted) < 2:
        return frozenset()
    shared = wanted & significant_words(sentence)
    if len(shared) >= 2 and len(shared) >= RESEMBLANCE_SHARE * len(wanted):
        return shared
    return frozenset()


@dataclass(frozen=True)
class Resemblance:
    """One sentence of an update that closely resembles an open guess on the board."""

    sentence: str
    guess_no: int
    guess: str
    shared: frozenset[str]


def resembling_guesses(state: IncidentState, *texts: str) -> list[Resemblance]:
    """Sentences of ``texts`` that closely resemble an open guess (shared significant words).

    A paraphrase of a guess (``We suspect a retry storm from mobile app version 5.2.`` for the
    guess ``Retry storm from mobile app 5.2``) tells outsiders something unconfirmed as surely
    as a quote does. A sentence that shares as much with a confirmed fact as with the guess is
    taken to state the fact, and is not flagged. Each (sentence, guess) pair is listed once.
    """
    facts = confirmed_facts(state)
    guesses = [(item.no, item.text.strip()) for item in column(state, Column.GUESSES)]
    found: list[Resemblance] = []
    seen: set[tuple[str, int]] = set()
    for text in texts:
        for sentence in sentences(text):
            for no, guess in guesses:
                shared = shared_words(sentence, guess)
                if not shared or (sentence, no) in seen:
                    continue
                said = significant_words(sentence)
                if any(len(significant_words(fact) & said) >= len(shared) for fact in facts):
                    continue
                seen.add((sentence, no))
                found.append(Resemblance(sentence, no, guess, shared))
    return found


__all__ = [
    "Draft",
    "Resemblance",
    "RangeError",
    "confirmed_facts",
    "describe_range",
    "format_range",
    "open_guesses",
    "parse_range",
    "prefill",
    "promised_next",
    "quoted_guesses",
    "render",
    "resembling_guesses",
    "significant_words",
    "update_texts",
    "triage_scope",
]
