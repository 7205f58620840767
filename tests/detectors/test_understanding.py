"""Tests for the text-understanding facade (hand-made multilingual examples, no data files)."""
import pytest
from hypothesis import given, settings, strategies as st

from detectors.understanding import (
    SUPPORTED_LANGS, DefaultAnalyzer, TextAnalysis, TextAnalyzer, load_analyzer, make_analysis,
)

BRANDS = {"SJ": ["@SJ_AB", "Statens Järnvägar"], "Norwegian": ["@Fly_Norwegian"],
          "PKP Intercity": ["@PKP_Intercity", "Intercity"]}


@pytest.fixture(scope="module")
def analyzer():
    return DefaultAnalyzer(BRANDS)


def test_supported_langs():
    assert SUPPORTED_LANGS == {"sv", "no", "da", "pl", "en"}


@pytest.mark.parametrize("text,lang,label,kind", [
    ("@SJ_AB tåget är försenat igen och ingen svarar i kundtjänst", "sv", "negative", "complaint"),
    ("Flyet var forsinket i fire timer og jeg har fortsatt ikke fått refusjon", "no", "negative", "complaint"),
    ("Tusind tak for den hurtige hjælp, I er bare de bedste!", "da", "positive", "praise"),
    ("Paczka nie dotarła, czekam już dwa tygodnie na zwrot pieniędzy", "pl", "negative", "complaint"),
    ("When does the store open tomorrow?", "en", "neutral", "question"),
])
def test_analyze_examples(analyzer, text, lang, label, kind):
    a = analyzer.analyze(text)
    assert (a.lang, a.label, a.kind) == (lang, label, kind)
    assert (a.kind == "complaint") == (a.complaint >= 0.5)


def test_brands_are_reported(analyzer):
    a = analyzer.analyze("@Fly_Norwegian mistet bagasjen min, og PKP Intercity er ikke bedre")
    assert a.brands == ("Norwegian", "PKP Intercity")


@pytest.mark.parametrize("text", ["", "   \n\t", "😡😡😡", "👍", "@SJ_AB", "http://x.se", "?!", "a" * 10_000,
                                  "Tåget är sent! " * 700])
def test_degenerate_inputs(analyzer, text):
    a = analyzer.analyze(text, lang_hint="sv")
    assert isinstance(a, TextAnalysis)
    assert -1.0 <= a.sentiment <= 1.0 and 0.0 <= a.complaint <= 1.0
    assert a.kind in {"complaint", "praise", "question", "other"}


def test_emoji_only_uses_hint_and_emoji_sentiment(analyzer):
    a = analyzer.analyze("😡😡", lang_hint="nb")
    assert a.lang == "no" and a.label == "negative"
    assert analyzer.analyze("😡😡").lang == "und"


def test_unrecognised_hint_gives_und(analyzer):
    assert analyzer.analyze("👍", lang_hint="xx").lang == "und"
    assert analyzer.analyze("", lang_hint=None).lang == "und"


def test_text_beats_hint(analyzer):
    assert analyzer.analyze("Tåget är försenat igen och ingen säger något", lang_hint="da").lang == "sv"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from([None, "sv", "nb", "da", "pl", "en", "xx", ""]))
def test_any_text_gives_valid_analysis(text, hint):
    a = DefaultAnalyzer(BRANDS).analyze(text, lang_hint=hint)
    assert a == make_analysis(a.lang, a.sentiment, a.complaint, a.kind, a.brands, a.label)
    assert a.lang in SUPPORTED_LANGS | {"und", "de", "fr", "es", "it", "nl", "pt", "fi"}


def test_analysis_is_deterministic_and_input_unchanged(analyzer):
    text = "Worst service EVER, still waiting for my refund @SJ_AB"
    assert analyzer.analyze(text) == analyzer.analyze(text)


class _Stub:
    def __init__(self, brands):
        self.brands = brands

    def analyze(self, text, lang_hint=None):
        return make_analysis("en", 2.0, -1.0, "other", ())


def test_load_analyzer_default_and_plugin():
    assert isinstance(load_analyzer(None, BRANDS), DefaultAnalyzer)
    plugged = load_analyzer(f"{_Stub.__module__}:_Stub", BRANDS)  # whatever name pytest imported us as
    assert isinstance(plugged, TextAnalyzer) and plugged.brands == BRANDS
    a = plugged.analyze("x")
    assert (a.sentiment, a.complaint, a.label) == (1.0, 0.0, "positive")


@pytest.mark.parametrize("spec", ["nodots", "detectors.understanding:", ":X"])
def test_load_analyzer_rejects_bad_spec(spec):
    with pytest.raises(ValueError):
        load_analyzer(spec, {})


def test_load_analyzer_rejects_non_analyzer():
    with pytest.raises(TypeError):
        load_analyzer("collections:OrderedDict", {})


def test_make_analysis_rejects_unknown_kind():
    with pytest.raises(ValueError):
        make_analysis("en", 0.0, 0.0, "rant")


def test_a_batching_analyzer_gets_texts_in_batches_and_decides_the_same():
    from detectors.chain import BATCH_EVENTS, ChainConfig, OfflineDetector
    from detectors.events import decode_event
    from tests.factories import COMPLAINT_SV, PRAISE_EN, by_time, cascade, chatter
    from tests.fakes import BatchOnlyAnalyzer

    events = [decode_event(e) for e in by_time(cascade("sj", COMPLAINT_SV, "sv", 1200, brands=["sj"])
                                               + cascade("ik", PRAISE_EN, "en", 900, brands=["ikea"], seed=2)
                                               + chatter(300, seed=3))]
    brands = {"sj": ["SJ", "@SJ_AB"], "ikea": ["IKEA", "@IKEA"]}
    expected = list(OfflineDetector(ChainConfig(), DefaultAnalyzer(brands), partitions=2).run(events))
    batching = BatchOnlyAnalyzer(brands)   # its analyze() fails: every text must come in a batch
    got = list(OfflineDetector(ChainConfig(), batching, partitions=2).run(events))
    assert got == expected and any(a["type"] == "viral_complaint" for a in got)
    with_text = sum(1 for e in events if e.text and not e.text.isspace())
    assert sum(batching.batches) == with_text
    assert len(batching.batches) == -(-len(events) // BATCH_EVENTS)


def test_analyze_many_must_answer_every_text():
    from detectors.understanding import analyze_many

    class Short:
        def analyze(self, text, lang_hint=None):
            raise AssertionError

        def analyze_many(self, items):
            return []

    with pytest.raises(ValueError, match="0 analyses for 2 texts"):
        analyze_many(Short(), [("a", None), ("b", None)])


def test_a_model_error_costs_its_event_as_analysis_failed_not_the_batch():
    from detectors.chain import ChainConfig, OfflineDetector, precomputed
    from detectors.events import Rejected, decode_event
    from tests.factories import COMPLAINT_SV, by_time, cascade, chatter
    from tests.fakes import FlakyAnalyzer

    raw = by_time(cascade("sj", COMPLAINT_SV, "sv", 1200, brands=["sj"]) + chatter(50, seed=3))
    for e in [e for e in raw if e.get("text")][1::10]:
        e["text"] += " BOOM"
    events = [decode_event(e) for e in raw]
    boom = {e.id for e in events if e.text and "BOOM" in e.text}
    assert boom
    model = FlakyAnalyzer({"sj": ["SJ", "@SJ_AB"]})
    errors = []
    assert precomputed(model, events, lambda exc, n: errors.append((str(exc), n))) == [None] * len(events)
    assert errors and errors[0][0] == "model failed on the batch"  # told, and left to single texts

    det = OfflineDetector(ChainConfig(), model, partitions=2)
    failed = set()
    for e in events:
        try:
            det.process(e)
        except Rejected as r:
            if r.reason == "analysis_failed":
                failed.add(e.id)
                assert "RuntimeError: model failed on this input" in r.detail
    assert failed == boom                                   # exactly those, and the rest went on
    assert det.rejected == {"analysis_failed": len(boom)}
    alerts = list(OfflineDetector(ChainConfig(), model, partitions=2).run(events))
    assert any(a["alert_id"] == "viral_complaint:sj:1" for a in alerts)


def test_an_unexpected_error_in_processing_costs_its_event_as_internal_error():
    """A model whose answer is malformed (here: no sentiment for texts holding WEIRD) breaks the
    chain after analysis; that event is rejected as internal_error with its cause, the rest go on."""
    from detectors.chain import ChainConfig, OfflineDetector
    from detectors.events import Rejected, decode_event
    from tests.factories import COMPLAINT_SV, by_time, cascade, chatter

    inner = DefaultAnalyzer({"sj": ["SJ", "@SJ_AB"]})

    class Malformed:
        def analyze(self, text, lang_hint=None):
            a = inner.analyze(text, lang_hint=lang_hint)
            return a._replace(sentiment=None) if "WEIRD" in text else a

    raw = by_time(cascade("sj", COMPLAINT_SV, "sv", 1200, brands=["sj"], reply_every=50) + chatter(20, seed=4))
    replies = [e for e in raw if e["kind"] == "reply"]
    for e in replies[::3]:
        e["text"] += " WEIRD"
    det = OfflineDetector(ChainConfig(), Malformed(), partitions=2)
    failed = set()
    for e in raw:
        try:
            det.process(decode_event(e))
        except Rejected as r:
            assert r.reason == "internal_error" and "TypeError" in r.detail
            assert isinstance(r.__cause__, TypeError)
            failed.add(e["id"])
    assert failed == {e["id"] for e in replies[::3]} and failed
