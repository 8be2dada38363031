"""Clients nobody here wrote, and real processes, against rendered services.

Run once, not per combination: the wire formats they check belong to
capabilities every combination with ``sse`` renders from the same files,
which each combination's own suite drives with the official Python client.
Without ``node`` and ``npm`` these tests skip with the reason;
``REQUIRE_NODE=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.error import URLError

import pytest

NODE_CLIENTS = Path(__file__).parent / "node"
API_KEY = "node-client-key"
# Screenshots of the demo page, kept after the run (git-ignored).
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def unavailable(reason: str, required_by: str) -> None:
    """Skip with ``reason``; fail instead where CI sets ``required_by`` to 1."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{reason}, and {required_by}=1", pytrace=False)
    pytest.skip(reason)


def require(*programs: str) -> None:
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed", "REQUIRE_NODE")


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not installed at {CHROMIUM}", "REQUIRE_BROWSER")


@pytest.fixture(scope="module")
def node_packages() -> Path:
    """The pinned npm packages of tests/node, installed from its lock file.

    Installed once for all xdist workers: the first takes a file lock and runs
    ``npm ci`` (which empties ``node_modules`` first), the others wait for it
    and find the lock file's digest recorded beside the packages.
    """
    require("node", "npm")
    digest = hashlib.sha256((NODE_CLIENTS / "package-lock.json").read_bytes()).hexdigest()
    marker = NODE_CLIENTS / "node_modules" / ".installed-from"
    with (NODE_CLIENTS / ".install-lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text() != digest:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_CLIENTS,
                check=True,
                timeout=300,
            )
            marker.write_text(digest)
    return NODE_CLIENTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def rendered_defaults(
    rendered_services: Callable[[str], tuple[Path, dict[str, str]]],
) -> tuple[Path, dict[str, str]]:
    """A service rendered with the defaults."""
    return rendered_services("defaults")


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Poll ``url``/health until it answers 200; fail (with ``log``) if the process exits first."""

    def output() -> str:
        return f":\n{log.read_text()}" if log is not None else ""

    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"{url} exited before answering{output()}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        assert time.monotonic() < deadline, f"{url} never answered /health{output()}"
        time.sleep(0.05)


@contextmanager
def running(command: list[str], project: Path, env: dict[str, str], port: int) -> Iterator[str]:
    """Start ``command`` in the project; yield its URL once /health answers; stop it."""
    process = subprocess.Popen(command, cwd=project, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def fake_service(project: Path, env: dict[str, str]) -> Iterator[str]:
    """The rendered app behind ``tests/node/fake_service.py``: a fake Node tests can script."""
    port = free_port()
    helper = str(NODE_CLIENTS / "fake_service.py")
    command = ["uv", "run", "--no-sync", "python", helper, "my_service", str(port), API_KEY]
    with running(command, project, env, port) as url:
        yield url


def run_node(script: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", script, *args], cwd=NODE_CLIENTS, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
def test_the_official_openai_javascript_client(
    node_packages: Path, rendered_defaults: tuple[Path, dict[str, str]]
) -> None:
    """Against `serve` itself, as a user runs it."""
    project, env = rendered_defaults
    port = free_port()
    env = {**env, "APP_API_KEYS": f'["{API_KEY}"]', "APP_FAKE_LLM_DELAY_MS": "1"}
    command = ["uv", "run", "--no-sync", "my-service", "serve", "--port", str(port)]
    with running(command, project, env, port) as url:
        report = run_node("openai_client.mjs", f"{url}/v1", API_KEY)
    assert report["ids"] == 1
    assert report["firstRole"] == "assistant"
    assert report["content"]
    assert report["finishReasons"] == ["stop"]
    words = len(report["content"].split())
    assert report["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": words,
        "total_tokens": 4 + words,
    }
    assert report["wholeContent"] == report["content"]
    assert report["badRequest"] == {"isBadRequest": True, "status": 400, "param": "n"}
    assert report["unauthorized"] == {"isAuthentication": True, "status": 401}


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
def test_the_ai_sdk_chat_transport(
    node_packages: Path, rendered_defaults: tuple[Path, dict[str, str]]
) -> None:
    """The `ai` package's DefaultChatTransport and readUIMessageStream, unchanged."""
    with fake_service(*rendered_defaults) as url:
        report = run_node("ai_sdk_client.mjs", url, API_KEY)

    assert report["role"] == "assistant"
    assert report["text"] == "Hello from the fake"
    assert report["snapshots"] > 1, "the SDK should see the message grow token by token"
    assert report["metadata"] == {
        "usage": {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    }
    assert report["error"] == {
        "isError": True,
        "message": "The language model is unavailable; try again later.",
    }
    counters = report["afterAbort"]
    assert counters["active_streams"] == 0
    assert counters["streams_closed_early"] == 2  # the failed answer and the aborted one
    assert counters["tokens_produced"] < 5000 + 5
    assert report["refused"] == "unauthorized"
    assert report["idleResume"] is None
    assert report["resumedText"] == "Resumed in full"


@contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    """The URL of a redis-server of this test's own, for the combinations with `redis`."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server not installed", "REQUIRE_REDIS")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(params=["defaults", "every-toggle"])
def demo_service(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    rendered_services: Callable[[str], tuple[Path, dict[str, str]]],
) -> Iterator[tuple[str, str, Path]]:
    """(name, URL, project) of a running demo service: defaults, or every toggle on."""
    with ExitStack() as stack:
        project, env = rendered_services(request.param)
        if request.param == "every-toggle":
            env = {**env, "APP_REDIS_URL": stack.enter_context(redis_server(tmp_path))}
        url = stack.enter_context(fake_service(project, env))
        yield request.param, url, project


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
def test_the_demo_page_in_chromium(
    node_packages: Path, demo_service: tuple[str, str, Path]
) -> None:
    """Each transport the page offers: tokens paint one by one, cancel stops, turns remember;
    a resumable answer whose connection is cut halfway is resumed with ``Last-Event-ID``."""
    require_browser()
    name, url, project = demo_service
    screenshots = ARTIFACTS / f"demo-page-{name}"
    screenshots.mkdir(parents=True, exist_ok=True)
    report = run_node("demo_page.mjs", url, API_KEY, str(screenshots / "demo.png"))

    assert report["errors"] == []
    assert report["loggedIn"] is True  # both renderings have `jwt`: the login form is used
    has_websocket = (project / "src" / "my_service" / "chat").is_dir()
    expected = ["sse", "websocket"] if has_websocket else ["sse"]
    assert sorted(report["transports"]) == expected
    for transport, seen in report["transports"].items():
        first, second, cancelled = seen["first"], seen["second"], seen["cancelled"]
        assert first["text"] == "[user] first question ", transport
        assert first["state"] == "stop", transport
        assert first["paints"] > 1, f"{transport}: tokens should paint one by one"
        assert int(first["ttft"]) >= 0
        assert second["text"] == (
            "[user] first question [assistant] [user] first question [user] second question "
        ), transport
        assert cancelled["state"] == "cancelled", transport
        assert 2 <= cancelled["tokens"] < 2000, transport
    resumed = report["resumed"]
    assert resumed["resumes"] >= 1, "the cut should have made the page resume"
    assert resumed["state"] == "stop"
    assert resumed["text"] == resumed["expected"], "a token was lost or repeated across the cut"
    assert resumed["tokens"] == len(resumed["expected"].split())
    # What the browser said about it: the cut stream's failure, nothing else.
    assert resumed["errors"], "Chromium should have seen the connection fail"
    assert all("net::ERR_" in error for error in resumed["errors"]), resumed["errors"]
    assert report["counters"]["active_streams"] == 0
    for transport in expected:
        assert (screenshots / f"demo-{transport}.png").stat().st_size > 0


def scrape_counter(url: str, name: str, labels: str) -> float:
    """One sample of a scrape of ``url``/metrics, 0 when absent."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def pids_writing(directory: Path, kind: str) -> set[str]:
    """Processes that have written metric files of ``kind`` (``counter``, ``gauge``...)."""
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob(f"{kind}_*.db")}


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
def test_two_workers_add_up_their_metrics(
    rendered_defaults: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """`serve --workers 2`: every scrape, whichever worker answers, counts every request."""
    project, env = rendered_defaults
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # emptied at start
    env = {
        **env,
        "APP_API_KEYS": f'["{API_KEY}"]',
        "APP_FAKE_LLM_DELAY_MS": "5",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }

    def generate(_: int) -> int:
        request = urllib.request.Request(
            f"{url}/api/v1/generate",
            data=b'{"prompt": "count me"}',
            headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    command = ["uv", "run", "--no-sync", "my-service", "serve", "--workers", "2"]
    with running([*command, "--port", str(port)], project, env, port) as url:
        deadline = time.monotonic() + 30
        while len(pids_writing(metrics_dir, "gauge")) < 2:  # both workers built their app
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        sent = 0
        # Concurrent requests, until both workers have served some: the kernel
        # hands each new connection to whichever worker accepts first.
        with ThreadPoolExecutor(max_workers=10) as pool:
            while len(pids_writing(metrics_dir, "counter")) < 2 and sent < 400:
                assert set(pool.map(generate, range(20))) == {200}
                sent += 20
        labels = 'method="POST",route="/api/v1/generate",status="200"'
        counts = [scrape_counter(url, "my_service_http_requests_total", labels) for _ in range(8)]
        counting = pids_writing(metrics_dir, "counter")

    assert len(counting) == 2, f"both workers should have served requests: {counting}"
    assert counts == [float(sent)] * 8
    assert "1" not in counting  # the stale file was removed at start
