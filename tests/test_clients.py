"""Clients nobody here wrote, against a rendered service started as `serve` would be.

Run once, not per combination: the wire formats they check belong to
capabilities every combination with ``sse`` renders from the same files,
which each combination's own suite drives with the official Python client.
Without ``node`` and ``npm`` these tests skip with the reason;
``REQUIRE_NODE=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError

import pytest

from .conftest import render, worker_environment

NODE_CLIENTS = Path(__file__).parent / "node"
API_KEY = "node-client-key"


def require(*programs: str) -> None:
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed"
        if os.environ.get("REQUIRE_NODE") == "1":
            pytest.fail(f"{reason}, and REQUIRE_NODE=1", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def node_packages() -> Path:
    """The pinned npm packages of tests/node, installed from its lock file."""
    require("node", "npm")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_CLIENTS,
        check=True,
        timeout=300,
    )
    return NODE_CLIENTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def service_url(
    template_repo: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
) -> Iterator[str]:
    """A service rendered with the defaults, started with `serve` and an API key."""
    project = render(template_repo, tmp_path / "service")
    env = worker_environment(tmp_path_factory, worker_id)
    subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True, timeout=600)
    port = free_port()
    env = {**env, "APP_API_KEYS": f'["{API_KEY}"]', "APP_FAKE_LLM_DELAY_MS": "1"}
    process = subprocess.Popen(
        ["uv", "run", "--no-sync", "my-service", "serve", "--port", str(port)],
        cwd=project,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the service exited before answering"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except (URLError, OSError):
                pass
            assert time.monotonic() < deadline, "the service did not answer /health"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_official_openai_javascript_client(node_packages: Path, service_url: str) -> None:
    result = subprocess.run(
        ["node", "openai_client.mjs", f"{service_url}/v1", API_KEY],
        cwd=node_packages,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
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
