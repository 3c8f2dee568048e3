"""The REST API: one router per resource, each behind a token."""

from runwatch.web.api.alerts import router as alerts_router
from runwatch.web.api.containers import router as containers_router
from runwatch.web.api.events import router as events_router
from runwatch.web.api.ingest import router as ingest_router
from runwatch.web.api.overview import router as overview_router
from runwatch.web.api.profiles import router as profiles_router
from runwatch.web.api.responses import router as responses_router
from runwatch.web.api.rules import router as rules_router
from runwatch.web.api.stream import router as stream_router
from runwatch.web.api.system import router as system_router

ROUTERS = [alerts_router, events_router, containers_router, rules_router, responses_router,
           overview_router, stream_router, system_router, profiles_router, ingest_router]

__all__ = ["ROUTERS"]
