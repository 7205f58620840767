"""Test doubles shipped with the tests (no mocks of Kafka: these stand in for a text model).

:class:`BatchOnlyAnalyzer` is what a heavier model plugged in through ``VIRALITY_ANALYZER`` looks
like when it prefers many texts per call: it answers as the built-in analyzer does, but only through
``analyze_many``. Its single-text ``analyze`` fails, so a test that uses it proves the caller
batched. Each batch's size is appended to the file named by ``VIRALITY_TEST_BATCH_LOG``, if set.
"""
from __future__ import annotations

import os
import time
from typing import Mapping, Sequence

from detectors.understanding import DefaultAnalyzer, TextAnalysis


class BatchOnlyAnalyzer:
    def __init__(self, brands: Mapping[str, list[str]] | None = None) -> None:
        self.inner = DefaultAnalyzer(brands)
        self.batches: list[int] = []
        self.log = os.environ.get("VIRALITY_TEST_BATCH_LOG")

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        raise AssertionError("BatchOnlyAnalyzer.analyze called: the caller did not batch")

    def analyze_many(self, items: Sequence[tuple[str, str | None]]) -> list[TextAnalysis]:
        self.batches.append(len(items))
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{len(items)}\n")
        return [self.inner.analyze(text, lang_hint=hint) for text, hint in items]


class FlakyAnalyzer(BatchOnlyAnalyzer):
    """Like :class:`BatchOnlyAnalyzer`, but a text holding ``BOOM`` makes the model raise, in a
    batch and alone (a model's failure on one input, as a GPU out-of-memory would be on a batch)."""

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        if "BOOM" in text:
            raise RuntimeError("model failed on this input")
        return self.inner.analyze(text, lang_hint=lang_hint)

    def analyze_many(self, items: Sequence[tuple[str, str | None]]) -> list[TextAnalysis]:
        if any("BOOM" in text for text, _ in items):
            raise RuntimeError("model failed on the batch")
        return super().analyze_many(items)


class OversizedBrandAnalyzer:
    """The built-in analyzer, except that a text holding ``OVERSIZE`` gets a 1.2 MB brand name, so
    that what the worker sends for it (the cascade's state, its brand partials) is larger than a
    Kafka request may be: a send that fails. For tests of what a failed send must not lose."""

    def __init__(self, brands: Mapping[str, list[str]] | None = None) -> None:
        self.inner = DefaultAnalyzer(brands)

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        a = self.inner.analyze(text, lang_hint=lang_hint)
        if "OVERSIZE" in text:
            return a._replace(brands=("x" * 1_200_000,))
        return a


class BoomAnalyzer:
    """The built-in analyzer through single-text ``analyze`` only, except that a text holding
    ``BOOM`` makes it raise. Each call appends the calling process's id to the file named by
    ``VIRALITY_TEST_PID_LOG``, if set, so a test can tell which process analysed the texts."""

    def __init__(self, brands: Mapping[str, list[str]] | None = None) -> None:
        self.inner = DefaultAnalyzer(brands)
        self.log = os.environ.get("VIRALITY_TEST_PID_LOG")

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()}\n")
        if "BOOM" in text:
            raise RuntimeError("model failed on this input")
        return self.inner.analyze(text, lang_hint=lang_hint)


class PacedAnalyzer(BoomAnalyzer):
    """:class:`BoomAnalyzer` taking 1 ms per text: a few thousand texts keep a process busy for
    seconds, so a test can stop something in the middle of them."""

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        time.sleep(0.001)
        return super().analyze(text, lang_hint=lang_hint)


class SlowAnalyzer(BatchOnlyAnalyzer):
    """Like :class:`BatchOnlyAnalyzer`, taking 10 ms per text (a heavy model on a slow device): a
    worker using it takes seconds over a few hundred distinct texts, so a test can break something
    while the worker is in the middle of them."""

    def analyze_many(self, items: Sequence[tuple[str, str | None]]) -> list[TextAnalysis]:
        time.sleep(0.01 * len(items))
        return super().analyze_many(items)


class HangingAnalyzer:
    """The built-in analyzer, except that a text holding ``HANG`` blocks for good, as a model call
    without a timeout (a GPU deadlock, a remote inference call that never answers) would: for tests
    of what a stalled worker shows."""

    def __init__(self, brands: Mapping[str, list[str]] | None = None) -> None:
        self.inner = DefaultAnalyzer(brands)

    def analyze(self, text: str, lang_hint: str | None = None) -> TextAnalysis:
        if "HANG" in text:
            time.sleep(3600)
        return self.inner.analyze(text, lang_hint=lang_hint)
