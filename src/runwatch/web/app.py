"""The HTTP server: /healthz and /metrics, the REST API under /api, and the dashboard."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from runwatch import __version__
from runwatch.health import Health, HealthCollector
from runwatch.web.api import ROUTERS
from runwatch.web.auth import Authenticator, require_viewer
from runwatch.web.base import WebParts
from runwatch.web.dashboard import router as dashboard_router
from runwatch.web.error_pages import install_error_pages
from runwatch.web.events_page import router as events_page_router
from runwatch.web.graph_page import router as map_page_router
from runwatch.web.headers import SecurityHeaders
from runwatch.web.profiles_page import router as profiles_page_router

DESCRIPTION = """Alerts, events, containers, rules and response actions of one runwatch daemon.

Every endpoint but `/healthz` needs `Authorization: Bearer <token>`
(`runwatch token create --role viewer|admin`). Viewers read; admins also acknowledge alerts,
switch rules and undo responses."""


def create_app(health: Health, parts: WebParts | None = None) -> FastAPI:
    """The app for one daemon; metrics come from its own registry, not a process-wide one.

    Without `parts` only /healthz and /metrics are served.
    """
    app = FastAPI(title="runwatch", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None)  # /openapi.json needs a token
    registry = CollectorRegistry()
    registry.register(HealthCollector(health))
    metrics_need_token = parts is not None and parts.settings.metrics_auth

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Liveness and internal health: queue depths, events/s, drops, source blind spots."""
        report = health.report()
        return JSONResponse(report)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus exposition of the same counters."""
        if metrics_need_token:
            require_viewer(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if parts is not None:
        app.state.parts = parts
        app.state.authenticator = Authenticator(parts.store.auth, parts.settings)
        for router in ROUTERS:
            app.include_router(router)
        app.include_router(dashboard_router)
        app.include_router(profiles_page_router)
        app.include_router(events_page_router)
        app.include_router(map_page_router)
        static = resources.files("runwatch.web").joinpath("static")
        app.mount("/static", StaticFiles(directory=str(static)), name="static")
        install_error_pages(app)
        app.add_middleware(SecurityHeaders)
    return app
