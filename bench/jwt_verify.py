"""Per-request cost of bearer-token verification, with and without the verified-token cache.

Run inside a service generated with ``jwt`` (it imports the service's package):

    cd <generated project> && uv run python <template>/bench/jwt_verify.py <package_name>

Prints microseconds per call (median of several rounds) for: PyJWT decode
alone, ``BearerAuthenticator.authenticate`` without the cache (every request
verifies the signature and claims), and with the cache (a client repeating its
token). A measurement, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import asyncio
import importlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

ROUNDS = 7
CALLS = 20_000


async def per_call_us(call: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            await call()
        samples.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(samples)


async def main(package: str) -> None:
    settings_module = importlib.import_module(f"{package}.settings")
    bearer = importlib.import_module(f"{package}.auth.bearer")
    tokens = importlib.import_module(f"{package}.auth.tokens")
    from starlette.datastructures import Headers

    settings = settings_module.Settings(_env_file=None, jwt_secret="b" * 64)
    token = tokens.TokenIssuer(settings).access_token("alice", "pro")
    headers = Headers({"authorization": f"Bearer {token}"})
    scope = {"type": "http", "path": "/api/v1/generate", "headers": headers.raw}
    verifier = tokens.TokenVerifier(settings, bearer.build_verification_key(settings))
    uncached = bearer.BearerAuthenticator(verifier, cache=None)
    cached = bearer.BearerAuthenticator.from_settings(settings)

    import jwt

    decoder = jwt.PyJWT(options={"require": ["sub", "exp", "iat", "iss", "aud"]})
    secret = settings.jwt_secret.get_secret_value()

    async def pyjwt_only() -> object:
        return decoder.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=10,
        )

    results = {
        "PyJWT decode only": await per_call_us(pyjwt_only),
        "authenticate, no cache": await per_call_us(lambda: uncached.authenticate(headers, scope)),
        "authenticate, cached": await per_call_us(lambda: cached.authenticate(headers, scope)),
    }
    print(f"Python {sys.version.split()[0]}, {CALLS} calls x {ROUNDS} rounds, median:")
    for name, value in results.items():
        print(f"  {name:<24} {value:7.2f} us/request")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "my_service"))
