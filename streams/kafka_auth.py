"""How every Kafka client of the project connects: plain, TLS, SASL over TLS (PLAIN or SCRAM).

The worker's Faust app, and the plain aiokafka clients of the CLI (``replay``, ``tail``, ``topics``,
the topic checks), all take their connection options from here, so a secured cluster (a managed
Kafka with SASL_SSL, or mutual TLS) needs only the ``VIRALITY_KAFKA_*`` settings
(:mod:`streams.settings`).

>>> from streams.settings import Settings
>>> client_options(Settings())
{'security_protocol': 'PLAINTEXT'}
>>> faust_credentials(Settings()) is None
True
"""
from __future__ import annotations

import logging
import ssl
from typing import Any

from streams.settings import Settings, SettingsError


def ssl_context(s: Settings) -> ssl.SSLContext | None:
    """The TLS context for ``s``'s protocol (None without TLS): the system's CAs unless
    ``kafka_ca_file`` names others, the client certificate if one is given, host names checked."""
    if not s.kafka_tls:
        return None
    try:
        ctx = ssl.create_default_context(cafile=s.kafka_ca_file or None)
        if s.kafka_cert_file:
            # never a passphrase prompt (a worker would hang at it): an encrypted key is an error
            ctx.load_cert_chain(s.kafka_cert_file, s.kafka_key_file, password=_no_passphrase)
    except (ssl.SSLError, ValueError) as exc:
        # a file that is there but is not what it should be (a key for a certificate, a DER file)
        raise SettingsError(f"the TLS files (VIRALITY_KAFKA_CA_FILE, VIRALITY_KAFKA_CERT_FILE, "
                            f"VIRALITY_KAFKA_KEY_FILE) cannot be used: {exc}") from None
    return ctx


def _no_passphrase() -> str:
    raise SettingsError("VIRALITY_KAFKA_KEY_FILE holds an encrypted key: give the key unencrypted (a file "
                        "readable by the worker only), e.g. openssl pkey -in KEY -out KEY.plain")


def client_options(s: Settings) -> dict[str, Any]:
    """Keyword arguments for an aiokafka producer, consumer or admin client."""
    out: dict[str, Any] = {"security_protocol": s.kafka_protocol}
    ctx = ssl_context(s)
    if ctx is not None:
        out["ssl_context"] = ctx
    if s.kafka_sasl:
        out.update(sasl_mechanism=s.sasl_mechanism, sasl_plain_username=s.kafka_username,
                   sasl_plain_password=s.kafka_secret)
    return out


def faust_credentials(s: Settings) -> Any:
    """The same, as Faust's ``broker_credentials`` (None for plain text)."""
    import faust

    if s.kafka_protocol == "PLAINTEXT":
        return None
    ctx = ssl_context(s)
    if s.kafka_protocol == "SSL":
        return faust.SSLCredentials(ctx)
    # faust picks SASL_SSL when it is given a context, SASL_PLAINTEXT without
    return faust.SASLCredentials(username=s.kafka_username, password=s.kafka_secret, ssl_context=ctx,
                                 mechanism=s.sasl_mechanism)


#: Connection errors that waiting will not mend: refused credentials, an untrusted or mismatched
#: certificate, a TLS handshake the broker refuses (no client certificate), a plain-text client on a
#: TLS listener and the reverse.
_LASTING = ("SaslAuthenticationFailed", "UnsupportedSaslMechanism", "IllegalSaslState", "SSL:",
            "certificate", "Connection at")


class ConnectErrors(logging.Handler):
    """Keeps the last connection error the Kafka client logs while it is installed: the client raises
    only "Unable to bootstrap", and the reason (a refused password, an untrusted certificate) is in
    its log, as an error ("Unable connect to ...") or, when the connection opened and was then
    closed, a warning ("Unable to request metadata from ...").

    >>> with ConnectErrors() as seen:
    ...     logging.getLogger("aiokafka").error('Unable connect to "%s:%s": %s', "h", 1, "boom")
    >>> seen.last
    'boom'
    """

    def __init__(self, tls: bool = False) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None
        #: the client speaks TLS: a connection reset at once is then a plain-text listener's answer
        self.tls = tls
        self.resets = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg if isinstance(record.msg, str) else ""
        if not (msg.startswith("Unable connect to") or msg.startswith("Unable to request metadata")) or not record.args:
            return
        err = record.args[-1]
        text = str(err)
        if isinstance(err, ConnectionResetError):
            self.resets += 1
            text = text or "ConnectionResetError: the broker reset the connection"
        self.last = text or type(err).__name__

    @classmethod
    def of(cls, s: Settings) -> "ConnectErrors":
        return cls(tls=s.kafka_tls)

    def __enter__(self) -> "ConnectErrors":
        logging.getLogger("aiokafka").addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger("aiokafka").removeHandler(self)

    @property
    def lasting(self) -> bool:
        """The last error is one that retrying will not mend (see :data:`_LASTING`)."""
        if self.last is None:
            return False
        # a TLS handshake reset again and again: a plain-text listener (once may be a restart)
        return any(m in self.last for m in _LASTING) or (self.tls and self.resets >= 3 and "Reset" in self.last)

    def message(self, s: Settings) -> str:
        """What went wrong connecting to ``s``'s brokers, with the settings that decide it."""
        where = f"{s.bootstrap_servers} ({s.kafka_protocol})"
        if self.last is None:
            return f"no Kafka broker answers at {where}"
        hint = ""
        if "Sasl" in self.last:
            hint = "; check VIRALITY_KAFKA_USERNAME, the password and VIRALITY_KAFKA_SASL_MECHANISM"
        elif "CERTIFICATE_VERIFY_FAILED" in self.last or "certificate" in self.last:
            hint = "; check VIRALITY_KAFKA_CA_FILE (the CA the brokers' certificates chain to) and the broker address"
        elif self.tls and "Reset" in self.last:
            hint = ("; a TLS client on a plain-text listener? check VIRALITY_KAFKA_SECURITY_PROTOCOL and the port "
                    "in VIRALITY_BROKER")
        elif "Connection at" in self.last and "closed" in self.last:
            hint = ("; the broker closed the connection: a TLS listener reached without TLS, or one that requires "
                    "a client certificate (VIRALITY_KAFKA_CERT_FILE/KEY_FILE), or a SASL listener without SASL; "
                    "check VIRALITY_KAFKA_SECURITY_PROTOCOL")
        if not self.lasting:   # refused, unreachable, timed out: nobody there (yet)
            return f"no Kafka broker answers at {where}: {self.last}{hint}"
        return f"cannot connect to Kafka at {where}: {self.last}{hint}"
