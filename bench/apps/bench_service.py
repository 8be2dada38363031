"""The generated service, exactly as ``create_app`` builds it, with the bench's scripted fake.

Settings (API keys, rate limits, production mode, Redis) come from the
environment like in a deployment; only the model is swapped for a fake that
produces a known number of tokens, the same fake the baselines use.
"""

from __future__ import annotations

import importlib
from typing import Any

from bench_common import PACKAGE, bench_llm

_main = importlib.import_module(f"{PACKAGE}.main")

app: Any = _main.create_app(llm=bench_llm())
