"""The HTTP server: health and metrics now; the API and dashboard mount here too."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from runwatch import __version__
from runwatch.health import Health, HealthCollector


def create_app(health: Health) -> FastAPI:
    """The app for one daemon; metrics come from its own registry, not a process-wide one."""
    app = FastAPI(title="runwatch", version=__version__)
    registry = CollectorRegistry()
    registry.register(HealthCollector(health))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness and internal health: queue depths, events/s, drops, source blind spots."""
        report = health.report()
        return JSONResponse(report)

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus exposition of the same counters."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
