"""The Dagster UI: the webserver serves the code location with PostgreSQL storage, its GraphQL
API lists every asset and check, and a headless Chromium renders the asset graph page."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from synth_pipeline.definitions import defs
from synth_pipeline.infra.dagster_home import prepare_dagster_home
from synth_pipeline.paths import PROJECT_ROOT
from synth_pipeline_tests.helpers import free_port

ARTIFACTS = PROJECT_ROOT / ".synth" / "test-artifacts"
ASSETS_QUERY = """
{ assetNodes { assetKey { path } groupName
    assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } } } }
"""


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload.get("errors")
    return payload["data"]


@contextmanager
def _serving(argv: list[str], *, cwd: Path, env: dict, log: Path, ready: Callable[[], bool], timeout_s: float,
             poll_s: float, not_ready: str, stop_wait_s: float) -> Iterator[subprocess.Popen]:
    """Start `argv` (output to `log`, own process group), poll until `ready()` (connection errors
    count as not yet), fail with `not_ready` and the log's tail if it exits or `timeout_s` passes;
    afterwards SIGTERM the group, SIGKILL it if still there after `stop_wait_s`."""
    with open(log, "wb") as handle:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if ready():
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{not_ready}: {log.read_text()[-2000:]}")
            time.sleep(poll_s)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(stop_wait_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def webserver(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory):
    env = prepare_dagster_home(pg_admin_dsn, tmp_path_factory.mktemp("dagster_home"), database="dagster_ui_test")
    port = free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    binary = Path(sys.executable).with_name("dagster-webserver")

    def ready() -> bool:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
        return True

    with _serving([str(binary), "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                  cwd=PROJECT_ROOT, env=env, log=log, ready=ready, timeout_s=120, poll_s=0.5,
                  not_ready="dagster-webserver did not start", stop_wait_s=20):
        yield port


def _expected_assets() -> set[tuple[str, ...]]:
    repo = defs.get_repository_def()
    return {tuple(key.path) for key in repo.asset_graph.get_all_asset_keys()}


def _expected_checks() -> set[str]:
    repo = defs.get_repository_def()
    return {key.name for key in repo.asset_graph.asset_check_keys}


def test_graphql_lists_every_asset_and_check(webserver: int) -> None:
    data = _graphql(webserver, ASSETS_QUERY)
    served_assets = {tuple(node["assetKey"]["path"]) for node in data["assetNodes"]}
    served_checks = {
        check["name"]
        for node in data["assetNodes"]
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
    }
    assert served_assets == _expected_assets()
    assert served_checks == _expected_checks()


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # Test setup installs Debian's chromium when missing (CI runs as root with the Debian registry).
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       capture_output=True, timeout=900)
    return shutil.which("chromium")


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--virtual-time-budget=25000", "--window-size=1600,1000",
]


def _render(chromium: str, profile: Path, url: str, screenshot: Path | None = None) -> str:
    args = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    if screenshot is not None:
        subprocess.run([*args, f"--screenshot={screenshot}", url], capture_output=True, timeout=180, check=True)
    return dom.stdout


def test_asset_graph_page_renders_in_chromium(webserver: int, tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed and could not be installed (apt-get unavailable)")
    # The first visit from localhost shows a community sign-up dialog over the graph; mark it seen.
    _graphql(webserver, "mutation { setNuxSeen }")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "asset-graph.png"
    # The global lineage draws every asset of the pipeline's one group, by name ...
    graph_dom = _render(chromium, tmp_path / "profile", f"http://127.0.0.1:{webserver}/asset-groups", shot)
    (ARTIFACTS / "asset-graph.html").write_text(graph_dom)
    assert _expected_assets(), "the code location defines no assets"
    # Asset names also appear in the sidebar's tree, so look for the graph's own nodes: each is an
    # SVG foreignObject holding an AssetNode whose name element carries the asset's name.
    drawn = set(re.findall(r'class="AssetNode_assetName[^"]*">([a-z_]+)<', graph_dom))
    assert drawn == {path[-1] for path in _expected_assets()}, "the lineage graph did not draw every asset node"
    assert graph_dom.count("<foreignObject") >= len(_expected_assets())
    assert shot.exists() and shot.stat().st_size > 10_000
    # ... and the catalog lists them too.
    catalog_dom = _render(chromium, tmp_path / "profile", f"http://127.0.0.1:{webserver}/assets")
    for path in _expected_assets():
        assert path[-1] in catalog_dom, f"asset {path[-1]} not rendered in the asset catalog"


DAEMON_QUERY = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"


def test_make_ui_runs_dagster_dev_with_webserver_and_daemon(pg_admin_dsn: str, tmp_path: Path) -> None:
    """`make ui` is `synth-pipeline ui`: dagster dev (webserver + daemon) on PostgreSQL storage."""
    port = free_port()
    env = {**os.environ, "SYNTH_DATABASE_URL": pg_admin_dsn, "SYNTH_STATE_DIR": str(tmp_path / "state")}
    binary = Path(sys.executable).with_name("synth-pipeline")

    def sensor_daemon_healthy() -> bool:
        statuses = _graphql(port, DAEMON_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
        sensor = next((s for s in statuses if s["daemonType"] == "SENSOR"), None)
        return bool(sensor and sensor["healthy"])

    with _serving([str(binary), "ui", "--port", str(port)], cwd=tmp_path, env=env, log=tmp_path / "ui.log",
                  ready=sensor_daemon_healthy, timeout_s=180, poll_s=1,
                  not_ready="synth-pipeline ui did not bring up a healthy sensor daemon", stop_wait_s=30):
        served = {tuple(node["assetKey"]["path"]) for node in _graphql(port, ASSETS_QUERY)["assetNodes"]}
        assert served == _expected_assets()
        assert (tmp_path / "state" / "dagster_home" / "dagster.yaml").exists(), "DAGSTER_HOME under the state directory"
