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


def _reference(m: BrandMatcher, text: str) -> tuple[str, ...]:
    """What the one full expression finds, without any pre-check (the oracle)."""
    seen: dict[str, None] = {}
    if m._re is not None:
        for hit in m._re.finditer(text):
            seen.setdefault(m._canon[hit.lastgroup], None)
    return tuple(seen)


@pytest.mark.parametrize("n_brands,ascii_names", [(3, True), (40, False)])
def test_pre_checks_never_change_what_the_expression_finds(n_brands, ascii_names):
    # few ASCII aliases: substring pre-checks; many (or non-ASCII): the letter-run lookup
    import random

    rnd = random.Random(n_brands)
    plain = ["sj", "ab", "or", "len", "7", "h&m", "c++", "x", "norwegian", "air"]
    odd = ["ſa", "İc", "ıca", "σ", "ς", "ß", "ẞ", "ss", "ä", "Ö", "å", "K", "\u0345", "ǅ", "ǆ", "ﬅ", "st",
           "Ａ", "ǰ", "²", "9"]  # Kelvin sign, ypogegrammeni, titlecase dz, ligature, fullwidth A
    syllables = plain + odd
    seps = [" ", "_", "-", "  ", "", ".", "@", "#", "'", "\n", "&"]

    def word():
        return "".join(rnd.choice(syllables) for _ in range(rnd.randint(1, 3)))

    def name_word():
        return "".join(rnd.choice(plain if ascii_names else syllables) for _ in range(rnd.randint(1, 3)))

    brands = {}
    for i in range(n_brands):
        brands[f"{name_word()}{i}"] = [
            rnd.choice(["@", "#", ""]) + name_word() + (rnd.choice(seps) + name_word() if rnd.random() < 0.5 else "")
            for _ in range(rnd.randint(0, 3))]
    m = BrandMatcher(brands)
    assert (m._needles is None) == (not ascii_names), "both pre-checks are exercised"
    aliases = [a for name, al in brands.items() for a in (name, *al)]
    found = 0
    for _ in range(3000):
        parts = []
        for _ in range(rnd.randint(0, 8)):
            r = rnd.random()
            piece = rnd.choice(aliases) if r < 0.3 else word()
            if rnd.random() < 0.3:
                piece = piece.upper() if rnd.random() < 0.5 else piece.swapcase()
            parts.append(piece + rnd.choice(seps))
        text = "".join(parts)
        expected = _reference(m, text)
        assert m.match(text) == expected, text
        found += bool(expected)
    assert found > 500, "the texts do name brands"


def test_many_brands_cost_one_lookup_per_text():
    brands = {f"Brand{i}": [f"@brand{i}_help", f"Brand {i} Group"] for i in range(500)}
    m = BrandMatcher(brands)
    assert m._needles is None
    assert m.match("@Brand7_help my order never came, brand7 is a joke") == ("Brand7",)
    assert m.match("nothing to see here") == ()
    # one expression compiled, over the aliases of one key: not a copy of the whole expression
    assert len(m._key_re) == 1
    (key,) = m._key_re
    assert key == "brand7" and len(m._by_key[key]) <= 3
    assert m.match("Brand 12 Group and Brand 13 Group") == ("Brand12", "Brand13")


def test_case_folding_agrees_with_case_insensitive_matching_over_all_of_unicode():
    """The letter-run pre-check compares case-folded runs; the expression matches case-insensitively.
    Every pair of characters re equates must case-fold alike, and no character that is not a word
    character may case-fold into a letter or digit (it would join the run next to it), except the
    trap characters, which send a text or alias past the pre-check."""
    import re
    import sys
    from collections import defaultdict
    from re import _casefix

    import _sre

    from detectors.brands import _CASE_TRAPS, _RUN_RE

    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]
    by_lower = defaultdict(list)
    for ch in chars:
        by_lower[_sre.unicode_tolower(ord(ch))].append(ch)
    unequal = []
    for a in chars:
        if not _sre.unicode_iscased(ord(a)) or _CASE_TRAPS.match(a):
            continue
        low = _sre.unicode_tolower(ord(a))
        for equal in {low, *_casefix._EXTRA_CASES.get(low, ())}:
            for t in by_lower[equal]:
                if t != a and not _CASE_TRAPS.match(t) and t.casefold() != a.casefold():
                    assert re.fullmatch(re.escape(a), t, re.IGNORECASE)
                    unequal.append((a, t))
    assert unequal == []
    word = re.compile(r"\w")
    joiners = [c for c in chars if not word.match(c) and not _CASE_TRAPS.match(c)
               and (_RUN_RE.match(c.casefold()[0]) or _RUN_RE.match(c.casefold()[-1]))]
    assert joiners == []


def test_overlapping_aliases_under_different_keys_resolve_as_the_full_expression():
    # "Norwegian Air Shuttle" and "Norwegian" start at the same place; the longer alias wins, as in
    # the one full expression, even though the letter-run pre-check files them under different keys
    pairs = [(f"Long{i}", f"Norwegian{i} Air Shuttle{i}", f"Norwegian{i}") for i in range(8)]
    brands = {long_: [alias] for long_, alias, _ in pairs}
    brands.update({short: [f"@{short}"] for _, _, short in pairs})
    brands.update({f"Pad{i}": [f"@pad{i}", f"Other{i} Co"] for i in range(40)})  # many needles
    m = BrandMatcher(brands)
    assert m._needles is None
    assert {k for k in m._by_key if k.startswith(("shuttle", "norwegian"))} == {
        f"{w}{i}" for w in ("shuttle", "norwegian") for i in range(8)}, "two keys per pair"
    text = " ".join(alias for _, alias, _ in pairs) + " and " + pairs[0][2]
    assert m.match(text) == tuple(long_ for long_, _, _ in pairs) + (pairs[0][2],)
    assert m.match(text) == _reference(m, text)
