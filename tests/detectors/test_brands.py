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
    odd = ["ſa", "İc", "ıca", "σ", "ς", "ß", "ss", "ä", "Ö", "å", "K"]  # Kelvin sign last
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
    assert m.match("@Brand7_help my order never came, brand7 is a joke") == ("Brand7",)
    assert m.match("nothing to see here") == ()
    assert len(m._subsets) == 1  # one small expression compiled for the one candidate
