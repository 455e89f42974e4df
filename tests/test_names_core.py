"""The name rules in the core: what a name is, which names look alike, what an incident id is."""

from __future__ import annotations

import re

import pytest

from warroom.core.names import (
    BadName,
    bare_name,
    check_name,
    confusable_with,
    guest_name,
    is_guest_name,
    skeleton,
    valid_incident_id,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dana", "dana"),
        ("  Dana   Reyes ", "Dana Reyes"),
        ("\uff44\uff41\uff4e\uff41", "dana"),  # fullwidth
        ("a\u00a0b", "a b"),  # no-break space is a space
        ("José", "José"),
        ("山田たろう", "山田たろう"),  # Han and Hiragana together are one writing system
        ("Дана", "Дана"),  # Cyrillic alone is fine
    ],
)
def test_names_are_normalised(raw, expected):
    assert check_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("dana\u200b", "U+200B"),  # zero-width space
        ("da\u200dna", "U+200D"),  # zero-width joiner
        ("dana\u202e", "U+202E"),  # right-to-left override
        ("\u3164", "invisible"),  # Hangul filler: a letter that draws as nothing
        ("dana\x07", "U+0007"),
        ("d\u0430na", "mix scripts"),  # Cyrillic а in a Latin name
        ("warroom", "hub's own name"),
        ("WarRoom", "hub's own name"),
        ("\uff57\uff41\uff52\uff52\uff4f\uff4f\uff4d", "hub's own name"),
        ("guest:dana", "':'"),
        ("x" * 61, "at most 60"),
    ],
)
def test_bad_names_are_refused_with_the_reason(raw, why):
    with pytest.raises(BadName, match=re.escape(why)):
        check_name(raw)


def test_guests_carry_a_marker_the_team_cannot_use():
    assert check_name("vic", guest=True) == "guest:vic"
    assert check_name("guest:vic", guest=True) == "guest:vic"  # a console reconnecting
    assert is_guest_name("guest:vic") and not is_guest_name("vic")
    assert bare_name(guest_name("vic")) == "vic"
    with pytest.raises(BadName):
        check_name("guest:vic")
    with pytest.raises(BadName, match="at most 54"):
        check_name("v" * 55, guest=True)


def test_look_alikes_share_a_skeleton_and_different_names_do_not():
    assert skeleton("dana") == skeleton("DANA") == skeleton("d\u0430na") == skeleton("Dana")
    assert skeleton("paypal") == skeleton("р\u0430ур\u0430l")  # Cyrillic р а у
    assert skeleton("dana") != skeleton("dano")
    assert confusable_with("DANA", ["erin", "dana"]) == "dana"
    assert confusable_with("dana", ["dana"]) is None  # the same name is the same person
    assert confusable_with("guest:dana", ["dana"]) == "dana"  # a guest never looks like a member
    assert confusable_with("erin", ["dana", "guest:eri"]) is None


def test_incident_ids_are_ascii():
    assert valid_incident_id("inc-ab12") and valid_incident_id("INC-2026-03-14")
    for bad in (
        "inc-\u0663\u0663\u0663",
        "inc-\uff21\uff22\uff23",
        "in",
        "inc_1",
        "inc 1",
        "x" * 41,
    ):
        assert not valid_incident_id(bad), bad
