"""Helper processes that analyse a batch's texts ahead of the agent (VIRALITY_ANALYSIS_PROCESSES).

They must answer exactly what the agent would (the analysis is a pure function of the text, its
language hint and the brands), and any failure of theirs may cost speed but never an event.
"""
from __future__ import annotations

import asyncio
import os
import signal
import types

import orjson

from detectors.understanding import DefaultAnalyzer
from streams.app import TextHelpers, analyze_values
from tests.fakes import BoomAnalyzer

BRANDS = {"sj": ["SJ", "@SJ_AB"]}


def values() -> list[bytes | None]:
    def post(i: int, text: str, **extra) -> bytes:
        return orjson.dumps({"id": f"p{i}", "kind": "post", "created_at": 1_700_000_000_000 + i,
                             "author": {"id": "a", "followers": 10}, "text": text, **extra})

    return [post(0, "Tåget är försenat igen @SJ_AB, värdelöst!"),
            post(1, "Tusen takk for hjelpen!", lang="nb"),
            orjson.dumps({"id": "s", "kind": "share", "root_id": "p0", "created_at": 1_700_000_000_005,
                          "author": {"id": "b"}}),  # no text
            b"{not json", None,
            post(2, "BOOM goes the model")]


def test_the_helpers_answer_what_the_agent_would_and_nothing_for_what_it_cannot() -> None:
    inline = DefaultAnalyzer(BRANDS)
    got = analyze_values(values(), BoomAnalyzer(BRANDS))
    assert got[0] == inline.analyze("Tåget är försenat igen @SJ_AB, värdelöst!") and got[0].brands == ("sj",)
    assert got[1] == inline.analyze("Tusen takk for hjelpen!", lang_hint="nb")
    # no text, not an event, no value, a model failure: the agent handles these as without helpers
    assert got[2:] == [None, None, None, None]


def test_a_helper_process_gives_the_same_answers_and_its_death_costs_only_speed() -> None:
    async def run() -> None:
        helpers = TextHelpers(1, None, BRANDS, timeout_s=60)
        try:
            batch = [types.SimpleNamespace(value=v) for v in values()]
            got = await helpers.result(helpers.submit(batch))
            assert got == analyze_values(values(), DefaultAnalyzer(BRANDS))
            assert got[5] is not None  # the built-in analyzer has no trouble with BOOM
            for pid in list(helpers.pool._processes):  # kill the helper: the next batch must not hang
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            assert await helpers.result(helpers.submit(batch)) is None
            assert helpers.broken and helpers.submit(batch) is None
        finally:
            helpers.close()

    asyncio.run(run())


def test_helpers_leave_when_their_worker_is_killed(tmp_path) -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "worker_like.py"
    script.write_text(
        "import asyncio, sys, time, types\n"
        "from streams.app import TextHelpers\n"
        "async def main():\n"
        "    h = TextHelpers(1, None, {})\n"
        "    v = b'{\"id\":\"a\",\"kind\":\"post\",\"created_at\":1,\"author\":{\"id\":\"x\"},\"text\":\"hej\"}'\n"
        "    await h.result(h.submit([types.SimpleNamespace(value=v)]))\n"
        "    print(*h.pool._processes, flush=True)\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=root, stdout=subprocess.PIPE, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    try:
        helpers = [int(p) for p in proc.stdout.readline().split()]
        assert helpers and all(Path(f"/proc/{p}").exists() for p in helpers)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in helpers):
        time.sleep(0.2)
    alive = [p for p in helpers if Path(f"/proc/{p}").exists()
             and "spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    assert not alive, f"helper process(es) {alive} outlived their killed worker"


def test_a_batch_whose_helpers_were_shut_down_is_analysed_by_the_agent() -> None:
    async def run() -> None:
        helpers = TextHelpers(1, None, BRANDS)
        loop = asyncio.get_running_loop()
        ahead = loop.create_future()
        ahead.cancel()   # what shutting the pool down does to a batch still waiting
        assert await helpers.result(ahead) is None
        helpers.close()
        # but the agent's own cancellation is not swallowed
        pending = loop.create_future()
        task = asyncio.ensure_future(helpers.result(pending))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the agent's cancellation was swallowed")

    asyncio.run(run())
