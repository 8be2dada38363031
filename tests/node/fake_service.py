"""Serve a rendered service with a fake model that the Node tests script and inspect.

Run with the rendered project's interpreter:
``python fake_service.py PACKAGE PORT API_KEY``. Besides the service's own
routes (and, with ``jwt``, the user ``demo`` with the password
``demo-password``) it answers ``GET /test/fake`` (the fake's counters) and
``POST /test/fake`` (``{"tokens", "echo", "fail_after", "delay_ms"}`` for
the next answers), outside ``/api/v1`` so they need no credentials. Test-only: never
part of a generated service.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from typing import Any

import uvicorn

package, port, api_key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fake_module = importlib.import_module(f"{package}.llm.fake")
port_module = importlib.import_module(f"{package}.llm.port")
settings_module = importlib.import_module(f"{package}.settings")
main = importlib.import_module(f"{package}.main")

fake = fake_module.FakeLLM()
options: dict[str, Any] = {"env": "test", "api_keys": [api_key]}
try:  # with `jwt`, one user to log in as: "demo", password "demo-password"
    passwords = importlib.import_module(f"{package}.auth.passwords")
except ModuleNotFoundError:
    pass
else:
    options["auth_users"] = {"demo": {"password_hash": passwords.hash_password("demo-password")}}
settings = settings_module.Settings(_env_file=None, **options)
app = main.create_app(settings, llm=fake)


async def counters() -> dict[str, Any]:
    values = dataclasses.asdict(fake.counters)
    values.pop("last_request", None)
    return values


async def script(body: dict[str, Any]) -> dict[str, str]:
    fake.delay = float(body.get("delay_ms", 0)) / 1000
    fake.script = fake_module.FakeScript(
        tokens=body.get("tokens"),
        echo_conversation=bool(body.get("echo", False)),
        fail_after=body.get("fail_after"),
        error=port_module.LLMUnavailableError(),
    )
    return {"status": "scripted"}


app.add_api_route("/test/fake", counters, methods=["GET"])
app.add_api_route("/test/fake", script, methods=["POST"])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
