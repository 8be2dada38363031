"""The deploy artefacts, proven rather than only written.

Debian's nginx runs the generated ``deploy/nginx/nginx.conf`` (only its
upstream addresses and listening port changed) in front of two real service
processes, with a real ``redis-server`` where ``redis`` is on: tokens stream
through it as they are made, a WebSocket chat completes, quotas follow the
client address nginx forwards (and are shared by both replicas with Redis),
and a replica stopped mid-stream tells its client while the other serves on.
Maintained linters check the Dockerfile, the workflow, the Dependabot and
compose files and the Kubernetes manifests; the Dockerfile's install steps run
without Docker in a clean folder. Without nginx the proxy test skips with the
reason; ``REQUIRE_NGINX=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from websockets.sync.client import connect

from .conftest import RENDERED, render
from .test_clients import free_port, redis_server, unavailable, wait_for_health

NGINX = os.environ.get("NGINX_PATH", "/usr/sbin/nginx")
PACKAGE = "my_service"
API_KEY = "deploy-test-key"
KEY = {"X-API-Key": API_KEY}
ANONYMOUS_LIMIT = 6
PACE_MS = 40
Services = Callable[[str], tuple[Path, dict[str, str]]]
BIN = Path(sys.executable).parent


@contextmanager
def replica(
    project: Path, env: dict[str, str], log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``serve`` as the container's entrypoint runs it, on a free port."""
    port = free_port()
    python = str(project / ".venv" / "bin" / "python")  # signals reach the service itself
    command = [python, "-m", PACKAGE, "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)


# The generated header timeout, shortened so the test need not wait for it.
HEADER_TIMEOUT = ("client_header_timeout 10s;", "client_header_timeout 1s;")


def proxy_configuration(generated: str, replicas: list[str], port: int) -> str:
    """The generated configuration with the upstream servers, the port and the header
    timeout (``HEADER_TIMEOUT``) replaced."""
    upstream = re.search(r"^(\s*)server api:8000( [^;]*)?;$", generated, re.MULTILINE)
    assert upstream, "deploy/nginx/nginx.conf must name the compose service as its upstream"
    indent, parameters = upstream.group(1), upstream.group(2) or ""
    servers = "\n".join(
        f"{indent}server {url.removeprefix('http://')}{parameters};" for url in replicas
    )
    assert generated.count("listen 80;") == 1
    assert generated.count(HEADER_TIMEOUT[0]) == 1
    return (
        generated.replace(upstream.group(0), servers)
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace(*HEADER_TIMEOUT)
    )


@contextmanager
def nginx(configuration: str, directory: Path, port: int) -> Iterator[str]:
    """Debian's nginx, in the foreground, with this configuration (listening on ``port``)."""
    conf = directory / "nginx.conf"
    conf.write_text(configuration)
    log = directory / "nginx.log"
    directives = f"daemon off; pid {directory / 'nginx.pid'};"
    command = [NGINX, "-p", str(directory), "-c", str(conf), "-e", "stderr", "-g", directives]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def open_sse_streams(replica_url: str) -> float:
    text = httpx.get(f"{replica_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f"{PACKAGE}_open_sse_streams "):
            return float(line.split()[1])
    return 0.0


def stream_lines(http: httpx.Client, max_tokens: int) -> Iterator[tuple[float, str]]:
    """(arrival time, line) of a token stream through the proxy."""
    body = {"prompt": "stream through the proxy", "max_tokens": max_tokens}
    with http.stream("POST", "/api/v1/stream/generate", json=body) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            yield time.monotonic(), line


def check_headers_are_bounded_in_size_and_time(proxy: str) -> None:
    """What uvicorn does not bound, the proxy does, before any replica sees the request."""
    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as oversized:
        header = b"X-Oversized: " + b"a" * 64 * 1024
        oversized.sendall(b"GET /health HTTP/1.1\r\nHost: proxy\r\n" + header + b"\r\n\r\n")
        reply = oversized.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"Request Header Or Cookie Too Large" in reply  # nginx's answer, not a replica's
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: proxy\r\nX-Slow: ")
        started = time.monotonic()
        while slow.recv(4096):  # nginx may say 408 first; then it closes
            pass
        waited = time.monotonic() - started
    assert 0.5 < waited < 8, f"the proxy held unfinished headers for {waited:.1f} s"


def check_tokens_arrive_as_made(proxy: str) -> None:
    with httpx.Client(base_url=proxy, headers=KEY, timeout=30) as http:
        arrivals = [at for at, line in stream_lines(http, 20) if line.startswith("data:")]
    # 20 tokens, one every PACE_MS: a buffering proxy hands them over together.
    assert len(arrivals) >= 20
    assert arrivals[-1] - arrivals[0] >= 15 * PACE_MS / 1000, "tokens arrived in one burst"


def check_chat_through_the_proxy(proxy: str) -> None:
    url = proxy.replace("http://", "ws://") + "/api/v1/ws/chat/through-nginx"
    with connect(url, additional_headers=KEY, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "message", "content": "hello through nginx"}))
        frames: list[dict[str, object]] = []
        while not frames or frames[-1]["type"] != "end":
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] in {"start", "token", "end"}:
                frames.append(frame)
    assert frames[0]["type"] == "start"
    assert [frame["type"] for frame in frames[1:-1]] == ["token"] * (len(frames) - 2)
    assert frames[-1]["finish_reason"] == "stop"


def check_quotas_follow_the_forwarded_client(proxy: str, shared: bool) -> None:
    """Anonymous calls count per client address: nginx forwards it, the service trusts nginx."""

    def client(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=proxy, transport=transport, timeout=10)

    def login(http: httpx.Client, username: str) -> httpx.Response:
        # A new name each time: the per-name login limit must not be what refuses.
        return http.post("/api/v1/auth/token", data={"username": username, "password": "x"})

    with client("127.0.0.2") as first, client("127.0.0.3") as second:
        statuses = [login(first, f"first-{n}").status_code for n in range(14)]
        other_response = login(second, "second")
        other = other_response.status_code
    allowed = [status for status in statuses if status != 429]
    assert statuses[-1] == 429, statuses
    if shared:  # one count in Redis for both replicas: exactly the limit
        assert len(allowed) == ANONYMOUS_LIMIT, statuses
        assert statuses[ANONYMOUS_LIMIT:] == [429] * (14 - ANONYMOUS_LIMIT), statuses
    else:  # a count per replica
        assert ANONYMOUS_LIMIT <= len(allowed) <= 2 * ANONYMOUS_LIMIT, statuses
    assert other != 429, f"the second client must have a quota of its own: {other_response.text}"


def check_a_stopped_replica_tells_its_stream(
    proxy: str, replicas: list[tuple[str, subprocess.Popen[bytes]]]
) -> None:
    with httpx.Client(base_url=proxy, headers=KEY, timeout=30) as http:
        lines = (line for _, line in stream_lines(http, 2000))
        tokens = 0
        while tokens < 2:
            tokens += next(lines).startswith("data:")
        serving = [process for url, process in replicas if open_sse_streams(url) == 1]
        assert len(serving) == 1, "exactly one replica should hold the stream"
        process = serving[0]
        process.send_signal(signal.SIGTERM)
        rest = list(lines)
    events = [line.removeprefix("event:").strip() for line in rest if line.startswith("event:")]
    assert events[-1] == "error", rest[-6:]
    goodbye = next(line for line in reversed(rest) if line.startswith("data:"))
    assert json.loads(goodbye.removeprefix("data:"))["code"] == "server_shutting_down"
    assert process.wait(timeout=15) in (0, -signal.SIGTERM)

    with httpx.Client(base_url=proxy, headers=KEY, timeout=10) as http:
        health = [http.get("/health").status_code for _ in range(4)]
        answers = [
            http.post(
                "/api/v1/generate", json={"prompt": "still here?", "max_tokens": 2}
            ).status_code
            for _ in range(4)
        ]
    assert health == [200] * 4
    assert answers == [200] * 4, "the other replica must keep serving"


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
@pytest.mark.parametrize("name", ["defaults", "every-toggle"])
def test_two_replicas_behind_the_generated_nginx(
    rendered_services: Services, tmp_path: Path, name: str
) -> None:
    if not Path(NGINX).exists():
        unavailable(f"nginx not installed at {NGINX}", "REQUIRE_NGINX")
    project, env = rendered_services(name)
    toggles = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert toggles["jwt"] and toggles["sse"], "the checks below log in and stream"
    env = {
        **env,
        "APP_API_KEYS": f'["{API_KEY}"]',
        "APP_TRUSTED_PROXIES": "127.0.0.1",
        "APP_RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS_LIMIT}/minute",
        "APP_FAKE_LLM_DELAY_MS": str(PACE_MS),
        "APP_SHUTDOWN_TIMEOUT_SECONDS": "1",
    }
    with ExitStack() as stack:
        if toggles["redis"]:
            env["APP_REDIS_URL"] = stack.enter_context(redis_server(tmp_path))
        replicas = [
            stack.enter_context(replica(project, env, tmp_path / f"replica-{n}.log"))
            for n in (1, 2)
        ]
        generated = (project / "deploy" / "nginx" / "nginx.conf").read_text()
        port = free_port()
        configuration = proxy_configuration(generated, [url for url, _ in replicas], port)
        proxy = stack.enter_context(nginx(configuration, tmp_path, port))

        check_headers_are_bounded_in_size_and_time(proxy)
        check_quotas_follow_the_forwarded_client(proxy, shared=toggles["redis"])
        check_tokens_arrive_as_made(proxy)
        if toggles["websocket"]:
            check_chat_through_the_proxy(proxy)
        check_a_stopped_replica_tells_its_stream(proxy, replicas)


def tool(name: str, *args: str, cwd: Path) -> None:
    result = subprocess.run([str(BIN / name), *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{name} {' '.join(args)}:\n{result.stdout}{result.stderr}"


@pytest.mark.xdist_group("rendered-services")
@pytest.mark.parametrize("name", ["defaults", "every-toggle"])
def test_deploy_files_pass_their_linters(rendered_services: Services, name: str) -> None:
    toggles = RENDERED[name]
    project, _ = rendered_services(name)
    tool("hadolint", "Dockerfile", cwd=project)
    schemas = {
        "vendor.github-workflows": ".github/workflows/ci.yml",
        "vendor.dependabot": ".github/dependabot.yml",
        "vendor.compose-spec": "compose.yaml",
    }
    for schema, path in schemas.items():
        tool("check-jsonschema", "--builtin-schema", schema, path, cwd=project)
    # What `kubectl kustomize` builds from this base: its resources, each one validated.
    base = project / "deploy" / "kubernetes"
    resources = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    assert sorted(resources) == sorted(
        path.name for path in base.glob("*.yaml") if path.name != "kustomization.yaml"
    )
    tool("kubernetes-validate", "--strict", *resources, cwd=base)
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert ("redis" in compose["services"]) is bool(toggles.get("redis"))
    assert compose["services"]["api"]["deploy"]["replicas"] == 2


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
def test_the_dockerfile_install_steps_without_docker(
    rendered_services: Services, tmp_path: Path
) -> None:
    """`uv sync --locked --no-dev --no-editable` in a clean copy, then the entrypoint answers."""
    project, env = rendered_services("every-toggle")  # synced, so it has its uv.lock
    env = dict(env)
    # What `docker build` sends: the folder without what .dockerignore names.
    patterns = [
        line.removeprefix("**/").rstrip("/")
        for line in (project / ".dockerignore").read_text().splitlines()
        if line and line[0] not in "#!"
    ]
    image = tmp_path / "app"
    shutil.copytree(project, image, ignore=shutil.ignore_patterns(*patterns))
    assert not (image / ".env").exists() and not (image / ".git").exists()
    assert not (image / ".venv").exists() and (image / "uv.lock").exists()
    # The image also compiles bytecode (UV_COMPILE_BYTECODE); that step is
    # left out here, where it would only cost time.
    env["UV_PROJECT_ENVIRONMENT"] = str(image / ".venv")
    for extra in (["--no-install-project"], ["--no-editable"]):
        subprocess.run(
            ["uv", "sync", "--quiet", "--locked", "--no-dev", "--extra", "tracing", *extra],
            cwd=image,
            env=env,
            check=True,
            timeout=600,
        )
    installed = subprocess.run(
        [str(image / ".venv" / "bin" / "python"), "-c", "import pytest"], capture_output=True
    )
    assert installed.returncode != 0, "the image must not carry dev dependencies"
    port = free_port()
    entrypoint = [str(image / ".venv" / "bin" / "my-service"), "serve", "--port", str(port)]
    log = tmp_path / "entrypoint.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            entrypoint, cwd=tmp_path, env={**env, "APP_ENV": "test"}, stdout=output, stderr=output
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)


def test_the_image_builds_and_answers_where_docker_runs(
    template_repo: Path, tmp_path: Path
) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker daemon here; the Dockerfile's steps are run without it above")
    project = render(template_repo, tmp_path / "service")
    subprocess.run(["uv", "lock", "--quiet"], cwd=project, check=True, timeout=300)
    tag = f"copier-fastapi-streaming-test:{os.getpid()}"
    subprocess.run([docker, "build", "-t", tag, "."], cwd=project, check=True, timeout=1200)
    port = free_port()
    container = subprocess.run(
        [docker, "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8000", "--env-file", ".env", tag],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the container never answered /health"
            time.sleep(0.2)
    finally:
        subprocess.run([docker, "stop", container], capture_output=True)
