"""Serialized state kept by the worker occupies its own size, not orjson's growth buffer."""
import tracemalloc

import orjson

from streams.app import dumps_kept


def _state(i: int) -> dict:
    return {"r": f"root-{i}", "v": {"b": [[i, [3]], [i + 1, [4]]]}, "f": [0.5] * 20, "t": "Tåget är sent"}


def test_dumps_kept_equals_orjson_output():
    for i in range(20):
        assert dumps_kept(_state(i)) == orjson.dumps(_state(i))
    assert dumps_kept({1: "a"}, option=orjson.OPT_NON_STR_KEYS) == b'{"1":"a"}'


def test_dumps_kept_allocation_is_about_its_length():
    n = 500
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = [dumps_kept(_state(i)) for i in range(n)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    payload = sum(len(b) for b in kept)
    # bytes header (33 B) plus the list that holds them; orjson's own buffers are 5-25x the payload
    assert grown < 1.5 * payload + 100 * n, (grown, payload)
