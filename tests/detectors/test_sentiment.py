"""Sentiment rules on hand-made examples in the five supported languages."""
import os

import pytest

from detectors.sentiment import TOKEN_RE, SentimentScorer, label_of, tokens


@pytest.fixture(scope="module")
def s():
    return SentimentScorer()


@pytest.mark.parametrize("text,lang,label", [
    ("Fantastisk service, tack!", "sv", "positive"),
    ("Värdelös kundtjänst, aldrig mer", "sv", "negative"),
    ("Flott levering, veldig fornøyd", "no", "positive"),
    ("Elendig kundeservice, skuffet", "no", "negative"),
    ("Super god oplevelse, tusind tak", "da", "positive"),
    ("Elendig service, jeg er skuffet", "da", "negative"),
    ("Świetna obsługa, polecam", "pl", "positive"),
    ("Okropna obsługa, nigdy więcej", "pl", "negative"),
    ("Great flight, thanks!", "en", "positive"),
    ("Terrible flight, never again", "en", "negative"),
    ("Paket kom på tisdag", "sv", "neutral"),
])
def test_polarity(s, text, lang, label):
    assert s.score(text, lang).label == label


@pytest.mark.parametrize("pos,neg,lang", [
    ("bra", "inte bra", "sv"),
    ("Jeg liker det", "Jeg liker det ikke", "no"),   # negator after the verb
    ("det var godt", "det var ikke godt", "da"),
    ("polecam", "nie polecam", "pl"),
    ("miły", "niemiły", "pl"),                       # fused nie-
    ("good", "not good", "en"),
    ("good", "didn't seem good", "en"),
])
def test_negation_flips(s, pos, neg, lang):
    assert s.score(pos, lang).score > 0 > s.score(neg, lang).score


@pytest.mark.parametrize("base,stronger,lang", [
    ("bra", "väldigt bra", "sv"),
    ("bra", "jättebra", "sv"),
    ("dårlig", "kjempedårlig", "no"),
    ("dobra", "bardzo dobra", "pl"),
    ("good", "very good", "en"),
    ("bad service", "BAD service", "en"),     # caps in a lower-case text
    ("good", "goooood", "en"),                # elongation
    ("good", "good!!!", "en"),
])
def test_emphasis_strengthens(s, base, stronger, lang):
    assert abs(s.score(stronger, lang).score) > abs(s.score(base, lang).score) > 0


def test_dampener_weakens(s):
    assert 0 < s.score("lite bra", "sv").score < s.score("bra", "sv").score


def test_contrast_favours_the_second_clause(s):
    assert s.score("Maten var god, men servicen var elendig", "no").label == "negative"
    assert s.score("Obsługa była okropna, ale jedzenie świetne", "pl").label == "positive"
    assert s.score("The food was great but the staff were rude", "en").label == "negative"


def test_emoji_and_emoticons(s):
    assert s.score("😡😡", "sv").label == "negative"
    assert s.score("❤️", "pl").label == "positive"
    assert s.score("Leveransen kom :D", "sv").label == "positive"
    assert s.score("Leveransen kom :(", "sv").label == "negative"
    assert s.score("🤷", "en").label == "neutral"


def test_irony_markers_turn_praise(s):
    assert s.score("Tack för ingenting", "sv").label == "negative"
    assert s.score("Great, another delay 🙄", "en").label == "negative"
    assert s.score("Great, thanks for nothing", "en").label == "negative"
    assert s.score("Great service, thanks", "en").label == "positive"


def test_mixed_language_falls_back_to_strong_english_words(s):
    assert s.score("Helt ärligt, worst service ever", "sv").label == "negative"
    # ...but not for false friends: Swedish "gift" means married.
    assert s.score("Hon är gift", "sv").label == "neutral"


def test_unknown_language_uses_emoji_only(s):
    assert s.score("Das ist gut 👍", "und").label == "positive"
    assert s.score("xyz abc", "und").label == "neutral"


@pytest.mark.parametrize("text", ["", " ", "\n", "!!!", "@SJ_AB", "http://x.y/z", "🇸🇪", "a" * 10_000,
                                  "bra " * 2500])
def test_degenerate_inputs_stay_in_range(s, text):
    r = s.score(text, "sv")
    assert -1.0 <= r.score <= 1.0 and r.label == label_of(r.score)


def test_tokens_keep_handles_tags_emoticons_and_drop_links():
    assert tokens("@SJ_AB #fail :-( bra!! https://t.co/x 😡") == ["@SJ_AB", "#fail", ":-(", "bra", "!!", "😡"]


@pytest.mark.parametrize("text", [
    "a:) :) x:D xD XP xDD 5xD <3 a<3 </3 (: ): ;-) =] :-(( 😡😡",
    "hej!!? ,. don't it’s  \t\n:D\u00a0:) _xd x_d",
    "", "   ", "((:", "@a:) #b:(",
])
def test_fast_token_scan_finds_what_the_token_pattern_finds(text):
    assert tokens(text) == TOKEN_RE.findall(text)


def test_score_is_deterministic_with_cache(s):
    first = s.score("Kjempedårlig service", "no")
    assert s.score("Kjempedårlig service", "no") == first


def test_negative_outweighs_equal_positive(s):
    # Same-size praise and complaint in one post: the complaint decides (SO-CAL negativity weight).
    assert s.score("Bra pris, dålig kvalitet", "sv").label == "negative"
    r = s.score("Great price, bad quality", "en")
    assert r.label == "negative" and r.pos > 0 > r.neg


def test_negativity_weight_keeps_neg_unweighted(s):
    # ``neg`` stays the plain sum of negative valences: the complaint classifier reads it.
    assert s.score("bad", "en").neg == pytest.approx(-2.5)


@pytest.mark.parametrize("text,label", [
    ("Kurier był bardzo życzliwy", "positive"),   # words only polVADER has, inflected forms
    ("Jestem wściekła i przerażona", "negative"),
])
def test_polish_package_lexicon(s, text, label):
    from detectors.lexicons import language_pack
    from detectors.lexicons.external import polvader_lexicon
    if not polvader_lexicon():
        pytest.skip("polvader not installed")
    assert s.score(text, "pl").label == label
    # A hand-written stem decides every form it covers, over the package's entry.
    assert language_pack("pl").valence.lookup("dobry") == 2.0


def test_the_stored_polish_lexicon_is_the_merged_one_and_only_for_its_files_and_floor(tmp_path, monkeypatch, request):
    import pickle

    from detectors.lexicons import external

    lemmas, forms = tmp_path / "lemmas.dat", tmp_path / "forms.dat"
    lemmas.write_bytes(pickle.dumps({"dobry": 2.0, "zły": -2.5, "taki": 0.5}))
    forms.write_bytes(pickle.dumps({"dobra": 2.0, "złego": -2.5, "dobry": 1.0}))
    monkeypatch.setattr(external, "_polvader_paths", lambda: [str(lemmas), str(forms)])
    monkeypatch.setattr(external, "_BUILT_DIR", str(tmp_path / "built"))
    external.polvader_lexicon.cache_clear()
    request.addfinalizer(external.polvader_lexicon.cache_clear)   # no test after this one sees these
    merged = {"dobra": 2.0, "złego": -2.5, "dobry": 2.0, "zły": -2.5}   # lemmas win; |v| >= 1.5
    assert external.polvader_lexicon(1.5) == merged
    path = external.store_polvader(1.5)
    with open(path, "rb") as f:
        assert pickle.load(f) == merged
    # what is read is the stored file: marked, the mark comes back
    with open(path, "wb") as f:
        pickle.dump({**merged, "stored": 9.0}, f)
    external.polvader_lexicon.cache_clear()
    assert external.polvader_lexicon(1.5)["stored"] == 9.0
    # another floor, or a changed package file, has no stored copy: merged from the files
    external.polvader_lexicon.cache_clear()
    assert "stored" not in external.polvader_lexicon(0.0) and external.polvader_lexicon(0.0)["taki"] == 0.5
    forms.write_bytes(pickle.dumps({"dobra": 2.0}))
    external.polvader_lexicon.cache_clear()
    assert external.polvader_lexicon(1.5) == {"dobra": 2.0, "dobry": 2.0, "zły": -2.5}
    # storing again replaces the stale copy; a stored file that holds code is refused, not run
    new = external.store_polvader(1.5)
    assert os.listdir(tmp_path / "built") == [os.path.basename(new)]
    with open(new, "wb") as f:
        pickle.dump({"x": __import__("collections").OrderedDict()}, f)
    external.polvader_lexicon.cache_clear()
    assert external.polvader_lexicon(1.5) == {"dobra": 2.0, "dobry": 2.0, "zły": -2.5}


def test_package_lexicon_reader_refuses_code(tmp_path):
    import pickle

    from detectors.lexicons.external import _read_pickled_dict
    ok = tmp_path / "ok.dat"
    ok.write_bytes(pickle.dumps({"Dobry": 2, "zły": -1.5, "dwa słowa": 1.0}))
    assert _read_pickled_dict(str(ok)) == {"dobry": 2.0, "zły": -1.5}
    bad = tmp_path / "bad.dat"
    bad.write_bytes(pickle.dumps({"x": __import__("collections").OrderedDict()}))
    assert _read_pickled_dict(str(bad)) == {}
    assert _read_pickled_dict(None) == {}


def test_norwegian_package_lexicon(s):
    from detectors.lexicons.external import asent_lexicon
    if not asent_lexicon("no_lexicon_v1.txt"):
        pytest.skip("asent not installed")
    assert s.score("Filmen var et mesterverk", "no").label == "positive"
