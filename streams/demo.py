"""``virality demo``: the whole system on one machine, start to finish, then clean up.

1. start the local Kafka broker (``scripts/kafka start``) unless one already answers;
2. write the bundled scenario (:mod:`streams.scenario`) with times ending just before now;
3. start ``virality worker`` on fresh, run-specific topics;
4. replay the scenario at ``--speed`` times real speed while printing alerts as they arrive;
5. when every event is accounted for (consumed or dead-lettered) and alerts have settled, stop the
   worker, delete the run's topics, stop the broker if the demo started it, and print a summary.

Ctrl-C at any point stops everything the demo started.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson

from streams import scenario

ROOT = Path(__file__).resolve().parent.parent


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^(virality_\w+_total)(\{[^}]*\})? (\S+)$", line)
        if m:
            key = m.group(1) + (m.group(2) or "")
            out[key] = float(m.group(3))
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def _kafka_script(command: str, port: str) -> subprocess.CompletedProcess:
    """``scripts/kafka COMMAND`` for the broker on ``port`` of this machine."""
    return subprocess.run([str(ROOT / "scripts" / "kafka"), command], env=dict(os.environ, KAFKA_PORT=port),
                          check=False)


def _project_broker_pid() -> int | None:
    """The pid of this project's ``scripts/kafka`` broker if one runs (on whatever port)."""
    home = Path(os.environ.get("KAFKA_HOME") or ROOT / ".kafka")
    try:
        pid = int((home / "kafka.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"kafka.Kafka" in cmdline else None


def run_demo(args: argparse.Namespace) -> int:
    from streams.settings import Settings

    if not os.environ.get("VIRALITY_BROKER") and os.environ.get("KAFKA_PORT"):
        # scripts/kafka's port, given for the demo's broker: the demo's clients go there too
        os.environ["VIRALITY_BROKER"] = f"kafka://127.0.0.1:{os.environ['KAFKA_PORT']}"
    base = Settings.from_env()
    host, port = base.broker_addresses[0]
    port = port or "9092"  # (as Kafka clients default it)
    # The demo stops only a broker it started itself: one that was already running, here or
    # elsewhere, is left alone, whatever happens (Ctrl-C included).
    started_broker = False
    run = "demo" + uuid.uuid4().hex[:6]
    children: list[subprocess.Popen] = []  # the worker, then the replay: stopped whatever ends the run
    # a kill (SIGTERM, as `timeout` sends) or a closed terminal (SIGHUP) stops what was started, as
    # Ctrl-C does; before, they ended the demo at once and left its broker running
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    try:
        if _port_open(host, int(port)):
            print(f"demo: using the Kafka broker that answers at {host}:{port} (left running; the demo's "
                  f"topics, {run}.*, are deleted at the end)", flush=True)
        else:
            if host not in ("127.0.0.1", "localhost", "::1"):
                print(f"demo: no Kafka broker answers at {host}:{port}; the demo starts one only on this "
                      "machine (VIRALITY_BROKER=kafka://127.0.0.1:PORT)", file=sys.stderr)
                return 2
            if _project_broker_pid() is not None:  # running, but not where VIRALITY_BROKER points
                _kafka_script("status", port)
                print(f"demo: set VIRALITY_BROKER to the running broker's address, or stop it first "
                      "(scripts/kafka stop)", file=sys.stderr)
                return 2
            print(f"demo: starting the local Kafka broker on {host}:{port} ...", flush=True)
            started_broker = not args.keep_broker  # set first: a Ctrl-C during the start stops it too
            if _kafka_script("start", port).returncode != 0 or not _port_open(host, int(port)):
                started_broker = started_broker and _project_broker_pid() is not None
                print(f"demo: the local broker did not come up on {host}:{port} (scripts/kafka start "
                      "says why above)", file=sys.stderr)
                return 2
        _sweep_killed_runs(base)
        _pid_file(run).parent.mkdir(parents=True, exist_ok=True)
        _pid_file(run).write_text(str(os.getpid()))
        return _run_scenario(args, base, run, children)
    except DemoFailed as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: interrupted; stopping what was started", file=sys.stderr)
        return 130
    finally:
        _ignore_stop_signals()   # nothing interrupts the clean-up: a second kill would leave the broker running
        try:
            _stop_children(children)
            if _port_open(host, int(port)):
                asyncio.run(_delete_topics(base, run))
            _remove_run_files(run)
        finally:
            if started_broker:
                _kafka_script("stop", port)


def _pid_file(run: str) -> Path:
    """Where a demo run says it is alive: a run killed outright (SIGKILL, a power cut) leaves it,
    and the next demo removes that run's topics and files."""
    return ROOT / ".run" / f"{run}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a pid reused by another program is not the run
        return b"demo" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def _sweep_killed_runs(settings: Any) -> None:
    """Delete the topics and files of earlier demo runs that were killed before their clean-up."""
    dead = []
    for pid_file in (ROOT / ".run").glob("demo*.pid"):
        run = pid_file.stem
        if not re.fullmatch(r"demo[0-9a-f]{6}", run):
            continue
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = -1
        if pid <= 0 or not _alive(pid):
            dead.append(run)
    if not dead:
        return
    asyncio.run(_delete_topics(settings, tuple(dead)))
    for run in dead:
        _remove_run_files(run)
    print(f"demo: removed the topics and files of {len(dead)} earlier run(s) that were killed "
          f"({', '.join(sorted(dead))}); their worker logs stay in .run/", flush=True)


def _remove_run_files(run: str) -> None:
    """A run's table data, scenario file and pid file go with its topics (its worker's log stays)."""
    shutil.rmtree(ROOT / ".run" / run, ignore_errors=True)
    (ROOT / ".run" / f"{run}.jsonl").unlink(missing_ok=True)
    _pid_file(run).unlink(missing_ok=True)


#: What stops the demo and its clean-up: Ctrl-C, a kill (SIGTERM, as `timeout` sends) and a
#: closed terminal (SIGHUP).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ignore_stop_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _interrupt(signum: int, frame: Any) -> None:
    # the first signal starts the clean-up; more of them (a second Ctrl-C, kill after kill) must not
    # interrupt it
    _ignore_stop_signals()
    raise KeyboardInterrupt(signal.Signals(signum).name)


class DemoFailed(Exception):
    """A child of the demo ended before the run did: the message says which and where to look."""


def _stop_children(children: list[subprocess.Popen]) -> None:
    """Stop the replay, then the worker (gracefully, then by force)."""
    for proc in reversed(children):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _run_scenario(args: argparse.Namespace, base, run: str, children: list[subprocess.Popen]) -> int:
    metrics_port = _free_port()
    env = dict(os.environ,
               VIRALITY_APP_ID=run, VIRALITY_POSTS_TOPIC=f"{run}.posts", VIRALITY_ALERTS_TOPIC=f"{run}.alerts",
               VIRALITY_DEADLETTER_TOPIC=f"{run}.deadletter", VIRALITY_REPARTITION_TOPIC=f"{run}.by-root",
               VIRALITY_BRAND_TOPIC=f"{run}.brand-partials", VIRALITY_METRICS_PORT=str(metrics_port),
               VIRALITY_METRICS_HOST="127.0.0.1", VIRALITY_BROKER=base.broker, VIRALITY_BRANDS=os.environ.get("VIRALITY_BRANDS") or scenario.BRANDS,
               VIRALITY_DATA_DIR=str(ROOT / ".run" / run), VIRALITY_SESSION_TIMEOUT_S="6",
               VIRALITY_HEARTBEAT_S="1", VIRALITY_LOG_LEVEL="warning")
    os.makedirs(ROOT / ".run", exist_ok=True)
    path = ROOT / ".run" / f"{run}.jsonl"
    base_ms = int(time.time() * 1000) - scenario.DURATION_S * 1000 - 120_000
    n_valid, n_broken = scenario.write(str(path), base_ms)
    total = n_valid + n_broken
    print(f"demo: scenario of {n_valid:,} events (+{n_broken} broken ones), {scenario.DURATION_S // 3600} hours "
          f"replayed at {args.speed:g}x; metrics on http://127.0.0.1:{metrics_port}/metrics", flush=True)
    log_path = ROOT / ".run" / f"{run}-worker.log"
    worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, cwd=ROOT,
                              stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    children.append(worker)
    deadline = time.monotonic() + 90
    while b"worker: ready" not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            print(log_path.read_text()[-2000:], file=sys.stderr)
            print("demo: the worker did not start; the end of its log is above", file=sys.stderr)
            return 1
        time.sleep(0.3)
    print("demo: worker ready; replaying ...\n", flush=True)
    replay = subprocess.Popen([sys.executable, "-m", "streams.cli", "replay", str(path), "--include-invalid",
                               "--speed", str(args.speed)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children.append(replay)
    shown = asyncio.run(_show_alerts(env, f"{run}.alerts", metrics_port, total, replay, worker, log_path))
    if replay.wait() != 0:
        print(replay.stderr.read().decode() if replay.stderr else "", file=sys.stderr)
    m = _scrape(metrics_port)
    rejected = {k.split('"')[1]: int(v) for k, v in m.items()
                if k.startswith("virality_events_rejected_total{") and float(v)}  # (every reason is at 0)
    print(f"\ndemo: done. {int(m.get('virality_events_consumed_total', 0)):,} events processed, "
          f"{int(m.get('virality_events_rejected_total', 0))} dead-lettered {rejected}, {shown} alert messages. "
          f"The worker's log: {log_path.relative_to(ROOT)}")
    return 0


async def _show_alerts(env: dict, topic: str, metrics_port: int, total: int, replay: subprocess.Popen,
                       worker: subprocess.Popen, log_path: Path) -> int:
    from aiokafka import AIOKafkaConsumer

    from streams.cli import format_alert
    from streams.kafka_auth import client_options
    from streams.settings import Settings

    settings = Settings.from_env(env)   # the worker's own settings (a secured broker's included)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                                isolation_level="read_committed", **client_options(settings))
    await consumer.start()
    consumer.subscribe([topic])
    shown = 0
    quiet_since: float | None = None
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            got = False
            for recs in batch.values():
                for r in recs:
                    print(format_alert(orjson.loads(r.value)), flush=True)
                    shown += 1
                    got = True
            if worker.poll() is not None:
                # before, the demo waited for its count for ever
                raise DemoFailed(f"the worker exited (code {worker.returncode}) before it had processed "
                                 f"the scenario; its log: {log_path.relative_to(ROOT)}\n"
                                 + log_path.read_text(errors="replace")[-1500:])
            if replay.poll() is not None and replay.returncode != 0:
                raise DemoFailed(f"the replay failed (code {replay.returncode}):\n"
                                 + (replay.stderr.read().decode(errors="replace")[-1500:] if replay.stderr else ""))
            m = _scrape(metrics_port)
            done = m.get("virality_events_consumed_total", 0) + m.get("virality_events_rejected_total", 0)
            finished = replay.poll() is not None and done >= total
            if finished and not got:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 3.0:   # everything processed and no alert for 3 s
                    return shown
            else:
                quiet_since = None
    finally:
        await consumer.stop()


async def _delete_topics(settings: Any, run: str | tuple[str, ...]) -> None:
    from streams.kafka_auth import client_options
    from streams.topics import delete_topics

    try:
        await delete_topics(settings.bootstrap_servers, run, **client_options(settings))
    except Exception as exc:  # the demo's result stands; leftover topics are harmless
        print(f"demo: could not delete the run's topics: {exc}", file=sys.stderr)
