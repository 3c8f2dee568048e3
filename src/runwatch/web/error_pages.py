"""Errors on dashboard pages as pages: a person following a stale link reads what went wrong in
the dashboard's frame, while the API (and anything asking for JSON) keeps FastAPI's JSON body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from runwatch.web.auth import authenticator_of
from runwatch.web.templates import templates

_JSON_PATHS = ("/api/", "/openapi.json", "/healthz", "/metrics", "/static/")


def wants_page(request: Request) -> bool:
    """A browser navigating the dashboard, not a script calling the API."""
    return (not request.url.path.startswith(_JSON_PATHS)
            and "text/html" in request.headers.get("accept", ""))


def install_error_pages(app: FastAPI) -> None:
    """Render 4xx/5xx answers to page requests with error.html; redirects pass through."""

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code < 400 or not wants_page(request):
            return await http_exception_handler(request, error)
        return await run_in_threadpool(_page, request, error.status_code, str(error.detail))

    async def on_invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        if not wants_page(request):
            return await request_validation_exception_handler(request, error)
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'][1:])}: {e['msg']}"
                             for e in error.errors())
        return await run_in_threadpool(_page, request, 422, problems)

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid)


def _page(request: Request, status_code: int, message: str) -> Response:
    """The error page; it reads the store (who is asking), so it runs in a worker thread."""
    principal = authenticator_of(request).authenticate(request)
    return templates.TemplateResponse(request, "error.html", {
        "principal": principal, "csrf": principal.session.csrf if principal and principal.session else "",
        "health": request.app.state.parts.health.report(), "page": "error",
        "status_code": status_code, "message": message}, status_code=status_code)
