"""Brand matching against configured aliases and handles."""
import pytest

from detectors.brands import BrandMatcher

BRANDS = {
    "SJ": ["@SJ_AB", "Statens Järnvägar"],
    "Norwegian": ["@Fly_Norwegian", "Norwegian Air Shuttle"],
    "Orlen": ["#orlen", "PKN Orlen"],
    "H&M": ["@hm", "Hennes & Mauritz"],
}


@pytest.fixture(scope="module")
def matcher():
    return BrandMatcher(BRANDS)


@pytest.mark.parametrize("text,expected", [
    ("@SJ_AB var är tåget?", ("SJ",)),
    ("sj är alltid sena", ("SJ",)),
    ("#SJ igen...", ("SJ",)),
    ("Statens  järnvägar borde skämmas", ("SJ",)),
    ("Jag är sjuk idag", ()),
    ("mail@sj.se", ()),
    ("Norwegian Air Shuttle mistet kofferten", ("Norwegian",)),
    ("norwegian wood is a song", ("Norwegian",)),  # documented limitation: plain-word canonical name
    ("Tankowałem na #Orlen, a potem PKN Orlen podniósł ceny", ("Orlen",)),
    ("Köpte en tröja på H&M och på @hm", ("H&M",)),
    ("@Fly_Norwegian og @SJ_AB", ("Norwegian", "SJ")),
    ("", ()),
])
def test_match(matcher, text, expected):
    assert matcher.match(text) == expected


def test_handle_alias_needs_its_at_sign(matcher):
    assert matcher.match("SJ_AB") == ()


def test_no_brands_configured():
    assert BrandMatcher({}).match("SJ Norwegian") == ()
    assert BrandMatcher(None).match("SJ") == ()


def test_empty_and_odd_aliases_are_ignored():
    m = BrandMatcher({"X": ["", "  ", "@", "#"]})
    assert m.match("@ # x") == ("X",)


def test_regex_metacharacters_in_aliases():
    m = BrandMatcher({"C++ Shop": ["c++ shop", "(shop)"]})
    assert m.match("I hate C++ Shop") == ("C++ Shop",)
    assert m.match("c shop") == ()


def test_fast_precheck_keeps_case_insensitive_matches():
    # re's case-insensitive matching equates long s and dotless/dotted i with s and i, which
    # str.lower() does not: the substring pre-check must not drop those matches.
    m = BrandMatcher({"Sas": ["@Fly_Sas"], "Ica": []})
    assert m.match("flög med ſas och handlade på İCA") == ("Sas", "Ica")
    assert m.match("@FLY_SAS hej") == ("Sas",)
    assert m.match("ingen här") == ()
