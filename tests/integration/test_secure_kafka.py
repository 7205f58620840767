"""A secured Kafka: the worker and the CLI over SASL_SSL (PLAIN, SCRAM-SHA-512) and mutual TLS.

The broker of ``scripts/kafka`` serves, besides plain text, SASL over TLS and TLS with a required
client certificate, with test certificates in ``VIRALITY_TEST_TLS_DIR``. The worker, ``replay`` and
``tail`` run against those listeners only; a plain-text client of the same cluster checks the
result. Wrong credentials, an untrusted CA and a missing client certificate must each end the
command quickly with a message that names the cause.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.factories import COMPLAINT_SV, by_time, cascade, chatter
from tests.integration.conftest import BROKER, ROOT, Names, consume, port_open

pytestmark = pytest.mark.integration

SASL = os.environ.get("VIRALITY_TEST_SASL_BROKER", "127.0.0.1:19094")
MTLS = os.environ.get("VIRALITY_TEST_TLS_BROKER", "127.0.0.1:19095")
TLS_DIR = Path(os.environ.get("VIRALITY_TEST_TLS_DIR", ROOT / ".kafka" / "tls"))
USER, PASSWORD = "virality", "virality-test-secret"   # scripts/kafka's test user


@pytest.fixture(scope="module", autouse=True)
def secured_listeners() -> None:
    if not (port_open(SASL) and port_open(MTLS) and (TLS_DIR / "ca.pem").exists()):
        msg = (f"the broker has no secured listeners at {SASL} and {MTLS} (with {TLS_DIR}/ca.pem): a broker "
               "started before they were added needs a restart (scripts/kafka stop; scripts/kafka start)")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def secured(names: Names, mode: str, tmp_path: Path) -> Names:
    """``names`` with its clients sent to a secured listener: ``plain`` and ``scram`` are SASL_SSL
    (the SCRAM password from a file, as a secret mount gives it), ``mtls`` is TLS with a client
    certificate."""
    if mode == "mtls":
        auth = {"VIRALITY_BROKER": f"kafka://{MTLS}", "VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL",
                "VIRALITY_KAFKA_CA_FILE": str(TLS_DIR / "ca.pem"),
                "VIRALITY_KAFKA_CERT_FILE": str(TLS_DIR / "client.pem"),
                "VIRALITY_KAFKA_KEY_FILE": str(TLS_DIR / "client.key")}
    else:
        auth = {"VIRALITY_BROKER": f"kafka://{SASL}", "VIRALITY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "VIRALITY_KAFKA_CA_FILE": str(TLS_DIR / "ca.pem"), "VIRALITY_KAFKA_USERNAME": USER}
        if mode == "scram":
            secret = tmp_path / "kafka-password"
            secret.write_text(PASSWORD + "\n")
            auth.update(VIRALITY_KAFKA_SASL_MECHANISM="SCRAM-SHA-512", VIRALITY_KAFKA_PASSWORD_FILE=str(secret))
        else:
            auth.update(VIRALITY_KAFKA_SASL_MECHANISM="PLAIN", VIRALITY_KAFKA_PASSWORD=PASSWORD)
    names.env.update(auth)
    return names


def cli(names: Names, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT, env=names.environ(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("mode", ["plain", "scram", "mtls"])
def test_worker_replay_and_tail_over_a_secured_listener(mode: str, start_worker, tmp_path: Path) -> None:
    names = secured(Names(), mode, tmp_path)
    events = by_time(cascade("sec1", COMPLAINT_SV, "sv", 1200, brands=["sj"], seed=3) + chatter(20, seed=4))
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))

    r = cli(names, "topics")
    assert r.returncode == 0, r.stderr
    worker = start_worker(names)
    r = cli(names, "replay", str(path))
    assert r.returncode == 0, r.stderr
    assert f"{len(events):,} events" in r.stderr
    worker.wait_processed(len(events), timeout=90)
    # read back by a plain-text client of the same cluster: the data went through the secured listener
    got = consume(names.alerts, lambda got: any(a["alert_id"] == "viral_complaint:sec1:1" for a in got), timeout=60)
    assert any(a["alert_id"] == "viral_complaint:sec1:1" and a["state"] == "open" for a in got), got
    tail = cli(names, "tail", "--from-beginning", "--max", "1", timeout=60)
    assert tail.returncode == 0, tail.stderr
    assert "OPEN" in tail.stdout and "viral_complaint" in tail.stdout
    assert worker.stop() == 0
    log = worker.log_path.read_text()
    if mode == "mtls":
        assert "Authenticated as" not in log
    else:
        assert f"Authenticated as {USER} via {'SCRAM-SHA-512' if mode == 'scram' else 'PLAIN'}" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("case, change, expected", [
    ("wrong password", {"VIRALITY_KAFKA_PASSWORD": "not-the-password"},
     ["SaslAuthenticationFailed", "VIRALITY_KAFKA_USERNAME"]),
    ("wrong mechanism", {"VIRALITY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"},
     ["VIRALITY_KAFKA_SASL_MECHANISM"]),
    ("untrusted CA", {"VIRALITY_KAFKA_CA_FILE": ""}, ["CERTIFICATE_VERIFY_FAILED", "VIRALITY_KAFKA_CA_FILE"]),
    ("plain text on the TLS port", {"VIRALITY_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "VIRALITY_KAFKA_USERNAME": "",
                                    "VIRALITY_KAFKA_PASSWORD": "", "VIRALITY_KAFKA_CA_FILE": ""},
     ["VIRALITY_KAFKA_SECURITY_PROTOCOL"]),
    ("no client certificate", {"mtls": True, "VIRALITY_KAFKA_CERT_FILE": "", "VIRALITY_KAFKA_KEY_FILE": ""},
     ["VIRALITY_KAFKA_CERT_FILE"]),
    # the client speaks TLS, the listener plain text: the broker resets the handshake
    ("TLS on the plain-text port", {"plain port": True}, ["plain-text listener", "VIRALITY_BROKER"]),
    # TLS without SASL on the SASL_SSL port: the connection opens, then the broker closes it
    ("TLS without SASL on the SASL port", {"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_USERNAME": "",
                                           "VIRALITY_KAFKA_PASSWORD": ""}, ["VIRALITY_KAFKA_SECURITY_PROTOCOL"]),
])
def test_a_refused_connection_ends_quickly_and_says_why(case: str, change: dict, expected: list[str],
                                                      tmp_path: Path) -> None:
    change = dict(change)
    names = secured(Names(), "mtls" if change.pop("mtls", False) else "plain", tmp_path)
    if change.pop("plain port", False):
        change["VIRALITY_BROKER"] = f"kafka://{BROKER}"
    names.env.update(change)
    for command in (["topics"], ["worker"], ["tail", "--max", "1"]):
        t0 = time.monotonic()
        r = cli(names, *command, timeout=60)
        took = time.monotonic() - t0
        assert r.returncode != 0, (case, command, r.stderr[-2000:])
        last = r.stderr.strip().splitlines()[-1]
        for word in expected:
            assert word in last, (case, command, last)
        # a refusal does not mend by waiting: no 30 s of retries before saying so
        assert took < 20, (case, command, took)
        assert "Traceback" not in r.stderr, (case, command, r.stderr[-3000:])
