"""docker-compose.yml cannot run here (no Docker engine); check everything it refers to exists."""

from __future__ import annotations

import re

import yaml

from synth_pipeline.paths import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_present_and_wired() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "code", "webserver", "daemon"}
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
    for name in ("code", "webserver", "daemon"):
        env = services[name]["environment"]
        assert env["DAGSTER_PG_URL"].startswith("postgresql+psycopg2://"), "psycopg2 driver (DESIGN.md section 3)"
        assert "@postgres:5432/" in env["DAGSTER_PG_URL"]
        assert env["DAGSTER_HOME"]


def test_build_context_and_files_exist() -> None:
    code = _compose()["services"]["code"]
    context = PROJECT_ROOT / code["build"]["context"]
    dockerfile = context / code["build"]["dockerfile"]
    assert dockerfile.exists()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (context / source).exists(), f"Dockerfile copies missing {source}"
    # Images used by webserver/daemon are the one the code service builds.
    services = _compose()["services"]
    assert services["webserver"]["image"] == services["daemon"]["image"] == code["image"]
    workspace = yaml.safe_load((PROJECT_ROOT / "docker" / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert grpc["host"] == "code" and str(grpc["port"]) in " ".join(code["expose"])


def test_ports_are_bound_to_loopback_and_distinct() -> None:
    ports = [p for s in _compose()["services"].values() for p in s.get("ports", [])]
    assert ports, "webserver and postgres publish ports"
    host_ports = [p.split(":")[1] for p in ports]
    assert len(set(host_ports)) == len(host_ports)
    assert all(p.startswith("127.0.0.1:") for p in ports)


def test_env_vars_referenced_have_defaults() -> None:
    text = COMPOSE.read_text()
    for match in re.finditer(r"\$\{([A-Z_]+)([^}]*)\}", text):
        assert match.group(2).startswith(":-"), f"${{{match.group(1)}}} needs a default"


def test_dagster_yaml_uses_env_storage_and_no_telemetry() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    assert config["telemetry"]["enabled"] is False
