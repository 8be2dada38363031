"""Benchmark the generated service against bare FastAPI, raw ASGI and plain streaming, in one run.

    uv run python bench/run.py            # every scenario the rendered tree supports
    uv run python bench/run.py --quick    # smoke run: short loads, one repetition

Renders the working tree (all toggles on, and the defaults) with
``scripts/render.sh``, syncs each rendered project, then for each scenario
starts every candidate under uvicorn (one worker, uvloop, httptools, no access
log) pinned to one core, drives load from another process pinned to the other
core (wrk when installed, else ``bench/loadgen.py``), and interleaves the
candidates over several repetitions, each with freshly started servers. Every
figure is a ratio against a baseline measured in the same run: the machine is
shared and noisy, absolute numbers are not comparable between runs. Besides
throughput it reads the server's CPU time per unit of work
(``/proc/<pid>/stat``, steadier than throughput) and its peak RSS (``VmHWM``).
The start-up scenario times each server, started the same way, from process
start to its first 200 on ``GET /health``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    callgrind_instructions,
    cpu_ticks_from_stat,
    fmt,
    http_status,
    interleaved,
    median,
    parse_wrk,
    ratio,
    render_table,
    status_kib,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
APPS = BENCH / "apps"
RESULTS = BENCH / "results"
RENDERS = Path(tempfile.gettempdir()) / "copier-fastapi-streaming-bench"
TICKS = os.sysconf("SC_CLK_TCK")

# Quotas far above anything one core can serve, on a one-second window: the
# in-memory moving window keeps one entry per hit inside the window, so a
# "per minute" quota this large would measure a list of a million timestamps
# rather than the limiter a real deployment runs.
HIGH_LIMIT = "10000000/second"
PROMPT = "Explain server-sent events in one sentence."


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the machine ---------------------------------------------------------------


@dataclass(frozen=True)
class Cores:
    """Which core serves and which drives load; None where pinning is impossible."""

    server: int | None
    load: int | None

    @staticmethod
    def detect() -> Cores:
        try:
            cores = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            return Cores(None, None)
        return Cores(cores[0], cores[1]) if len(cores) >= 2 else Cores(None, None)


def pinned(core: int | None) -> Callable[[], None] | None:
    """A pre-exec hook that pins the child (and every thread it starts) to ``core``."""
    if core is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {core})
        os.setpgrp()  # its own group, so a Ctrl-C here does not kill it mid-report

    return pin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


# --- rendered projects -----------------------------------------------------------


@dataclass
class Project:
    """A project rendered from the working tree, synced, ready to run."""

    name: str
    path: Path
    package: str
    slug: str
    toggles: dict[str, bool]

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"

    def has_route(self, path: str) -> bool:
        """Whether the rendered code serves ``path`` (capabilities land over time)."""
        source = self.path / "src" / self.package
        return any(path in f.read_text() for f in source.rglob("*.py"))

    def has_module(self, relative: str) -> bool:
        return (self.path / "src" / self.package / relative).exists()


def render(name: str, toggles: dict[str, bool], template: Path) -> Project:
    # One folder per checkout, so benchmarks of two branches can run side by side.
    dest = RENDERS / f"{template.name}-{name}"
    data = [arg for k, v in toggles.items() for arg in ("--data", f"{k}={str(v).lower()}")]
    log(f"render {name}: {' '.join(data) or 'defaults'}")
    subprocess.run([str(template / "scripts" / "render.sh"), str(dest), *data], check=True)
    # The environment the Dockerfile builds: no development tools (some of them
    # install packages that the service's libraries import whenever present).
    subprocess.run(
        ["uv", "sync", "-q", "--no-dev", "--extra", "tracing"],
        cwd=dest,
        check=True,
        env=child_env({}),
    )
    answers = (dest / ".copier-answers.yml").read_text()

    def answer(key: str) -> str:
        match = re.search(rf"^{key}:\s*['\"]?([^'\"\n]+)", answers, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"{key} missing from the answers file")
        return match.group(1).strip()

    rendered = {k: answer(k) == "true" for k in ("sse", "websocket", "graphql", "redis", "jwt")}
    return Project(name, dest, answer("package_name"), answer("project_slug"), rendered)


# --- servers ---------------------------------------------------------------------


@dataclass
class Server:
    """One uvicorn process serving one app, pinned to the server core."""

    project: Project
    app: str
    env: dict[str, str]
    cores: Cores
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    spawned_at: float = 0.0  # perf_counter just before the process was started

    def command(self) -> list[str]:
        return [
            str(self.project.python),
            "-m",
            "uvicorn",
            self.app,
            "--app-dir",
            str(APPS),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]

    def environment(self) -> dict[str, str]:
        return child_env({"BENCH_PACKAGE": self.project.package, **self.env})

    def spawn(self) -> None:
        """Start the process without waiting for it: the start-up scenario times that wait."""
        self.port = free_port()
        env = self.environment()
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.project.path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # logs are part of the stack measured, then dropped
            preexec_fn=pinned(self.cores.server),
        )

    def start(self) -> None:
        self.spawn()
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.app} did not start:\n{self.startup_error()}")

    def startup_error(self) -> str:
        """Run the same command again with its output captured, to say why it failed."""
        try:
            done = subprocess.run(
                self.command(),
                cwd=self.project.path,
                env=self.environment(),
                capture_output=True,
                timeout=15,
            )
            output = (done.stdout + done.stderr).decode(errors="replace")
        except subprocess.TimeoutExpired as exc:
            output = ((exc.stdout or b"") + (exc.stderr or b"")).decode(errors="replace")
        return "\n".join(output.splitlines()[-25:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _proc(self, name: str) -> str:
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/{name}").read_text()

    def cpu_seconds(self) -> float:
        return cpu_ticks_from_stat(self._proc("stat")) / TICKS

    def kib(self, field: str) -> int:
        return status_kib(self._proc("status"), field)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


# --- load ------------------------------------------------------------------------


@dataclass
class Load:
    """How one scenario drives a server; ``unit`` is what its rate counts."""

    mode: str  # http | sse | ws
    path: str
    unit: str
    connections: int
    body: str = "{}"
    expect_tokens: int = 0

    def run(
        self, server: Server, headers: list[str], duration: float, cores: Cores, wrk: bool
    ) -> dict[str, Any]:
        """Drive ``server`` for ``duration`` seconds; return units done and anything wrong."""
        if self.mode == "http" and wrk:
            return self._wrk(server, headers, duration, cores)
        command = [
            str(server.project.python),
            str(BENCH / "loadgen.py"),
            self.mode,
            "--port",
            str(server.port),
            "--path",
            self.path,
            "--body",
            self.body,
            "--connections",
            str(self.connections),
            "--duration",
            str(duration),
            "--expect-tokens",
            str(self.expect_tokens),
        ]
        for header in headers:
            command += ["--header", header]
        done = subprocess.run(
            command,
            capture_output=True,
            check=True,
            preexec_fn=pinned(cores.load),
            env=child_env({}),
            timeout=duration + 120,
        )
        report = json.loads(done.stdout)
        counts: dict[str, int] = report["counts"]
        units = {"http": counts.get("200", 0), "sse": counts.get("tokens", 0)}.get(
            self.mode, counts.get("messages", 0)
        )
        problems = {
            k: v
            for k, v in counts.items()
            if k not in {"200", "tokens", "streams", "messages", "keepalives"}
        }
        if report["worker_failures"]:
            problems["worker_failures"] = report["worker_failures"]
        return {
            "units": units,
            "elapsed": report["elapsed"],
            "problems": problems,
            "counts": counts,
        }

    def _wrk(
        self, server: Server, headers: list[str], duration: float, cores: Cores
    ) -> dict[str, Any]:
        lines = [
            'wrk.method = "POST"',
            f"wrk.body = [[{self.body}]]",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
        for header in headers:
            name, value = header.split(": ", 1)
            lines.append(f'wrk.headers["{name}"] = "{value}"')
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write("\n".join(lines) + "\n")
        try:
            done = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    "--timeout",
                    "10s",
                    f"-c{self.connections}",
                    f"-d{max(1, round(duration))}s",
                    "-s",
                    script.name,
                    f"http://127.0.0.1:{server.port}{self.path}",
                ],
                capture_output=True,
                text=True,
                check=True,
                preexec_fn=pinned(cores.load),
            )
        finally:
            os.unlink(script.name)
        report = parse_wrk(done.stdout)
        problems = {k: report[k] for k in ("non_2xx", "socket_errors") if report[k]}
        return {
            "units": report["requests"] - report["non_2xx"],
            "elapsed": report["elapsed"],
            "problems": problems,
            "counts": report,
        }


# --- scenarios ---------------------------------------------------------------------


@dataclass
class Candidate:
    label: str
    project: Project
    app: str
    env: dict[str, str] = field(default_factory=dict)
    target: float | None = None  # minimum ratio to the baseline's rate
    skip: str | None = None  # why this row cannot run here


@dataclass
class Scenario:
    name: str
    title: str
    load: Load
    baseline: str
    candidates: list[Candidate]
    skip: str | None = None


@dataclass
class Context:
    args: argparse.Namespace
    cores: Cores
    use_wrk: bool
    defaults: Project
    full: Project
    secret: str
    api_key: str
    redis_url: str | None
    redis_port: int | None


# Spans for every request and model call, batched by the SDK and dropped
# instead of sent (bench_service.py): the cost of tracing in the process.
TRACING_ON = {"APP_TRACING_ENABLED": "true", "BENCH_TRACING": "1"}


def service_env(ctx: Context, project: Project) -> dict[str, str]:
    """A production configuration: real secrets, JSON logs, quotas that never bite."""
    env = {
        "APP_ENV": "production",
        "APP_LOG_LEVEL": "INFO",
        "APP_API_KEYS": f"{ctx.api_key}:enterprise",
        "APP_CORS_ORIGINS": "https://app.example.com",
        "APP_FAKE_LLM_DELAY_MS": "0",
        **{f"APP_RATE_LIMIT_{t}": HIGH_LIMIT for t in ("ANONYMOUS", "FREE", "PRO", "ENTERPRISE")},
        # One benchmark client stands for many callers: no per-caller caps on
        # open streams and sockets.
        "APP_SSE_MAX_CONCURRENT_STREAMS": "100000",
        "APP_WS_MAX_CONNECTIONS_PER_CALLER": "100000",
    }
    if project.toggles["jwt"]:
        env["APP_JWT_SECRET"] = ctx.secret
    if project.toggles["redis"] and ctx.redis_url:
        env["APP_REDIS_URL"] = ctx.redis_url
    return env


def auth_headers(ctx: Context, project: Project) -> list[str]:
    """What a real client sends: a bearer token where JWT is on, else its API key.

    One credential, not both: the service stops at the first authenticator
    that accepts (API keys first), so sending both would skip JWT verification.
    """
    if not (project.toggles["jwt"] and project.has_module("auth")):
        return [f"X-API-Key: {ctx.api_key}"]
    mint = (
        "import sys, time, jwt\n"
        "now = int(time.time())\n"
        "claims = {'sub': 'bench-user', 'tier': 'enterprise', 'iss': sys.argv[2],"
        " 'aud': sys.argv[2], 'iat': now, 'exp': now + 3600}\n"
        "print(jwt.encode(claims, sys.argv[1], algorithm='HS256'))\n"
    )
    token = subprocess.run(
        [str(project.python), "-c", mint, ctx.secret, project.slug],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [f"Authorization: Bearer {token}"]


def scenarios(ctx: Context) -> list[Scenario]:
    quick = ctx.args.quick
    d, f = ctx.defaults, ctx.full
    few = {"BENCH_TOKENS": "100", "APP_FAKE_LLM_DELAY_MS": "0"}
    http_body = json.dumps({"prompt": PROMPT, "max_tokens": 8})
    redis_skip = None
    if ctx.redis_url is None:
        redis_skip = "redis-server is not on PATH (install it to measure this row)"
    elif not f.has_module("ratelimit/redis.py"):
        redis_skip = "this tree has no Redis rate limiter yet (ratelimit/redis.py)"
    tracing_skip = None if d.has_module("tracing/llm.py") else "this tree has no tracing yet"
    result = [
        Scenario(
            "http",
            "HTTP POST /api/v1/generate (8 tokens, no pacing), requests/s",
            Load("http", "/api/v1/generate", "req", 50, http_body),
            baseline="bare FastAPI",
            candidates=[
                Candidate("bare FastAPI", d, "bare_fastapi:app", few),
                Candidate("raw ASGI", d, "raw_asgi:app", few),
                Candidate(
                    "full stack (defaults)",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few},
                    target=0.6,
                ),
                Candidate(
                    "full stack, metrics off",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few, "APP_METRICS_ENABLED": "false"},
                ),
                Candidate(
                    "full stack, tracing on",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few, **TRACING_ON},
                    skip=tracing_skip,
                ),
                Candidate(
                    "full stack + Redis limiter (all toggles)",
                    f,
                    "bench_service:app",
                    {**service_env(ctx, f), **few},
                    target=0.45,
                    skip=redis_skip,
                ),
            ],
        ),
        Scenario(
            "sse",
            "SSE POST /api/v1/stream/generate, 200 streams x 100 tokens, tokens/s",
            Load(
                "sse",
                "/api/v1/stream/generate",
                "token",
                50 if quick else 200,
                json.dumps({"prompt": PROMPT, "max_tokens": 100}),
                expect_tokens=100,
            ),
            baseline="plain StreamingResponse",
            candidates=[
                Candidate("plain StreamingResponse", d, "bare_fastapi:app", few),
                Candidate("raw ASGI writer", d, "raw_asgi:app", few),
                Candidate(
                    "full stack SSE (defaults)",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few},
                    target=1.0,
                ),
                Candidate(
                    "full stack SSE, metrics off",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few, "APP_METRICS_ENABLED": "false"},
                ),
                Candidate(
                    "full stack SSE, tracing on",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few, **TRACING_ON},
                    skip=tracing_skip,
                ),
            ],
            skip=None if d.has_route("/stream/generate") else "no SSE endpoint in this tree yet",
        ),
        Scenario(
            "ws",
            "WebSocket /api/v1/ws/chat/{id}, 8-token replies, messages/s",
            Load("ws", "/api/v1/ws/chat/bench", "msg", 50, expect_tokens=8),
            baseline="bare FastAPI echo",
            candidates=[
                Candidate("bare FastAPI echo", d, "bare_fastapi:app", {**few, "BENCH_TOKENS": "8"}),
                Candidate(
                    "full stack chat (defaults)",
                    d,
                    "bench_service:app",
                    {**service_env(ctx, d), **few, "BENCH_TOKENS": "8"},
                    target=0.8,
                ),
            ],
            skip=None if d.has_route("/ws/chat") else "no WebSocket chat in this tree yet",
        ),
    ]
    return result


# --- running ----------------------------------------------------------------------


@contextmanager
def servers(ctx: Context, candidates: list[Candidate]) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        for c in candidates:
            if c.skip is None:
                server = Server(c.project, c.app, c.env, ctx.cores)
                server.start()
                started[c.label] = server
        yield started
    finally:
        for server in started.values():
            server.stop()


def redis_commands(port: int | None) -> int | None:
    """Commands Redis has processed so far, to show the limiter really talks to it."""
    if port is None:
        return None
    with socket.create_connection(("127.0.0.1", port), 2) as sock:
        sock.sendall(b"INFO stats\r\n")
        data = b""
        while b"total_commands_processed" not in data or not data.endswith(b"\r\n"):
            data += sock.recv(65536)
    match = re.search(rb"total_commands_processed:(\d+)", data)
    return int(match.group(1)) if match else None


def run_throughput(ctx: Context, scenario: Scenario) -> dict[str, Any]:
    args = ctx.args
    runnable = [c for c in scenario.candidates if c.skip is None]
    reps: dict[str, list[dict[str, Any]]] = {c.label: [] for c in runnable}
    headers = {
        c.label: auth_headers(ctx, c.project) if "bench_service" in c.app else [] for c in runnable
    }

    def measure(server: Server, rep: int, label: str) -> None:
        cpu0, redis0 = server.cpu_seconds(), redis_commands(ctx.redis_port)
        outcome = scenario.load.run(server, headers[label], args.duration, ctx.cores, ctx.use_wrk)
        cpu1, redis1 = server.cpu_seconds(), redis_commands(ctx.redis_port)
        units = outcome["units"]
        entry = {
            "rep": rep,
            "units": units,
            "elapsed": outcome["elapsed"],
            "rate": units / outcome["elapsed"] if outcome["elapsed"] else 0.0,
            "cpu_us_per_unit": (cpu1 - cpu0) / units * 1e6 if units else None,
            "server_cpu_share": (cpu1 - cpu0) / outcome["elapsed"],
            "peak_rss_kib": server.kib("VmHWM"),
            "redis_commands_per_unit": (redis1 - redis0) / units
            if units and redis0 is not None and redis1 is not None
            else None,
            "problems": outcome["problems"],
        }
        reps[label].append(entry)
        log(
            f"  {scenario.name} rep {rep} {label}: {entry['rate']:.0f} {scenario.load.unit}/s,"
            f" {fmt(entry['cpu_us_per_unit'], '{:.1f}')} us CPU/{scenario.load.unit}"
            + (f", PROBLEMS {entry['problems']}" if entry["problems"] else "")
        )
        if not server.alive():
            raise RuntimeError(f"{label} died during the run")

    by_label = {c.label: c for c in runnable}
    order = interleaved(list(by_label), args.reps)
    for rep in range(args.reps):
        # Fresh server processes for every repetition: each process keeps
        # its own CPU cost per request for its whole life (address layout,
        # hash seed): five identical service processes in one run served at
        # 255-279 us per request. With one start-up per run, whole runs of one
        # tree disagreed (HTTP ratio 0.56-0.61) while the reps inside each run
        # agreed. The median over repetitions is now a median over start-ups.
        labels = [label for r, label in order if r == rep]
        with servers(ctx, [by_label[label] for label in labels]) as running:
            for label in labels:  # warm-up: imports, caches, allocator
                scenario.load.run(
                    running[label], headers[label], args.warmup, ctx.cores, ctx.use_wrk
                )
            for label in labels:
                measure(running[label], rep, label)
    return summarise(scenario, reps)


def summarise(scenario: Scenario, reps: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    base = reps.get(scenario.baseline, [])
    base_rate = median(r["rate"] for r in base)
    base_cpu = median(r["cpu_us_per_unit"] for r in base)
    rows = []
    for c in scenario.candidates:
        runs = reps.get(c.label, [])
        rate = median(r["rate"] for r in runs)
        cpu = median(r["cpu_us_per_unit"] for r in runs)
        problems = [r["problems"] for r in runs if r["problems"]]
        rate_ratio = ratio(rate, base_rate)
        verdict = "-"
        if c.skip:
            verdict = f"skipped: {c.skip}"
        elif any(set(p) - {"socket_errors"} for p in problems):
            verdict = "INVALID (errors, see JSON)"
        elif c.target is not None and ratio(base_cpu, cpu) is not None:
            # Judged on capacity (baseline CPU per unit / this one's): with the
            # server core shared, throughput mostly measures the neighbours.
            verdict = "met" if (ratio(base_cpu, cpu) or 0) >= c.target else "MISSED"
            if problems:
                verdict += " (socket errors, see JSON)"
        rows.append(
            {
                "label": c.label,
                "rate": rate,
                "ratio": rate_ratio,
                "cpu_us_per_unit": cpu,
                "cpu_ratio": ratio(base_cpu, cpu),  # >1: cheaper than the baseline
                # Under 100 %: the server was not saturated (other jobs on its core).
                "server_cpu_share": median(r["server_cpu_share"] for r in runs),
                "peak_rss_kib": max((r["peak_rss_kib"] for r in runs), default=None),
                "redis_commands_per_unit": median(r["redis_commands_per_unit"] for r in runs),
                "target": c.target,
                "verdict": verdict,
                "skip": c.skip,
                "problems": problems,
                "reps": runs,
            }
        )
    return {
        "name": scenario.name,
        "title": scenario.title,
        "unit": scenario.load.unit,
        "baseline": scenario.baseline,
        "rows": rows,
    }


def run_sse_memory(ctx: Context) -> dict[str, Any]:
    """RSS growth per open stream: N streams paced at 50 ms per token, all open at once."""
    args, d = ctx.args, ctx.defaults
    streams = 200 if args.quick else 1000
    title = f"SSE memory: {streams} open streams, fake paced 50 ms/token, KiB RSS per stream"
    paced = {"BENCH_TOKENS": "100000", "APP_FAKE_LLM_DELAY_MS": "50"}
    candidates = [
        Candidate("plain StreamingResponse", d, "bare_fastapi:app", paced),
        Candidate(
            "full stack SSE (defaults)",
            d,
            "bench_service:app",
            {**service_env(ctx, d), **paced},
            target=50.0,
        ),
    ]
    if not d.has_route("/stream/generate"):
        return {"name": "sse_memory", "title": title, "skip": "no SSE endpoint in this tree yet"}
    rows = []
    body = json.dumps({"prompt": PROMPT, "max_tokens": 4096})
    for c in candidates:
        with servers(ctx, [c]) as running:
            server = running[c.label]
            load = Load(
                "sse",
                "/api/v1/stream/generate",
                "token",
                4,
                json.dumps({"prompt": PROMPT, "max_tokens": 5}),
                expect_tokens=5,
            )
            load.run(
                server,
                auth_headers(ctx, d) if "bench_service" in c.app else [],
                0.5,
                ctx.cores,
                False,
            )  # warm: first request imports and allocates
            time.sleep(0.5)
            idle = server.kib("VmRSS")
            command = [
                str(d.python),
                str(BENCH / "loadgen.py"),
                "sse-hold",
                "--port",
                str(server.port),
                "--path",
                "/api/v1/stream/generate",
                "--body",
                body,
                "--connections",
                str(streams),
            ]
            for header in auth_headers(ctx, d) if "bench_service" in c.app else []:
                command += ["--header", header]
            holder = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=pinned(ctx.cores.load),
                env=child_env({}),
            )
            assert holder.stdin and holder.stdout
            ready = holder.stdout.readline().split()
            live = int(ready[1]) if len(ready) == 2 and ready[0] == "ready" else 0
            peak = idle
            for _ in range(10):
                peak = max(peak, server.kib("VmRSS"))
                time.sleep(0.1)
            holder.stdin.write("close\n")
            holder.stdin.flush()
            holder.communicate(timeout=60)
            per_stream = (peak - idle) / live if live else None
            verdict = "-"
            if live < streams:
                verdict = f"INVALID: only {live} of {streams} streams opened"
            elif c.target is not None and per_stream is not None:
                verdict = "met" if per_stream <= c.target else "MISSED"
            rows.append(
                {
                    "label": c.label,
                    "open_streams": live,
                    "idle_rss_kib": idle,
                    "open_rss_kib": peak,
                    "kib_per_stream": per_stream,
                    "peak_rss_kib": server.kib("VmHWM"),
                    "target": c.target,
                    "verdict": verdict,
                }
            )
            log(f"  sse_memory {c.label}: {live} streams, {fmt(per_stream, '{:.1f}')} KiB each")
    return {"name": "sse_memory", "title": title, "rows": rows}


# --- start-up ------------------------------------------------------------------------

# How often the poller asks /health while a server starts: the start-up figure
# is late by up to this much, the same for every candidate.
POLL_SECONDS = 0.005
STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass
class StartupCandidate:
    """A server whose start-up is timed, and the statement whose run is timed alone."""

    candidate: Candidate
    imports: str


@contextmanager
def running_on(core: int | None) -> Iterator[None]:
    """Keep this process (the poller) on ``core`` for a while; children pin themselves."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def health_status(port: int) -> int | None:
    """One ``GET /health`` on a fresh connection: its status, None while nothing answers.

    A raw socket rather than an HTTP client: each try should cost next to
    nothing, so that polling adds no delay to the moment it records.
    """
    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    head = b""
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as sock:
            sock.sendall(request.encode())
            while b"\r\n" not in head and (chunk := sock.recv(4096)):
                head += chunk
    except OSError:
        return None
    return http_status(head)


def time_to_health(server: Server) -> float:
    """Start ``server`` and poll until /health answers 200; seconds from spawn to that answer."""
    server.spawn()
    assert server.process is not None
    deadline = server.spawned_at + STARTUP_TIMEOUT_SECONDS
    next_poll = server.spawned_at
    status = None
    while server.process.poll() is None and time.perf_counter() < deadline:
        status = health_status(server.port)
        if status == 200:
            return time.perf_counter() - server.spawned_at
        next_poll += POLL_SECONDS
        time.sleep(max(0.0, next_poll - time.perf_counter()))
    server.stop()
    raise RuntimeError(
        f"{server.app} never answered 200 on /health (last status {status}):\n"
        + server.startup_error()
    )


def compile_bytecode(project: Project) -> None:
    """Write the bytecode of every module a server imports, ahead of the timed start-ups.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (CI, sandboxes) no run writes it,
    so every start would compile the whole stack again and the figure would
    measure the compiler; a deployed service has it from its image or its
    first start. Python still reads bytecode with that variable set, and the
    servers' environment stays as in every other scenario.
    """
    subprocess.run(
        [str(project.python), "-m", "compileall", "-q", "-j", "0", ".venv/lib", "src", str(APPS)],
        cwd=project.path,
        env=child_env({}),
        stdout=subprocess.DEVNULL,
        check=True,
    )


def import_seconds(ctx: Context, c: Candidate, statement: str) -> float:
    """Wall time of ``python -c <statement>`` on the server core, with the server's env.

    The share of the start-up that is imports (and, for the service, building
    the app uvicorn serves), without uvicorn or the first request.
    """
    server = Server(c.project, c.app, c.env, ctx.cores)
    started = time.perf_counter()
    subprocess.run(
        [str(c.project.python), "-c", statement],
        cwd=c.project.path,
        env=server.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(ctx.cores.server),
        check=True,
    )
    return time.perf_counter() - started


def startup_instructions(c: Candidate) -> int | None:
    """Instructions executed to import uvicorn and build the app it serves, under callgrind.

    The wall-clock start-up moves with the machine's load and its disk; this
    count does not (the same for the same files and environment), so it
    tells a real change from noise. None without valgrind.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    module = c.app.partition(":")[0]
    server = Server(c.project, c.app, c.env, Cores(None, None))
    statement = (
        f"import sys; sys.path.insert(0, {str(APPS)!r}); import uvicorn.main; import {module}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/callgrind.out",
                str(c.project.python),
                "-c",
                statement,
            ],
            cwd=c.project.path,
            env=server.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
            check=True,
        )
    return callgrind_instructions(done.stderr)


def startup_candidates(ctx: Context) -> list[StartupCandidate]:
    d, f = ctx.defaults, ctx.full
    few = {"BENCH_TOKENS": "100", "APP_FAKE_LLM_DELAY_MS": "0"}
    redis_skip = None
    if ctx.redis_url is None:
        # The Redis toggle on and no Redis is not a configuration anyone deploys.
        redis_skip = "redis-server is not on PATH (install it to measure this row)"
    return [
        StartupCandidate(
            Candidate("bare FastAPI /health", d, "bare_health:app", few), "import fastapi"
        ),
        StartupCandidate(
            Candidate(
                "full stack (defaults)",
                d,
                "bench_service:app",
                {**service_env(ctx, d), **few},
                target=1.5,
            ),
            f"from {d.package}.main import app",
        ),
        StartupCandidate(
            Candidate(
                "full stack (all toggles)",
                f,
                "bench_service:app",
                {**service_env(ctx, f), **few},
                skip=redis_skip,
            ),
            f"from {f.package}.main import app",
        ),
    ]


def run_startup(ctx: Context) -> dict[str, Any]:
    """Time from process start to the first 200 on /health, servers started as everywhere else.

    Start-ups are cheap, so this takes twice the configured repetitions. The
    poller runs in this process, moved to the load core for the duration.
    """
    reps = 2 * ctx.args.reps
    title = (
        "Start-up: process start to the first 200 on GET /health, ms"
        f" (medians of {reps} interleaved start-ups)"
    )
    baseline = "bare FastAPI /health"
    planned = startup_candidates(ctx)
    by_label = {s.candidate.label: s for s in planned if s.candidate.skip is None}
    measured: dict[str, list[dict[str, Any]]] = {label: [] for label in by_label}

    def once(label: str) -> dict[str, Any]:
        s = by_label[label]
        server = Server(s.candidate.project, s.candidate.app, s.candidate.env, ctx.cores)
        try:
            seconds = time_to_health(server)
            rss = server.kib("VmHWM")
        finally:
            server.stop()
        return {
            "startup_ms": seconds * 1000,
            "import_ms": import_seconds(ctx, s.candidate, s.imports) * 1000,
            "peak_rss_kib": rss,
        }

    for project in {s.candidate.project.name: s.candidate.project for s in planned}.values():
        compile_bytecode(project)
    instructions = {label: startup_instructions(s.candidate) for label, s in by_label.items()}
    for label, count in instructions.items():
        log(f"  startup {label}: {count} instructions to import uvicorn and build the app")
    with running_on(ctx.cores.load):
        for label in by_label:  # warm-up: page cache, not measured
            once(label)
        for rep, label in interleaved(list(by_label), reps):
            entry = {"rep": rep, **once(label)}
            measured[label].append(entry)
            log(
                f"  startup rep {rep} {label}: {entry['startup_ms']:.0f} ms to the first 200,"
                f" import {entry['import_ms']:.0f} ms"
            )
    return summarise_startup(title, baseline, planned, measured, instructions)


def summarise_startup(
    title: str,
    baseline: str,
    planned: list[StartupCandidate],
    measured: dict[str, list[dict[str, Any]]],
    instructions: dict[str, int | None],
) -> dict[str, Any]:
    base = median(r["startup_ms"] for r in measured.get(baseline, []))
    base_instructions = instructions.get(baseline)
    base_import = median(r["import_ms"] for r in measured.get(baseline, []))
    rows = []
    for s in planned:
        c, runs = s.candidate, measured.get(s.candidate.label, [])
        startup = median(r["startup_ms"] for r in runs)
        startup_ratio = ratio(startup, base)
        verdict = "-"
        if c.skip:
            verdict = f"skipped: {c.skip}"
        elif c.target is not None and startup_ratio is not None:
            verdict = "met" if startup_ratio <= c.target else "MISSED"
        import_ms = median(r["import_ms"] for r in runs)
        rows.append(
            {
                "label": c.label,
                "app": c.app,
                "imports": s.imports,
                "startup_ms": startup,
                "ratio": startup_ratio,
                "import_ms": import_ms,
                "import_ratio": ratio(import_ms, base_import),
                "instructions": instructions.get(c.label),
                "instructions_ratio": ratio(instructions.get(c.label), base_instructions),
                "peak_rss_kib": max((r["peak_rss_kib"] for r in runs), default=None),
                "target": c.target,  # maximum ratio to the baseline's start-up
                "verdict": verdict,
                "skip": c.skip,
                "reps": runs,
            }
        )
    return {
        "name": "startup",
        "title": title,
        "unit": "ms",
        "baseline": baseline,
        "poll_ms": POLL_SECONDS * 1000,
        "rows": rows,
    }


def startup_table(s: dict[str, Any]) -> str:
    rows = []
    for r in s["rows"]:
        if r["skip"]:
            rows.append([r["label"], "-", "-", "-", "-", "-", "-", "-", r["verdict"]])
            continue
        rows.append(
            [
                r["label"] + (" (baseline)" if r["label"] == s["baseline"] else ""),
                fmt(r["startup_ms"], "{:.0f}"),
                fmt(r["ratio"], "{:.2f}x"),
                fmt(r["import_ms"], "{:.0f}"),
                fmt(r["import_ratio"], "{:.2f}x"),
                fmt(r["instructions_ratio"], "{:.2f}x"),
                fmt(r["peak_rss_kib"] and r["peak_rss_kib"] / 1024, "{:.0f}"),
                fmt(r["target"], "<= {:.2f}x"),
                r["verdict"],
            ]
        )
    headers = [
        "candidate",
        "start-up ms",
        "x baseline",
        "import alone ms",
        "import x baseline",
        "instructions x baseline",
        "peak RSS at first 200 MiB",
        "target",
        "verdict",
    ]
    note = (
        '\nimport alone: wall time of `python -c "from <package>.main import app"` (its'
        " modules and the app uvicorn serves; `import fastapi` for the baseline) on the"
        " server core, interpreter start included; /health polled every"
        f" {s['poll_ms']:g} ms from the load core. instructions: what the interpreter"
        " executes to import uvicorn and the module that builds the served app, counted"
        " once under valgrind's callgrind (steady where wall times are not; '-' without"
        " valgrind)."
    )
    return render_table(headers, rows) + "\n" + note


# --- the report ---------------------------------------------------------------------


def report(results: list[dict[str, Any]]) -> str:
    out = []
    for s in results:
        out.append(f"\n### {s['title']}\n")
        if s.get("skip"):
            out.append(f"skipped: {s['skip']}\n")
            continue
        if s["name"] == "startup":
            out.append(startup_table(s))
            continue
        if s["name"] == "sse_memory":
            rows = [
                [
                    r["label"],
                    str(r["open_streams"]),
                    fmt(r["idle_rss_kib"] / 1024, "{:.1f}"),
                    fmt(r["open_rss_kib"] / 1024, "{:.1f}"),
                    fmt(r["kib_per_stream"], "{:.1f}"),
                    fmt(r["target"], "<= {:.0f}"),
                    r["verdict"],
                ]
                for r in s["rows"]
            ]
            headers = [
                "candidate",
                "open streams",
                "idle RSS MiB",
                "open RSS MiB",
                "KiB/stream",
                "target",
                "verdict",
            ]
            out.append(render_table(headers, rows))
            continue
        unit = s["unit"]
        rows = []
        for r in s["rows"]:
            if r["skip"]:
                rows.append([r["label"], "-", "-", "-", "-", "-", "-", "-", r["verdict"]])
                continue
            rows.append(
                [
                    r["label"] + (" (baseline)" if r["label"] == s["baseline"] else ""),
                    fmt(r["rate"], "{:.0f}"),
                    fmt(r["ratio"], "{:.2f}x"),
                    fmt(r["cpu_us_per_unit"], "{:.1f}"),
                    fmt(r["cpu_ratio"], "{:.2f}x"),
                    fmt(r["server_cpu_share"] and r["server_cpu_share"] * 100, "{:.0f}%"),
                    fmt(r["peak_rss_kib"] and r["peak_rss_kib"] / 1024, "{:.0f}"),
                    fmt(r["target"], ">= {:.2f}x"),
                    r["verdict"],
                ]
            )
        headers = [
            "candidate",
            f"{unit}/s",
            "x baseline",
            f"CPU us/{unit}",
            "capacity x baseline (CPU)",
            "server core busy",
            "peak RSS MiB",
            "target",
            "verdict (capacity)",
        ]
        out.append(render_table(headers, rows))
    return "\n".join(out)


@contextmanager
def redis_server(cores: Cores) -> Iterator[tuple[str | None, int | None]]:
    """A throwaway redis-server on a free port (on the load core), when one is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None, None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(cores.load),
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", port
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 rep of 1.5 s loads")
    parser.add_argument(
        "--reps", type=int, help="repetitions per candidate (default 5; start-up: twice that)"
    )
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 5)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["http", "sse", "sse_memory", "ws", "startup"],
        help="run only these scenarios (repeatable)",
    )
    parser.add_argument("--no-wrk", action="store_true", help="use the asyncio client for HTTP")
    parser.add_argument(
        "--template",
        type=Path,
        default=ROOT,
        help="render this checkout of the template instead of this one (compare branches)",
    )
    args = parser.parse_args()
    args.reps = args.reps or (1 if args.quick else 5)
    args.duration = args.duration or (1.5 if args.quick else 5.0)
    args.warmup = 0.5 if args.quick else 1.5

    cores = Cores.detect()
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    if cores.server is None:
        log("note: fewer than 2 usable cores (or no affinity API): server and load are not pinned")
    if shutil.which("wrk") is None:
        log("note: wrk not found; using the asyncio client (install the 'wrk' package for HTTP)")
    started = time.time()
    template = args.template.resolve()
    defaults = render("defaults", {}, template)
    everything = dict.fromkeys(("sse", "websocket", "graphql", "redis", "jwt"), True)
    full = render("all", everything, template)
    results: list[dict[str, Any]] = []
    with redis_server(cores) as (redis_url, redis_port):
        ctx = Context(
            args,
            cores,
            use_wrk,
            defaults,
            full,
            secrets.token_urlsafe(48),
            "bench-" + secrets.token_hex(16),
            redis_url,
            redis_port,
        )
        planned = {s.name: s for s in scenarios(ctx)}
        for name in ("http", "sse", "sse_memory", "ws", "startup"):
            if args.only and name not in args.only:
                continue
            if name == "startup":
                log("scenario startup")
                results.append(run_startup(ctx))
                continue
            if name == "sse_memory":
                log("scenario sse_memory")
                results.append(run_sse_memory(ctx))
                continue
            scenario = planned[name]
            log(f"scenario {name}: {scenario.title}")
            if scenario.skip:
                log(f"  skipped: {scenario.skip}")
                results.append({"name": name, "title": scenario.title, "skip": scenario.skip})
            else:
                results.append(run_throughput(ctx, scenario))
    table = report(results)
    machine = {
        "cpus": os.cpu_count(),
        "pinning": {"server_core": cores.server, "load_core": cores.load},
        "load_generator_http": "wrk" if use_wrk else "bench/loadgen.py (asyncio)",
        "loadavg_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    record = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "command": "uv run python bench/run.py " + " ".join(sys.argv[1:]),
        "template": str(template) if template != ROOT else "this checkout",
        "settings": {
            "reps": args.reps,
            "startup_reps": 2 * args.reps,
            "duration": args.duration,
            "quick": args.quick,
        },
        "machine": machine,
        "scenarios": results,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "bench-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + ".json"
    (RESULTS / name).write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"# Benchmark ({'quick' if args.quick else 'full'}): {record['command']}")
    print(
        f"{machine['cpus']} cores; server on core {cores.server}, load on core {cores.load};"
        f" HTTP load from {machine['load_generator_http']}; medians of {args.reps} interleaved"
        f" reps of {args.duration:g} s (start-up: {2 * args.reps} start-ups). Ratios are against"
        " the baseline of the same run; load verdicts judge capacity (the baseline's server CPU"
        " per unit / the candidate's), start-up verdicts the time to the first 200."
    )
    print(table)
    print(f"\nresults: bench/results/{name}")


if __name__ == "__main__":
    main()
