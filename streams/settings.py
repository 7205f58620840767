"""Settings: the one place that reads the environment.

Every setting has a default that runs the system on one machine against ``scripts/kafka``.
Production sets them through the environment (``docker-compose.yml`` sets the stack's own and
passes the common ones through from the shell).

==================================  ==========================  ==================================================
variable                            default                     meaning
==================================  ==========================  ==================================================
VIRALITY_BROKER                     kafka://127.0.0.1:9092      Kafka bootstrap servers (comma-separated allowed)
VIRALITY_KAFKA_SECURITY_PROTOCOL    PLAINTEXT                   PLAINTEXT, SSL (TLS), SASL_SSL or SASL_PLAINTEXT
VIRALITY_KAFKA_SASL_MECHANISM       PLAIN (with SASL)           with SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
VIRALITY_KAFKA_USERNAME             (empty)                     with SASL: the user name
VIRALITY_KAFKA_PASSWORD             (empty)                     with SASL: the password (or the next one)
VIRALITY_KAFKA_PASSWORD_FILE        (empty)                     with SASL: a file holding the password (a secret mount)
VIRALITY_KAFKA_CA_FILE              (system CAs)                with TLS: PEM file of the CA(s) the brokers' certificates chain to
VIRALITY_KAFKA_CERT_FILE            (none)                      with TLS: PEM client certificate, for brokers that ask for one
VIRALITY_KAFKA_KEY_FILE             (none)                      with TLS: PEM private key of that certificate (unencrypted)
VIRALITY_APP_ID                     virality                    consumer group and prefix of internal topics
VIRALITY_POSTS_TOPIC                posts                       input events
VIRALITY_ALERTS_TOPIC               alerts                      alert transitions
VIRALITY_DEADLETTER_TOPIC           posts.deadletter            rejected input, with the reason
VIRALITY_REPARTITION_TOPIC          posts.by-root               events re-keyed by root_id
VIRALITY_BRAND_TOPIC                brand-partials              per-partition brand pre-aggregates
VIRALITY_PARTITIONS                 4                           partitions of posts, posts.by-root and the tables
VIRALITY_REPLICATION                1                           replication factor of the topics the app creates
VIRALITY_METRICS_PORT               9108                        Prometheus /metrics port (0 disables)
VIRALITY_METRICS_HOST               0.0.0.0                     address the metrics server binds
VIRALITY_BRANDS                     (empty)                     brands: ``sj=SJ,@SJ_AB;ikea=IKEA,@IKEA``
VIRALITY_MAX_BRANDS                 500                         brands the brand windows track (tags included); silent ones make room
VIRALITY_ANALYZER                   (built-in)                  ``package.module:Class`` text analyzer to use
VIRALITY_ANALYSIS_PROCESSES         1 (built-in, 2+ cores)      helper processes analysing texts ahead, worker and detect (0: none)
VIRALITY_VIRAL_FINAL                1000                        forecast final size that opens an alert
VIRALITY_ESCALATE_FINAL             5000                        size (seen or forecast low) that escalates
VIRALITY_MIN_SHARES                 0.4 x VIRAL_FINAL (400)     from here a score of 0.8 opens an alert
VIRALITY_EARLY_SHARES               0.15 x VIRAL_FINAL (150)    from here a score of 0.9 does (0: off)
VIRALITY_LATENESS_S                 300                         allowed lateness of an event within its cascade
VIRALITY_MAX_FUTURE_S               300                         how far after arrival an event time may be
VIRALITY_COOLDOWN_S                 3600                        no re-open within this after resolution
VIRALITY_QUIET_S                    1800                        resolve an alert after this long without shares
VIRALITY_EXPIRE_S                   259200 (72 h)               forget a cascade idle this long (>= QUIET + COOLDOWN; one that alerted: 30 days)
VIRALITY_EVICT_IDLE_S               900                         keep only the stored form of a cascade idle this long
VIRALITY_MAINTAIN_EVERY_S           60                          how often idle cascades are evicted and expired
VIRALITY_BATCH_MAX                  2000                        most events processed in one batch
VIRALITY_FLUSH_INTERVAL_S           1.0                         how often state is written to the changelog (>= 0.01)
VIRALITY_COMMIT_INTERVAL_S          2.8                         Kafka offset commit interval
VIRALITY_SESSION_TIMEOUT_S          30                          consumer session timeout, 6 to 90 (tests use 6)
VIRALITY_HEARTBEAT_S                3                           consumer heartbeat interval
VIRALITY_REBALANCE_TIMEOUT_S        60                          consumer rebalance timeout
VIRALITY_SHUTDOWN_TIMEOUT_S         20                          bound on a graceful stop (up to 3600)
VIRALITY_STORE                      memory://                   Faust table store: only ``memory://`` (rebuilt from the changelog)
VIRALITY_CHANGELOG_COMPACT_S        600                         longest a changelog record waits to be compacted (>= 10): bounds a restart
VIRALITY_DATA_DIR                   ./.run/worker               Faust data directory (no table state with memory://)
VIRALITY_LOG_LEVEL                  info                        worker log level: debug, info, warning, error, critical
VIRALITY_GC_GEN0                    50000                       allocations between young GC passes (0: Python's 700)
==================================  ==========================  ==================================================
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from detectors.brand import BrandRules
from detectors.chain import ChainConfig
from detectors.virality import ViralityThresholds


_DECISION = ViralityThresholds()
LOG_LEVELS = ("debug", "info", "warning", "warn", "error", "critical", "fatal")  # as logging names them


#: VIRALITY_KAFKA_SECURITY_PROTOCOL values (Kafka's own names) and the SASL mechanisms the client has.
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


MIN_FLUSH_INTERVAL_S = 0.01
MIN_SESSION_TIMEOUT_S = 6.0
MAX_SESSION_TIMEOUT_S = 90.0
MAX_SHUTDOWN_TIMEOUT_S = 3600.0
MAX_GC_GEN0 = 10_000_000
MAX_ANALYSIS_PROCESSES = 64
MIN_CHANGELOG_COMPACT_S = 10
TOPIC_NAME_MAX = 249
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]+")


class SettingsError(ValueError):
    """A setting in the environment has a value that cannot be used."""


def parse_brands(text: str) -> dict[str, list[str]]:
    """``"sj=SJ,@SJ_AB;ikea=IKEA"`` -> ``{"sj": ["SJ", "@SJ_AB"], "ikea": ["IKEA"]}``.

    >>> parse_brands("sj=SJ,@SJ_AB; ikea")
    {'sj': ['SJ', '@SJ_AB'], 'ikea': ['ikea']}
    """
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, _, aliases = part.partition("=")
        name = name.strip().lower()
        if not name:
            raise SettingsError(f"VIRALITY_BRANDS: empty brand name in {part!r}")
        if name in out:  # the second would silently replace the first's aliases
            raise SettingsError(f"VIRALITY_BRANDS: brand {name!r} is listed twice; give all its aliases once")
        if "=" in aliases:   # "sj=SJ,ikea=IKEA": a ',' for the ';' made IKEA an alias of sj
            raise SettingsError(f"VIRALITY_BRANDS: {part!r} has more than one '='; separate brands "
                                f"with ';' (sj=SJ,@SJ_AB;ikea=IKEA)")
        out[name] = [a.strip() for a in aliases.split(",") if a.strip()] or [name]
    owner: dict[str, str] = {}
    for name, aliases in out.items():
        for alias in aliases:
            key = alias.lower().lstrip("@#")
            if owner.setdefault(key, name) != name:
                raise SettingsError(f"VIRALITY_BRANDS: alias {alias!r} belongs to both {owner[key]!r} and "
                                    f"{name!r}; a post naming it could only count for one")
    return out


#: VIRALITY_* variables that are not settings but are read elsewhere (docker-compose.yml, the tests).
NOT_SETTINGS = ("VIRALITY_REPLAY_DIR", "VIRALITY_REPLAY_FILE", "VIRALITY_TEST_")
_warned: set[str] = set()


def unknown_variables(env: Mapping[str, str], fields: Iterable[str]) -> list[tuple[str, str | None]]:
    """``(variable, the setting it was probably meant to be)`` for each ``VIRALITY_*`` variable in
    ``env`` that is no setting: a typo would otherwise leave the default in force, silently.

    >>> unknown_variables({"VIRALITY_PARTITION": "6", "VIRALITY_BROKER": "x", "PATH": "/bin"}, ["partitions", "broker"])
    [('VIRALITY_PARTITION', 'VIRALITY_PARTITIONS')]
    """
    import difflib

    known = ["VIRALITY_" + f.upper() for f in fields]
    out = []
    for key in sorted(env):
        if key.startswith("VIRALITY_") and key not in known and not key.startswith(NOT_SETTINGS):
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
            out.append((key, near[0] if near else None))
    return out


def _warn_unknown(env: Mapping[str, str], fields: Iterable[str]) -> None:
    import logging

    for key, near in unknown_variables(env, fields):
        if key not in _warned:
            _warned.add(key)
            logging.getLogger("virality.settings").warning(
                "%s is not a setting and is ignored%s (streams/settings.py lists them)", key,
                f": did you mean {near}?" if near else "")


@dataclass(frozen=True)
class Settings:
    broker: str = "kafka://127.0.0.1:9092"
    # how every Kafka client of the worker and the CLI connects (streams/kafka_auth.py)
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None   # None: PLAIN (see sasl_mechanism)
    kafka_username: str | None = None
    kafka_password: str | None = field(default=None, repr=False)
    kafka_password_file: str | None = None
    kafka_ca_file: str | None = None
    kafka_cert_file: str | None = None
    kafka_key_file: str | None = None
    app_id: str = "virality"
    posts_topic: str = "posts"
    alerts_topic: str = "alerts"
    deadletter_topic: str = "posts.deadletter"
    repartition_topic: str = "posts.by-root"
    brand_topic: str = "brand-partials"
    partitions: int = 4
    replication: int = 1
    metrics_port: int = 9108
    metrics_host: str = "0.0.0.0"
    brands: Mapping[str, list[str]] = field(default_factory=dict)
    max_brands: int = 500
    analyzer: str | None = None
    analysis_processes: int | None = None  # None: 1 on a machine with 2 or more cores, else 0
    # the decision's own defaults (detectors/virality.py), so there is one place for thresholds
    viral_final: float = _DECISION.viral_final
    escalate_final: float = _DECISION.escalate_final
    min_shares: int | None = None  # None: the decision's default, a fraction of viral_final
    early_shares: int | None = None  # the same
    lateness_s: int = 300
    max_future_s: int = 300
    cooldown_s: float = 3600.0
    quiet_s: float = 1800.0
    expire_s: int = 72 * 3600
    evict_idle_s: int = 900
    maintain_every_s: float = 60.0
    batch_max: int = 2000
    flush_interval_s: float = 1.0
    commit_interval_s: float = 2.8
    session_timeout_s: float = 30.0
    heartbeat_s: float = 3.0
    rebalance_timeout_s: float = 60.0
    shutdown_timeout_s: float = 20.0
    store: str = "memory://"
    changelog_compact_s: int = 600
    data_dir: str = "./.run/worker"
    log_level: str = "info"
    # The worker allocates short-lived objects for every event and keeps many long-lived ones (the
    # cascades), so Python's default (700) runs the cyclic GC very often. Over 7 alternating pairs
    # of bench/bench_pipeline.py runs, 50,000 averaged 14,600 events/s against 13,300 (single runs
    # spread 11,300-16,300 either way: the gain is about 10 %, smaller than this machine's noise).
    gc_gen0: int = 50_000

    @property
    def text_helper_processes(self) -> int:
        """Helper processes for text analysis: as set, or else 1 for the built-in analyzer where
        there is a second core for it (a plugged-in model gets helpers only when asked: each would
        hold a copy of it). The worker never uses them for a model with ``analyze_many``.

        Measured with bench/bench_pipeline.py --texts (real tweets, 200,000 events, 2 cores shared
        with the broker) on 2026-11-23, a day the machine ran at the team's reference speed
        (bench/bench_reference.py): 30,300-31,300 events/s without a helper, 46,800-52,200 with one
        (docs/operations.md has the dated table).
        """
        if self.analysis_processes is not None:
            return self.analysis_processes
        return 1 if not self.analyzer and (os.cpu_count() or 1) >= 2 else 0

    #: The settings that decide what a worker does with an event: two workers of one group must agree
    #: on them, or a cascade's fate depends on which one owns its partition. (The thresholds too:
    #: they enter the fingerprint as ``chain_config()`` resolves them, defaults filled in.)
    DECISION_FIELDS = ("posts_topic", "alerts_topic", "deadletter_topic", "repartition_topic", "brand_topic",
                       "partitions", "brands", "max_brands", "analyzer", "lateness_s", "max_future_s",
                       "cooldown_s", "quiet_s", "expire_s")

    @property
    def decision_fingerprint(self) -> str:
        """8 hex digits of the :data:`DECISION_FIELDS` (``virality_build_info{config}``): workers of one
        group must show the same one."""
        import hashlib
        import json

        import dataclasses

        values = {name: getattr(self, name) for name in self.DECISION_FIELDS}
        # as they act: aliases in any order, thresholds with their defaults filled in
        values["brands"] = {k: sorted(v) for k, v in self.brands.items()}
        values["thresholds"] = dataclasses.asdict(self.chain_config().thresholds)
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]

    def summary(self) -> str:
        """One line of what this worker decides with (logged at start)."""
        c = self.chain_config()
        t = c.thresholds
        brands = ", ".join(sorted(self.brands)[:20]) + (f" and {len(self.brands) - 20} more" if len(self.brands) > 20 else "")
        return (f"app {self.app_id}, {self.partitions} partitions, topics {self.posts_topic} -> {self.alerts_topic} "
                f"(dead letters {self.deadletter_topic}); {len(self.brands)} brands ({brands or 'none'}), "
                f"at most {self.max_brands} tracked; viral at a forecast of {t.viral_final:g} shares, escalated at "
                f"{t.escalate_final:g}, from {t.min_shares} shares (early {t.early_shares}); lateness "
                f"{self.lateness_s}s, cooldown {self.cooldown_s:g}s, quiet {self.quiet_s:g}s, expiry "
                f"{self.expire_s}s; analyzer {self.analyzer or 'built-in'}; config {self.decision_fingerprint}")

    def _validate_topics(self) -> None:
        """Topic names Kafka takes, and five different ones: dead letters or alerts written to the
        input topic would be read back and rejected again, without end."""
        names = {"VIRALITY_POSTS_TOPIC": self.posts_topic, "VIRALITY_REPARTITION_TOPIC": self.repartition_topic,
                 "VIRALITY_ALERTS_TOPIC": self.alerts_topic, "VIRALITY_DEADLETTER_TOPIC": self.deadletter_topic,
                 "VIRALITY_BRAND_TOPIC": self.brand_topic}
        # the app id names the consumer group and prefixes the changelog topics ("<id>-cascades-changelog")
        for key, name in {**names, "VIRALITY_APP_ID": self.app_id}.items():
            longest = TOPIC_NAME_MAX - 40 if key == "VIRALITY_APP_ID" else TOPIC_NAME_MAX
            if not _TOPIC_NAME.fullmatch(name) or name in (".", "..") or len(name) > longest:
                raise SettingsError(f"{key}={name!r} is not a Kafka topic name: 1 to {longest} of the "
                                    "characters a-z, A-Z, 0-9, '.', '_' and '-'")
        seen: dict[str, str] = {}
        for key, name in names.items():
            if name in seen:
                raise SettingsError(f"{key} and {seen[name]} are both {name!r}: each topic needs its own name")
            seen[name] = key

    def _validate_kafka_auth(self) -> None:
        protocol = self.kafka_protocol
        if protocol not in KAFKA_PROTOCOLS:
            raise SettingsError(f"VIRALITY_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol!r} is not one of "
                                f"{', '.join(KAFKA_PROTOCOLS)}")
        sasl, tls = self.kafka_sasl, self.kafka_tls
        if self.kafka_sasl_mechanism is not None and self.sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"VIRALITY_KAFKA_SASL_MECHANISM={self.kafka_sasl_mechanism!r} is not one of "
                                f"{', '.join(SASL_MECHANISMS)}")
        if sasl:
            if not self.kafka_username:
                raise SettingsError(f"VIRALITY_KAFKA_SECURITY_PROTOCOL={protocol} needs VIRALITY_KAFKA_USERNAME")
            if self.kafka_password is not None and self.kafka_password_file:
                raise SettingsError("VIRALITY_KAFKA_PASSWORD and VIRALITY_KAFKA_PASSWORD_FILE are both set: give one")
            if self.kafka_password is None and not self.kafka_password_file:
                raise SettingsError(f"VIRALITY_KAFKA_SECURITY_PROTOCOL={protocol} needs VIRALITY_KAFKA_PASSWORD "
                                    "or VIRALITY_KAFKA_PASSWORD_FILE")
        else:
            given = [n for n in ("username", "password", "password_file", "sasl_mechanism")
                     if getattr(self, "kafka_" + n) is not None]
            if given:
                # credentials that would silently not be used: the operator meant a SASL protocol
                raise SettingsError(f"VIRALITY_KAFKA_{given[0].upper()} is set but VIRALITY_KAFKA_SECURITY_PROTOCOL="
                                    f"{protocol} does not use it: set SASL_SSL (or SASL_PLAINTEXT)")
        if not tls:
            given = [n for n in ("ca_file", "cert_file", "key_file") if getattr(self, "kafka_" + n)]
            if given:
                # a CA or certificate given with a plain-text protocol: the operator meant TLS
                raise SettingsError(f"VIRALITY_KAFKA_{given[0].upper()} is set but VIRALITY_KAFKA_SECURITY_PROTOCOL="
                                    f"{protocol} does not use TLS: set SSL or SASL_SSL")
        if bool(self.kafka_cert_file) != bool(self.kafka_key_file):
            raise SettingsError("VIRALITY_KAFKA_CERT_FILE and VIRALITY_KAFKA_KEY_FILE go together: give both or neither")
        for name in ("password_file", "ca_file", "cert_file", "key_file"):
            path = getattr(self, "kafka_" + name)
            if path and not (os.path.isfile(path) and os.access(path, os.R_OK)):
                what = ("does not exist" if not os.path.exists(path) else
                        "is not a file" if not os.path.isfile(path) else "is not readable by this user")
                raise SettingsError(f"VIRALITY_KAFKA_{name.upper()}={path!r} {what}")
        if self.kafka_password_file and self.kafka_secret == "":
            raise SettingsError(f"VIRALITY_KAFKA_PASSWORD_FILE={self.kafka_password_file!r} is empty")

    @property
    def kafka_secret(self) -> str | None:
        """The SASL password: as set, or read from ``kafka_password_file`` (one trailing newline dropped,
        as ``echo`` and most secret stores leave one)."""
        if self.kafka_password is not None or not self.kafka_password_file:
            return self.kafka_password
        with open(self.kafka_password_file, "rb") as fh:
            raw = fh.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsError(f"VIRALITY_KAFKA_PASSWORD_FILE={self.kafka_password_file!r} is not UTF-8 text") from None
        return text[:-1] if text.endswith("\n") else text

    @property
    def kafka_protocol(self) -> str:
        """VIRALITY_KAFKA_SECURITY_PROTOCOL, upper-case (as Kafka names it)."""
        return self.kafka_security_protocol.upper()

    @property
    def kafka_tls(self) -> bool:
        """The Kafka clients speak TLS (SSL or SASL_SSL)."""
        return self.kafka_protocol.endswith("SSL")

    @property
    def kafka_sasl(self) -> bool:
        """The Kafka clients log in with SASL (SASL_SSL or SASL_PLAINTEXT)."""
        return self.kafka_protocol.startswith("SASL_")

    @property
    def sasl_mechanism(self) -> str:
        """The SASL mechanism, upper-case: as set, or PLAIN."""
        return (self.kafka_sasl_mechanism or "PLAIN").upper()

    @property
    def bootstrap_servers(self) -> str:
        """``host:port,host:port`` for plain Kafka clients."""
        return ",".join(s.split("://", 1)[-1] for s in self.broker.split(","))

    @property
    def broker_addresses(self) -> list[tuple[str, str | None]]:
        """``(host, port)`` of each bootstrap server, as written (port None when left out: Kafka
        clients then use 9092; ``[::1]`` keeps its brackets)."""
        out: list[tuple[str, str | None]] = []
        for server in self.bootstrap_servers.split(","):
            server = server.strip()
            host, sep, port = server.rpartition(":")
            out.append((host, port) if sep else (server, None))
        return out

    def changelog_topic_configs(self) -> dict[str, str]:
        """Configs of the tables' changelog topics (given to Faust, which creates them).

        A worker reads its changelogs back from the start at every start (``memory://`` store), and
        Kafka compacts only closed segments: with its defaults (a segment closes at 1 GB or after 7
        days) every restart read up to a week of state writes. ``max.compaction.lag.ms`` also closes
        the segment (Kafka 2.3+), so a restart reads about one record per cascade plus at most this
        long of writes. Tombstones of forgotten cascades are kept as long (``delete.retention.ms``,
        a day by default): a worker whose read of the changelog takes longer may miss one and load a
        forgotten cascade again, which its next expiry pass forgets again.

        Measured with ``bench/bench_soak.py`` (4,000 events/s, about 0.3 changelog records per
        event): a restart after 20 minutes read 1.6 million records in 167 s with Kafka's defaults;
        with 120 s here, after 10 minutes, a 28 MB changelog in 5.4 s.
        """
        ms = str(self.changelog_compact_s * 1000)
        return {"max.compaction.lag.ms": ms, "delete.retention.ms": ms}

    def chain_config(self) -> ChainConfig:
        return ChainConfig(
            thresholds=ViralityThresholds(viral_final=self.viral_final, escalate_final=self.escalate_final,
                                          min_shares=self.min_shares, early_shares=self.early_shares),
            brand_rules=BrandRules(lateness_s=self.lateness_s, cooldown_s=self.cooldown_s,
                                   max_brands=self.max_brands, pinned=frozenset(self.brands)),
            lateness_s=self.lateness_s, max_future_s=self.max_future_s, cooldown_s=self.cooldown_s,
            quiet_s=self.quiet_s, expire_s=self.expire_s,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values: dict = {}
        for f in cls.__dataclass_fields__.values():
            key = "VIRALITY_" + f.name.upper()
            if key not in env or env[key] == "":
                continue
            raw = env[key]
            try:
                if f.name == "brands":
                    values[f.name] = parse_brands(raw)
                elif f.type in ("int", "int | None"):
                    values[f.name] = int(raw)
                elif f.type in ("float",):
                    values[f.name] = float(raw)
                else:
                    values[f.name] = raw
            except SettingsError:
                raise
            except ValueError:
                kind = "whole number" if f.type.startswith("int") else "number"
                raise SettingsError(f"{key}={raw!r} is not a {kind}") from None
        _warn_unknown(env, cls.__dataclass_fields__)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.partitions < 1:
            raise SettingsError("VIRALITY_PARTITIONS must be at least 1")
        for host, port in self.broker_addresses:
            if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
                raise SettingsError(f"VIRALITY_BROKER={self.broker!r}: each server must be host:port "
                                    f"(kafka://127.0.0.1:9092), not {host}{'' if port is None else ':' + port}")
        if not MIN_FLUSH_INTERVAL_S <= self.flush_interval_s < self.commit_interval_s:
            raise SettingsError(f"VIRALITY_FLUSH_INTERVAL_S ({self.flush_interval_s}) must be at least "
                                f"{MIN_FLUSH_INTERVAL_S} and below VIRALITY_COMMIT_INTERVAL_S "
                                f"({self.commit_interval_s}), so state is written before the offsets that "
                                "depend on it are committed (and an idle worker does not spin)")
        if not MIN_SESSION_TIMEOUT_S <= self.session_timeout_s <= MAX_SESSION_TIMEOUT_S:
            raise SettingsError(f"VIRALITY_SESSION_TIMEOUT_S ({self.session_timeout_s}) must be between "
                                f"{MIN_SESSION_TIMEOUT_S} (Kafka's default group.min.session.timeout.ms) and "
                                f"{MAX_SESSION_TIMEOUT_S} (the client's request timeout)")
        if not 0 < self.shutdown_timeout_s <= MAX_SHUTDOWN_TIMEOUT_S:
            raise SettingsError(f"VIRALITY_SHUTDOWN_TIMEOUT_S ({self.shutdown_timeout_s}) must be positive and at "
                                f"most {MAX_SHUTDOWN_TIMEOUT_S}: it bounds a graceful stop (0 would make every "
                                "stop a hard exit)")
        if self.gc_gen0 > MAX_GC_GEN0 or (self.analysis_processes or 0) > MAX_ANALYSIS_PROCESSES:
            raise SettingsError(f"VIRALITY_GC_GEN0 must be at most {MAX_GC_GEN0:,} and "
                                f"VIRALITY_ANALYSIS_PROCESSES at most {MAX_ANALYSIS_PROCESSES}")
        self._validate_topics()
        if self.heartbeat_s * 3 > self.session_timeout_s:
            raise SettingsError("VIRALITY_HEARTBEAT_S must be at most a third of VIRALITY_SESSION_TIMEOUT_S")
        if self.expire_s < max(self.lateness_s, self.quiet_s + self.cooldown_s):
            raise SettingsError("VIRALITY_EXPIRE_S must be at least VIRALITY_QUIET_S + VIRALITY_COOLDOWN_S "
                                "(and VIRALITY_LATENESS_S): a cascade must not be forgotten while its late "
                                "events may arrive or while its resolved alert's cooldown runs")
        for name in ("lateness_s", "max_future_s", "cooldown_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"VIRALITY_{name.upper()} must not be negative")
        for name in ("quiet_s", "session_timeout_s", "heartbeat_s", "rebalance_timeout_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"VIRALITY_{name.upper()} must be positive")
        if self.evict_idle_s < 0 or self.maintain_every_s <= 0:
            raise SettingsError("VIRALITY_EVICT_IDLE_S must not be negative and VIRALITY_MAINTAIN_EVERY_S "
                                "must be positive")
        if self.analysis_processes is not None and self.analysis_processes < 0:
            raise SettingsError("VIRALITY_ANALYSIS_PROCESSES must not be negative")
        if self.max_brands < max(1, len(self.brands)):
            raise SettingsError(f"VIRALITY_MAX_BRANDS must be at least 1 and at least the {len(self.brands)} "
                                "configured brands (VIRALITY_BRANDS)")
        if self.gc_gen0 < 0:
            raise SettingsError("VIRALITY_GC_GEN0 must not be negative")
        if self.escalate_final < self.viral_final:
            raise SettingsError("VIRALITY_ESCALATE_FINAL must not be below VIRALITY_VIRAL_FINAL")
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(f"VIRALITY_{name.upper()} must be a finite number, not {value}")
        if not 0 <= self.metrics_port <= 65535:
            raise SettingsError("VIRALITY_METRICS_PORT must be a port number (1-65535), or 0 for no metrics server")
        if self.batch_max < 1 or self.replication < 1:
            raise SettingsError("VIRALITY_BATCH_MAX and VIRALITY_REPLICATION must be at least 1")
        if self.log_level.lower() not in LOG_LEVELS:
            raise SettingsError(f"VIRALITY_LOG_LEVEL={self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        self._validate_kafka_auth()
        if self.changelog_compact_s < MIN_CHANGELOG_COMPACT_S:
            raise SettingsError(f"VIRALITY_CHANGELOG_COMPACT_S ({self.changelog_compact_s}) must be at least "
                                f"{MIN_CHANGELOG_COMPACT_S}: Kafka starts a new changelog segment that often")
        if self.store != "memory://":
            raise SettingsError(f"VIRALITY_STORE={self.store!r}: only memory:// is supported (the worker "
                                "rebuilds its tables from the changelog topics when it starts)")
        try:
            self.chain_config()
        except ValueError as exc:  # the decision's own checks (detectors/virality.py), as settings errors
            raise SettingsError(f"thresholds (VIRALITY_VIRAL_FINAL, VIRALITY_MIN_SHARES, ...): {exc}") from None
