"""Start real Prometheus and Alertmanager binaries on free loopback ports, for tests.

Each start function writes its configuration into ``tmp_path``, starts the binary on
127.0.0.1 with its own storage directory, waits (bounded) until ``/-/ready`` answers and
returns ``(url, stop)``. ``stop`` is idempotent; register it as a finalizer::

    url, stop = start_prometheus(config_text, RULES_DIR, tmp_path)
    request.addfinalizer(stop)

``find_binary`` returns ``None`` when a binary is missing, so callers can skip with a reason.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

PROMETHEUS_NAMES = ("prometheus",)
ALERTMANAGER_NAMES = ("alertmanager", "prometheus-alertmanager")


def find_binary(*names: str) -> str | None:
    """The first of ``names`` found on PATH, or None."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the usual bind-to-0 race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def http_json(url: str, payload: object | None = None, timeout: float = 5.0) -> object:
    """GET ``url`` (or POST ``payload`` as JSON) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def _start(argv: list[str], url: str, log_path: Path) -> Callable[[], None]:
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if not log.closed:
            log.close()

    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            stop()
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            http_get(url + "/-/ready", timeout=1.0)
            return stop
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            stop()
            raise TimeoutError(f"{argv[0]} not ready after {READY_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def start_prometheus(config_text: str, rules_dir: str | Path | None, tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """Run Prometheus with ``config_text`` as prometheus.yml; returns (base URL, stop).

    ``rules_dir`` is copied to ``tmp_path/rules``, so a config written for the repository layout
    (``rule_files: [rules/*.yml]``) loads the same rules.
    """
    binary = find_binary(*PROMETHEUS_NAMES)
    if binary is None:
        raise FileNotFoundError("prometheus binary not found on PATH")
    home = Path(tmp_path) / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    if rules_dir is not None:
        shutil.copytree(rules_dir, home / "rules", dirs_exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(config_text)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}",
        "--storage.tsdb.retention.time=1h",
        "--log.level=warn",
    ]
    return url, _start(argv, url, home / "prometheus.log")


def start_alertmanager(config_text: str, tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """Run Alertmanager with ``config_text`` (clustering off); returns (base URL, stop)."""
    binary = find_binary(*ALERTMANAGER_NAMES)
    if binary is None:
        raise FileNotFoundError("alertmanager binary not found on PATH")
    home = Path(tmp_path) / "alertmanager"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "alertmanager.yml"
    config.write_text(config_text)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # An empty cluster address disables gossip, which would otherwise bind 0.0.0.0:9094.
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return url, _start(argv, url, home / "alertmanager.log")


def loopback_prometheus_config(config_text: str, targets: dict[str, list[str]], alertmanager: str | None,
                               scrape_interval: str = "1s") -> str:
    """The repository's prometheus.yml with targets rewritten for a loopback test.

    ``targets`` maps job name -> host:port list; jobs not named are dropped (their hosts exist
    only inside docker compose). ``alertmanager`` is host:port or None to drop alerting.
    """
    import yaml

    cfg = yaml.safe_load(config_text)
    cfg["global"]["scrape_interval"] = scrape_interval
    cfg["global"]["evaluation_interval"] = scrape_interval
    jobs = []
    for job in cfg.get("scrape_configs", []):
        if job["job_name"] in targets:
            job = dict(job, scrape_interval=scrape_interval,
                       static_configs=[{"targets": list(targets[job["job_name"]])}])
            jobs.append(job)
    cfg["scrape_configs"] = jobs
    if alertmanager is None:
        cfg.pop("alerting", None)
    else:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return yaml.safe_dump(cfg, sort_keys=False)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.25, what: str = "condition") -> None:
    """Poll ``predicate`` until true or raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def prometheus_query(url: str, expr: str) -> dict:
    """Instant query through the HTTP API; returns the decoded answer (``status``, ``data``...)."""
    q = urllib.parse.urlencode({"query": expr})
    try:
        return http_json(f"{url}/api/v1/query?{q}")  # type: ignore[return-value]
    except urllib.error.HTTPError as e:  # 400/422 carry a JSON error body
        return json.loads(e.read() or b"{}") or {"status": "error", "error": str(e)}


__all__ = [
    "find_binary", "free_port", "start_prometheus", "start_alertmanager", "loopback_prometheus_config",
    "wait_for", "prometheus_query", "http_json", "http_get",
]

