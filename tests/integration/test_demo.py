"""``virality demo`` (the README's first command) against the test broker: a run to the end, a
worker that dies mid-run, and a demo killed with SIGTERM. The broker already answers, so the demo
uses it and leaves it running; each run makes and deletes its own ``demoXXXXXX.*`` topics."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import BROKER, ROOT

pytestmark = pytest.mark.integration


def _demo(*args: str) -> subprocess.Popen:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VIRALITY_BROKER": f"kafka://{BROKER}"}
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "demo", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


async def _topics() -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def _run_of(out: str) -> str:
    m = re.search(r"topics, (demo[0-9a-f]{6})\.\*", out)
    assert m, out
    return m.group(1)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is ``pid``."""
    out = []
    for proc in os.listdir("/proc"):
        if proc.isdigit():
            try:
                stat = open(f"/proc/{proc}/stat").read()
                cmd = open(f"/proc/{proc}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append((int(proc), cmd))
    return out


def _wait_for_line(proc: subprocess.Popen, words: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if words in line:
            return seen
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no {words!r} in the demo's output:\n{seen}\n{proc.stderr.read() if proc.poll() is not None else ''}")


def test_demo_runs_to_the_end_on_a_running_broker_and_deletes_its_topics() -> None:
    proc = _demo("--speed", "0")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert "using the Kafka broker that answers" in out
    assert re.search(r"demo: done\. [\d,]+ events processed, 4 dead-lettered", out), out
    shown = int(re.search(r"(\d+) alert messages", out).group(1))
    assert shown >= 5 and out.count("viral_complaint") >= 1, out
    run = _run_of(out)
    assert not {t for t in asyncio.run(_topics()) if t.startswith(run)}
    assert not (ROOT / ".run" / run).exists() and not (ROOT / ".run" / f"{run}.jsonl").exists()


def test_a_worker_that_dies_mid_run_ends_the_demo_with_its_log() -> None:
    """Before, the demo waited for the dead worker's count for ever, saying nothing."""
    proc = _demo("--speed", "1")   # real speed: the replay runs for hours, the worker dies first
    try:
        out = _wait_for_line(proc, "replaying", 120)
        workers = [pid for pid, cmd in _children(proc.pid) if "streams.cli worker" in cmd]
        assert len(workers) == 1, _children(proc.pid)
        os.kill(workers[0], signal.SIGKILL)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, out + rest + err
    assert "the worker exited (code -9)" in err and "its log: .run/demo" in err, err
    run = _run_of(out)
    assert not {t for t in asyncio.run(_topics()) if t.startswith(run)}


def test_sigterm_stops_what_the_demo_started() -> None:
    """Before, SIGTERM (what `timeout` sends) ended the demo at once: its worker and replay ran on,
    and its topics stayed."""
    proc = _demo("--speed", "1")
    try:
        out = _wait_for_line(proc, "replaying", 120)
        deadline = time.monotonic() + 20
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)   # (the replay starts just after the demo says so)
        children = [pid for pid, _ in _children(proc.pid)]
        assert len(children) == 2, _children(proc.pid)   # the worker and the replay
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)   # impatient: more signals must not break the clean-up
        proc.send_signal(signal.SIGHUP)
        rest, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "interrupted" in err, out + rest + err
    assert "Traceback" not in err and "Task exception" not in err, err
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]
    run = _run_of(out)
    assert not {t for t in asyncio.run(_topics()) if t.startswith(run)}


def test_the_topics_and_files_of_a_killed_run_are_removed_by_the_next_demo() -> None:
    """A demo killed outright (SIGKILL: no clean-up) left its topics on the broker and its files in
    .run/ for good; the next run now removes them, and leaves a live run's alone."""
    from aiokafka.admin import NewTopic

    from tests.integration.conftest import produce

    dead_run, live_run = "demo" + os.urandom(3).hex(), "demo" + os.urandom(3).hex()
    run_dir = ROOT / ".run"
    run_dir.mkdir(exist_ok=True)
    gone = subprocess.Popen(["true"])
    gone.wait()                                           # a pid that no longer runs
    (run_dir / f"{dead_run}.pid").write_text(str(gone.pid))
    (run_dir / f"{dead_run}.jsonl").write_text("{}\n")
    (run_dir / dead_run).mkdir(exist_ok=True)
    # a live run: a process whose command line says demo, as the demo's does
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "demo"])
    (run_dir / f"{live_run}.pid").write_text(str(live.pid))

    async def make() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=BROKER)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(f"{r}.posts", 1, 1) for r in (dead_run, live_run)])
        finally:
            await admin.close()
    asyncio.run(make())
    produce(f"{dead_run}.posts", [(b"k", b"{}")])
    try:
        proc = _demo("--speed", "0")
        out, err = proc.communicate(timeout=300)
    finally:
        live.kill()
    assert proc.returncode == 0, out + err
    assert f"removed the topics and files of 1 earlier run(s) that were killed ({dead_run})" in out, out
    topics = asyncio.run(_topics())
    assert f"{dead_run}.posts" not in topics
    assert not (run_dir / f"{dead_run}.pid").exists() and not (run_dir / dead_run).exists()
    assert not (run_dir / f"{dead_run}.jsonl").exists()
    assert f"{live_run}.posts" in topics and (run_dir / f"{live_run}.pid").exists()
    (run_dir / f"{live_run}.pid").unlink()
    asyncio.run(_delete(live_run))


async def _delete(prefix: str) -> None:
    from streams.topics import delete_topics

    await delete_topics(BROKER, prefix)
