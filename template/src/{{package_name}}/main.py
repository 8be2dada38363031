"""The application factory: the core service plus the capabilities it was generated with.

The core (plain generation, metrics, probes, middleware) is set up here; every
optional capability describes itself in its package's ``capability.py`` and is
listed once, in ``capabilities.py``. Owners add their own routers to
``CORE_MOUNTS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from opentelemetry.trace import TracerProvider
from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import DESCRIPTION, PACKAGE, PROJECT_NAME, __version__
from .api import API_PREFIX, health
from .api.dependencies import api_key_scheme
from .api.openapi_security import document_authentication
from .api.v1 import generate
from .capabilities import optional_capabilities
from .capability import Capability, Mount
from .errors import ErrorShape, document_error_bodies, install_error_handlers
from .identity import ApiKeyRegistry
from .lifecycle import Lifecycle
from .llm.factory import build_llm
from .llm.port import LLM
from .logging_config import configure_logging
from .metrics.llm import MeteredLLM
from .metrics.registry import ServiceMetrics
from .metrics.route_templates import RouteTemplates
from .metrics.routes import METRICS_PATH
from .metrics.routes import router as metrics_router
from .middleware.authentication import ApiKeyAuthenticator, AuthenticationMiddleware, Authenticator
from .middleware.body_limit import BodyLimitMiddleware
from .middleware.cors import CORSMiddleware
from .middleware.order import check_order
from .middleware.rate_limit import RateLimitMiddleware
from .middleware.request_context import RequestContextMiddleware
from .middleware.security_headers import SecurityHeadersMiddleware
from .ratelimit.concurrency import ConcurrencyLimiter
from .ratelimit.factory import build_rate_limiter
from .ratelimit.memory import MemoryRateLimiter
from .settings import Settings, get_settings
from .tracing.config import telemetry_config

# The service's own routers, included before any capability's.
CORE_MOUNTS: list[Mount] = [
    Mount(API_PREFIX, generate.router),
    Mount("", metrics_router, guarded=False),
]


@asynccontextmanager
async def llm_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The model adapter and the rate limiter exist from create_app; close them last."""
    try:
        yield
    finally:
        llm: LLM = app.state.llm
        await llm.aclose()
        await app.state.rate_limiter.aclose()


def core_mounts(settings: Settings) -> Sequence[Mount]:
    return CORE_MOUNTS


CORE = Capability(name="core", mounts=core_mounts, lifespan=llm_lifespan)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open shared resources at startup; drain and close them at shutdown."""
    lifecycle: Lifecycle = app.state.lifecycle
    capabilities: list[Capability] = app.state.capabilities
    lifecycle.install_signal_hooks()
    try:
        async with AsyncExitStack() as stack:
            for capability in capabilities:
                if capability.lifespan is not None:
                    await stack.enter_async_context(capability.lifespan(app))
            try:
                yield
            finally:
                lifecycle.begin_draining()
    finally:
        lifecycle.restore_signal_hooks()


def build_authenticators(
    app: FastAPI, settings: Settings, capabilities: Sequence[Capability]
) -> list[Authenticator]:
    """Every way a caller may prove who it is, tried in order: API keys first."""
    others = [
        authenticator
        for capability in capabilities
        for authenticator in capability.authenticators(app, settings)
    ]
    # OpenAI's clients send their key as a bearer token; where another way
    # takes bearer tokens, one that is not a configured key is left to it.
    api_keys = ApiKeyAuthenticator(
        ApiKeyRegistry(settings.api_keys), bearer_may_be_jwt=bool(others)
    )
    return [api_keys, *others]


def middleware_stack(
    app: FastAPI, settings: Settings, capabilities: Sequence[Capability], mounts: Sequence[Mount]
) -> list[Middleware]:
    """The pure-ASGI middleware, outermost first, as Starlette takes them.

    A request meets them in this order: the forwarded client is resolved
    (behind trusted proxies); the id exists before anything logs, and the access
    line sees every outcome; headers go on every response; CORS answers
    preflights before auth; oversized bodies die before auth or handlers read
    them; then the caller is identified, and counted against their quota.
    OpenAPI documents the schemes where authentication is required, and
    that it is not where it is not.
    """
    guarded_prefixes = tuple(dict.fromkeys(mount.prefix for mount in mounts if mount.guarded))
    page_policies = {
        path: policy for mount in mounts for path, policy in mount.page_policies.items()
    }
    public_paths = frozenset().union(*(c.public_paths for c in capabilities))
    required = bool(settings.api_keys) or any(c.requires_authentication for c in capabilities)
    schemes = [api_key_scheme, *(scheme for c in capabilities for scheme in c.auth_schemes)]
    document_authentication(
        app, schemes if required else [], public_paths, prefixes=guarded_prefixes, required=required
    )
    stack = [
        Middleware(
            RequestContextMiddleware,
            metrics=app.state.metrics if settings.metrics_enabled else None,
            route_templates=app.state.route_templates,
            quiet_paths=frozenset({METRICS_PATH}),
        ),
        Middleware(
            SecurityHeadersMiddleware, hsts=settings.is_production, page_policies=page_policies
        ),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "X-Request-ID",
                *(name for c in capabilities for name in c.cors_allowed_headers),
            ],
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "Retry-After",
                *(name for c in capabilities for name in c.cors_exposed_headers),
            ],
        ),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes),
        Middleware(
            AuthenticationMiddleware,
            authenticators=app.state.authenticators,
            guarded_prefixes=guarded_prefixes,
            required=required,
            public_paths=public_paths,
            failure_limiter=MemoryRateLimiter(
                {"anonymous": settings.auth_failure_rate_limit},
                max_keys=settings.rate_limit_memory_max_keys,
            ),
            in_protocol_websocket_paths=frozenset().union(
                *(c.in_protocol_websocket_paths for c in capabilities)
            ),
        ),
        Middleware(
            RateLimitMiddleware,
            limiter=app.state.rate_limiter,
            guarded_prefixes=guarded_prefixes,
            refusals=app.state.metrics.refusals,
            self_counting_paths=frozenset().union(*(c.self_counting_paths for c in capabilities)),
        ),
    ]
    if settings.trusted_proxies:
        # Outermost: every later step, and every limiter, sees the real client.
        stack.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies))
    check_order(stack)
    return stack


def create_app(
    settings: Settings | None = None,
    llm: LLM | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the service; tests pass their own settings, model and tracer provider."""
    capabilities = [CORE, *optional_capabilities()]
    settings = settings or get_settings()
    tracing = settings.tracing_enabled
    configure_logging(settings.log_level, settings.json_logs, trace_ids=tracing)
    for capability in capabilities:
        if capability.complete_settings is not None:
            settings = capability.complete_settings(settings)
    docs = settings.serves_api_docs
    app = FastAPI(
        title=PROJECT_NAME,
        description=DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        # Off, the schema is still built for the `openapi` command.
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        telemetry=telemetry_config(tracing, tracer_provider),
    )
    lifecycle = Lifecycle(goodbye_timeout=settings.shutdown_timeout_seconds)
    app.state.settings = settings
    app.state.capabilities = capabilities
    app.state.lifecycle = lifecycle
    app.state.metrics = ServiceMetrics(prefix=PACKAGE)
    app.state.route_templates = RouteTemplates()
    model = llm or build_llm(settings)
    if tracing:
        from .tracing.llm import TracedLLM

        model = TracedLLM(model, tracer_provider)
    app.state.llm = MeteredLLM(model, app.state.metrics) if settings.metrics_enabled else model
    app.state.readiness_checks = {"draining": _draining_check(lifecycle)}
    for capability in capabilities:
        capability.setup(app, settings)
    app.state.authenticators = build_authenticators(app, settings, capabilities)
    app.state.rate_limiter = build_rate_limiter(app, settings)
    app.state.concurrency_limiter = ConcurrencyLimiter()

    install_error_handlers(app)
    document_error_bodies(app)
    mounts = [mount for capability in capabilities for mount in capability.mounts(settings)]
    app.user_middleware = middleware_stack(app, settings, capabilities, mounts)
    app.state.error_shapes = error_shapes(mounts)
    # Each router is included directly, not through one /api/v1 parent router,
    # and the API before the probes: FastAPI keeps included routers as a tree
    # and walks it on every request, so each extra level, and the probes'
    # router tried first, would cost every API request.
    for mount in [*mounts, Mount("", health.router, guarded=False)]:
        app.include_router(mount.router, prefix=mount.prefix)
        app.state.route_templates.add(mount.prefix, mount.router.routes)
    return app


def error_shapes(mounts: Sequence[Mount]) -> dict[str, ErrorShape]:
    """Where clients expect errors in another shape than the service's own, by prefix."""
    return {mount.prefix: mount.error_shape for mount in mounts if mount.error_shape}


def _draining_check(lifecycle: Lifecycle) -> health.ReadinessCheck:
    async def check() -> str | None:
        return "shutting down" if lifecycle.draining else None

    return check


def __getattr__(name: str) -> FastAPI:
    """``app``, built from the environment when first asked for (``<package>.main:app``).

    Importing the module for its factory (tests, the ``openapi`` command) builds
    no service that nobody serves.
    """
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = create_app()
    globals()["app"] = app
    return app
