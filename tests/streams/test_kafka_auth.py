"""Connection settings for a secured Kafka (streams/kafka_auth.py, the VIRALITY_KAFKA_* settings).

The connections themselves are tested against the real broker's secured listeners
(tests/integration/test_secure_kafka.py); these tests check the settings and what is built from them.
"""
from __future__ import annotations

import logging
import ssl
import subprocess
from pathlib import Path

import faust
import pytest

from streams.kafka_auth import ConnectErrors, client_options, faust_credentials
from streams.settings import Settings, SettingsError


@pytest.fixture(scope="module")
def pem(tmp_path_factory) -> dict[str, str]:
    """A CA certificate, and a client certificate with its key, made with openssl."""
    d = tmp_path_factory.mktemp("tls")
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=c")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "client.pem")
    return {k: str(d / f) for k, f in (("ca", "ca.pem"), ("cert", "client.pem"), ("key", "client.key"))}


def sasl_env(**extra: str) -> dict[str, str]:
    return {"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VIRALITY_KAFKA_USERNAME": "svc",
            "VIRALITY_KAFKA_PASSWORD": "s3cret", **extra}


def test_plain_text_by_default() -> None:
    s = Settings.from_env({})
    assert client_options(s) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(s) is None


def test_sasl_ssl_with_a_ca_file(pem) -> None:
    s = Settings.from_env(sasl_env(VIRALITY_KAFKA_CA_FILE=pem["ca"], VIRALITY_KAFKA_SASL_MECHANISM="scram-sha-512"))
    opts = client_options(s)
    assert opts["security_protocol"] == "SASL_SSL" and opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("svc", "s3cret")
    ctx = opts["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext) and ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "test CA"),),)]
    cred = faust_credentials(s)
    assert isinstance(cred, faust.SASLCredentials)
    assert cred.protocol.value == "SASL_SSL" and cred.mechanism.value == "SCRAM-SHA-512"
    assert (cred.username, cred.password, cred.ssl_context is not None) == ("svc", "s3cret", True)


def test_sasl_over_plain_text_has_no_tls() -> None:
    s = Settings.from_env(sasl_env(VIRALITY_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT"))
    assert "ssl_context" not in client_options(s)
    assert faust_credentials(s).protocol.value == "SASL_PLAINTEXT"


def test_tls_without_a_ca_file_trusts_the_system_cas() -> None:
    s = Settings.from_env({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL"})
    ctx = client_options(s)["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    cred = faust_credentials(s)
    assert isinstance(cred, faust.SSLCredentials) and cred.protocol.value == "SSL"


def test_mutual_tls_loads_the_client_certificate(pem) -> None:
    env = {"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_CA_FILE": pem["ca"],
           "VIRALITY_KAFKA_CERT_FILE": pem["cert"], "VIRALITY_KAFKA_KEY_FILE": pem["key"]}
    assert client_options(Settings.from_env(env))["ssl_context"] is not None
    # a certificate with a key that is not its own is refused when the context is built
    with pytest.raises(SettingsError, match="cannot be used"):
        client_options(Settings.from_env(dict(env, VIRALITY_KAFKA_KEY_FILE=pem["ca"])))


def test_password_from_a_file_drops_one_trailing_newline(tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_text("pa ss\n")
    env = sasl_env(VIRALITY_KAFKA_PASSWORD="", VIRALITY_KAFKA_PASSWORD_FILE=str(f))
    assert client_options(Settings.from_env(env))["sasl_plain_password"] == "pa ss"
    f.write_text("two\n\n")
    assert client_options(Settings.from_env(env))["sasl_plain_password"] == "two\n"


def test_the_password_is_not_in_the_settings_repr() -> None:
    assert "s3cret" not in repr(Settings.from_env(sasl_env()))


@pytest.mark.parametrize("env, words", [
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "TLS"}, "is not one of PLAINTEXT, SSL"),
    (sasl_env(VIRALITY_KAFKA_SASL_MECHANISM="GSSAPI"), "VIRALITY_KAFKA_SASL_MECHANISM='GSSAPI'"),
    (sasl_env(VIRALITY_KAFKA_USERNAME=""), "needs VIRALITY_KAFKA_USERNAME"),
    (sasl_env(VIRALITY_KAFKA_PASSWORD=""), "needs VIRALITY_KAFKA_PASSWORD or VIRALITY_KAFKA_PASSWORD_FILE"),
    (sasl_env(VIRALITY_KAFKA_PASSWORD_FILE="/etc/hostname"), "both set"),
    (sasl_env(VIRALITY_KAFKA_PASSWORD="", VIRALITY_KAFKA_PASSWORD_FILE="/nonexistent/pw"), "does not exist"),
    ({"VIRALITY_KAFKA_USERNAME": "svc"}, "does not use it: set SASL_SSL"),
    ({"VIRALITY_KAFKA_PASSWORD": "x"}, "VIRALITY_KAFKA_PASSWORD is set but"),
    ({"VIRALITY_KAFKA_CA_FILE": "/etc/hostname"}, "does not use TLS: set SSL or SASL_SSL"),
    (sasl_env(VIRALITY_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", VIRALITY_KAFKA_CA_FILE="/etc/hostname"),
     "does not use TLS"),
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_CERT_FILE": "/etc/hostname"}, "go together"),
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_CA_FILE": "/nonexistent/ca.pem"},
     "VIRALITY_KAFKA_CA_FILE='/nonexistent/ca.pem' does not exist"),
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_CA_FILE": "/etc"}, "VIRALITY_KAFKA_CA_FILE='/etc' is not a file"),
    (sasl_env(VIRALITY_KAFKA_PASSWORD="", VIRALITY_KAFKA_PASSWORD_FILE="/tmp"), "is not a file"),
    # a mechanism with no SASL to use it, or none that exists, whatever the protocol
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"},
     "VIRALITY_KAFKA_SASL_MECHANISM is set but"),
    ({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_SASL_MECHANISM": "bogus"}, "is not one of PLAIN"),
])
def test_bad_connection_settings_are_clear_errors(env, words) -> None:
    with pytest.raises(SettingsError, match=None) as err:
        Settings.from_env(env)
    assert words in str(err.value)


def test_an_empty_password_file_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_text("")
    with pytest.raises(SettingsError, match="is empty"):
        Settings.from_env(sasl_env(VIRALITY_KAFKA_PASSWORD="", VIRALITY_KAFKA_PASSWORD_FILE=str(f)))


@pytest.mark.parametrize("error, lasting, hint", [
    ("[Error 58] SaslAuthenticationFailed: Authentication failed", True, "VIRALITY_KAFKA_USERNAME"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", True, "VIRALITY_KAFKA_CA_FILE"),
    ("KafkaConnectionError: Connection at 127.0.0.1:19095 closed", True, "VIRALITY_KAFKA_SECURITY_PROTOCOL"),
    ("[Errno 111] Connect call failed ('127.0.0.1', 9092)", False, "[Errno 111]"),
])
def test_connect_errors_name_the_cause_and_whether_waiting_helps(error, lasting, hint) -> None:
    s = Settings.from_env({})
    with ConnectErrors() as seen:
        assert seen.message(s) == "no Kafka broker answers at 127.0.0.1:9092 (PLAINTEXT)"
        logging.getLogger("aiokafka").error('Unable connect to "%s:%s": %s', "127.0.0.1", 9092, error)
    assert seen.lasting is lasting
    assert hint in seen.message(s) and error in seen.message(s)
    # removed on exit: later errors are not kept
    logging.getLogger("aiokafka").error('Unable connect to "%s:%s": %s', "h", 1, "later")
    assert seen.last == error


def test_connect_errors_as_the_client_logs_them_when_tls_meets_plain_text() -> None:
    """Two refusals the client reports only obliquely: a TLS client on a plain-text listener (an
    error with an empty ConnectionResetError, once per attempt), and a connection that opens and is
    closed (a warning, "Unable to request metadata ...")."""
    log = logging.getLogger("aiokafka")
    tls = Settings.from_env({"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL"})
    with ConnectErrors.of(tls) as seen:
        for attempt in range(3):
            assert not seen.lasting   # once or twice may be a broker restarting
            log.error('Unable connect to "%s:%s": %s', "127.0.0.1", 9092, ConnectionResetError())
    assert seen.lasting and "plain-text listener" in seen.message(tls)
    # a plain-text client is never told its reset is a TLS mismatch
    with ConnectErrors.of(Settings.from_env({})) as plain:
        for attempt in range(3):
            log.error('Unable connect to "%s:%s": %s', "127.0.0.1", 9092, ConnectionResetError())
    assert not plain.lasting and "plain-text listener" not in plain.message(Settings.from_env({}))
    with ConnectErrors.of(tls) as closed:
        log.warning('Unable to request metadata from "%s:%s": %s', "127.0.0.1", 19094,
                    Exception("KafkaConnectionError: Connection at 127.0.0.1:19094 closed"))
    assert closed.lasting and "VIRALITY_KAFKA_SECURITY_PROTOCOL" in closed.message(tls)


def test_a_password_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        Settings.from_env(sasl_env(VIRALITY_KAFKA_PASSWORD="", VIRALITY_KAFKA_PASSWORD_FILE=str(f)))


def test_an_encrypted_client_key_is_an_error_not_a_passphrase_prompt(pem, tmp_path: Path) -> None:
    """load_cert_chain asks for the passphrase on the terminal by default: a worker would hang there."""
    enc = tmp_path / "enc.key"
    subprocess.run(["openssl", "pkey", "-in", pem["key"], "-aes256", "-passout", "pass:secret", "-out", str(enc)],
                   check=True, capture_output=True)
    env = {"VIRALITY_KAFKA_SECURITY_PROTOCOL": "SSL", "VIRALITY_KAFKA_CERT_FILE": pem["cert"],
           "VIRALITY_KAFKA_KEY_FILE": str(enc)}
    with pytest.raises(SettingsError, match="VIRALITY_KAFKA_KEY_FILE holds an encrypted key"):
        client_options(Settings.from_env(env))
