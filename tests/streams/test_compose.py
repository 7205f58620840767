"""docker-compose.yml and the Dockerfile, checked statically (there is no Docker engine in CI).

The checks catch what breaks `docker compose up` or silently disconnects the stack: a missing
bind-mounted file, a service name that Prometheus or Grafana cannot resolve, a worker pointed
at the wrong broker, a service without a healthcheck that others wait on.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _defaults(text: str) -> str:
    """Compose interpolation with every variable unset: ${X:-default} -> default."""
    return _VAR.sub(lambda m: m.group(2) or "", text)


def _volumes(service: dict) -> list[tuple[str, str]]:
    """(source, target) for each volume, short or long syntax."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out.append((v.get("source", ""), v["target"]))
        else:
            parts = _defaults(v).split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: _defaults(str(v)) for k, v in env.items()}


def test_every_service_has_an_image_or_a_build_with_a_dockerfile(services):
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        if "build" in svc:
            build = svc["build"]
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), f"{name}: {context / dockerfile} missing"


def test_bind_mounts_exist_and_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source, target in _volumes(svc):
            assert target.startswith("/"), f"{name}: {target}"
            if source.startswith((".", "/")):
                path = (ROOT / source).resolve()
                assert path.exists(), f"{name}: bind mount {source} does not exist"
                assert ROOT in path.parents or path == ROOT, f"{name}: {source} is outside the repository"
            elif source:
                assert source in declared, f"{name}: volume {source} not declared"


def test_ports_are_well_formed_and_unique(services):
    seen = {}
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert isinstance(port, str), f"{name}: quote ports ({port!r}); YAML reads 9090:9090 oddly"
            m = re.fullmatch(r"(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(/tcp|/udp)?", port)
            assert m, f"{name}: malformed port {port!r}"
            host, container = int(m.group(2)), int(m.group(3))
            assert 0 < host < 65536 and 0 < container < 65536, port
            assert host not in seen, f"host port {host} used by {seen.get(host)} and {name}"
            seen[host] = name


def test_published_ports_listen_on_loopback_only(services):
    # Kafka in plain text, Prometheus with --web.enable-lifecycle (POST /-/quit) and Grafana with
    # admin/admin were published on every interface of the host
    published = [(name, p) for name, svc in services.items() for p in svc.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for _, p in published), published


@pytest.mark.parametrize("name", ["kafka", "worker", "prometheus", "alertmanager", "grafana"])
def test_long_running_services_have_healthchecks(services, name):
    check = services[name].get("healthcheck", {})
    assert check.get("test"), f"{name} has no healthcheck"
    assert not check.get("disable"), name


def test_depends_on_waits_for_health_or_completion(services):
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if spec.get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep}'s health, which has no check"


def test_kafka_runs_kraft_and_the_worker_uses_its_internal_listener(services):
    kafka = _env(services["kafka"])
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"] and "broker" in kafka["KAFKA_PROCESS_ROLES"]
    assert "ZOOKEEPER" not in " ".join(kafka)
    advertised = dict(re.findall(r"(\w+)://([\w.-]+:\d+)", kafka["KAFKA_ADVERTISED_LISTENERS"]))
    internal = advertised[kafka["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert internal.startswith("kafka:"), internal
    for name in ("worker", "replayer", "kafka-init"):
        env = _env(services[name])
        brokers = [v for k, v in env.items() if "BROKER" in k or "BOOTSTRAP" in k]
        assert brokers, f"{name}: no broker setting in {sorted(env)}"
        assert all(internal in b for b in brokers), f"{name}: {brokers} does not point at {internal}"
        if name != "kafka-init":
            deps = services[name].get("depends_on", {})
            assert deps.get("kafka-init", {}).get("condition") == "service_completed_successfully", name


def test_topics_are_created_once_by_the_worker_image_with_the_workers_settings(services):
    # kafka-init runs `virality topics` (streams/topics.py) from the worker's image and with the
    # worker's environment: one place for partition counts and retention, and no way for the
    # topics' partition count to differ from the worker's
    init, worker = services["kafka-init"], services["worker"]
    assert init["command"] == ["topics"] and init.get("image") == worker.get("image")
    assert _env(init) == _env(worker)
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert init.get("restart") == "no"
    from streams.cli import build_parser

    assert build_parser().parse_args(["topics"]).command == "topics"


def test_settings_passed_through_are_read_by_the_worker(services):
    # every VIRALITY_ variable in the stack is one streams/settings.py reads, and an unset one
    # (empty) leaves the worker at its default
    from streams.settings import Settings

    env = _env(services["worker"])
    known = {"VIRALITY_" + f.upper() for f in Settings.__dataclass_fields__}
    assert {k for k in env if k.startswith("VIRALITY_")} <= known, sorted(set(env) - known)
    assert "VIRALITY_BRANDS" in env and env["VIRALITY_BRANDS"] == ""
    assert Settings.from_env(env).brands == {} and Settings.from_env(env).partitions == 6


def test_replayer_is_optional(services):
    assert services["replayer"].get("profiles") == ["replay"]
    for name, svc in services.items():
        if name != "replayer":
            assert not svc.get("profiles"), f"{name} should start by default"


def test_worker_runs_virality_worker_from_the_dockerfile(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"^COPY pyproject\.toml\b", dockerfile, re.M)
    assert re.search(r"pip (install|wheel)[^\n]* \.\s*$", dockerfile, re.M), "does not pip-install the project"
    assert re.search(r'^ENTRYPOINT \["virality"\]', dockerfile, re.M)
    assert re.search(r'^CMD \["worker"\]', dockerfile, re.M)
    assert services["worker"].get("command", ["worker"]) == ["worker"]
    # the Dockerfile copies only existing paths
    for src in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
        assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    # the image's entry point is the project's console script
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("scripts", {})
    assert "virality" in scripts, "pyproject.toml declares no `virality` console script"


def test_prometheus_alertmanager_and_grafana_find_each_other(services):
    prom = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    targets = {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]] for job in prom["scrape_configs"]}
    port = _env(services["worker"])["VIRALITY_METRICS_PORT"]
    assert targets["virality"] == [f"worker:{port}"]
    assert any(p.endswith(f":{port}") for p in services["worker"]["ports"])
    am = [t for a in prom["alerting"]["alertmanagers"] for sc in a["static_configs"] for t in sc["targets"]]
    assert am == ["alertmanager:9093"]
    # Prometheus mounts its config and rules where prometheus.yml's relative rule_files resolve
    mounts = dict((t, s) for s, t in _volumes(services["prometheus"]))
    assert mounts["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    assert prom["rule_files"] == ["rules/*.yml"] and mounts["/etc/prometheus/rules"] == "./prometheus/rules"
    am_mounts = dict((t, s) for s, t in _volumes(services["alertmanager"]))
    assert am_mounts["/etc/alertmanager/alertmanager.yml"] == "./prometheus/alertmanager.yml"
    # Grafana: the datasource URL names the prometheus service; dashboards are where the provider looks
    ds = yaml.safe_load((ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert ds["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/dashboards.yml").read_text())["providers"][0]
    gf_mounts = dict((t, s) for s, t in _volumes(services["grafana"]))
    assert gf_mounts[provider["options"]["path"]] == "./grafana/dashboards"
    assert gf_mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    # alert annotations link to the Grafana published on the host
    grafana_url = prom["global"]["external_labels"]["grafana_url"]
    assert any(grafana_url.endswith(":" + p.split(":")[-2]) for p in services["grafana"]["ports"])


def test_each_image_is_built_by_one_service(services):
    # Compose builds services in parallel (buildx bake); two builds exporting one tag fail on a
    # fresh machine ("image ... already exists"), so the others only name the image
    builders: dict[str, list[str]] = {}
    for name, svc in services.items():
        if "build" in svc:
            builders.setdefault(svc.get("image", name), []).append(name)
    assert all(len(names) == 1 for names in builders.values()), builders
    built = set(builders)
    for name, svc in services.items():
        if svc.get("image", "").startswith("virality"):
            assert svc["image"] in built, f"{name} uses {svc['image']}, which no service builds"


def test_the_stack_runs_the_kafka_release_the_tests_run(compose):
    """The compose broker and the tests' broker (scripts/kafka, from Maven Central) are one release."""
    pom = (ROOT / "scripts" / "kafka-pom.xml").read_text()
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_the_image_healthcheck_asks_the_worker_s_own_metrics_port(tmp_path):
    """It asked 9108 whatever VIRALITY_METRICS_PORT said: a worker on another port was unhealthy for ever."""
    import json
    import os
    import socket
    import subprocess
    import sys

    from prometheus_client import CollectorRegistry, start_http_server

    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", dockerfile).group(1))
    assert cmd[0] == "python"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, thread = start_http_server(port, addr="127.0.0.1", registry=CollectorRegistry())
    try:
        def check(metrics_port):
            env = {"PATH": os.environ.get("PATH", "")}
            if metrics_port is not None:
                env["VIRALITY_METRICS_PORT"] = str(metrics_port)
            return subprocess.run([sys.executable, *cmd[1:]], env=env, capture_output=True, timeout=30).returncode
        assert check(port) == 0
        assert check(0) == 0                   # no metrics server: nothing to ask
    finally:
        server.shutdown()
        server.server_close()
    assert check(port) != 0                    # nothing answers there now


def test_docker_waits_longer_for_a_stop_than_the_worker_takes(services):
    """Docker's default grace of 10 s killed a worker whose stop takes longer: one waiting 5 s for
    an unreachable broker and then writing out, or one whose VIRALITY_SHUTDOWN_TIMEOUT_S is raised."""
    from streams.settings import Settings

    grace = services["worker"].get("stop_grace_period", "10s")
    m = re.fullmatch(r"(\d+)s", str(grace))
    assert m, f"stop_grace_period {grace!r}: write it in seconds"
    assert int(m.group(1)) > Settings().shutdown_timeout_s
