"""Dashboard sign-in with an API token, and sign-out.

The token is posted once; the browser then holds only a session cookie (HttpOnly, SameSite=Strict,
Secure over HTTPS) whose hash the store keeps. The sign-in form carries a one-time value also set
as a cookie, so another site cannot sign a browser in to an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from runwatch.web.auth import LOGIN_COOKIE, SESSION_COOKIE, Authenticator, authenticator_of, \
    require_csrf
from runwatch.web.templates import templates
from runwatch.web.tokens import Role, verify_token

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never '//elsewhere' or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/", error: str = "") -> Response:  # noqa: A002
    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(request, "login.html", {
        "nonce": nonce, "next": safe_next(next), "error": error, "principal": None})
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=900, httponly=True, samesite="strict",
                        secure=authenticator_of(request).cookie_is_secure(request), path="/login")
    return response


@router.post("/login")
async def login(request: Request, token: Annotated[str, Form(max_length=200)],
                nonce: Annotated[str, Form(max_length=100)],
                next: Annotated[str, Form(max_length=2000)] = "/") -> Response:  # noqa: A002
    authenticator = authenticator_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, nonce):
        return _back_to_login(next, "The sign-in form expired; try again.", 303)
    record = await run_in_threadpool(verify_token, authenticator.auth, token)
    if record is None:
        return _back_to_login(next, "That token is not valid (wrong, revoked or mistyped).", 303)
    if record.role == Role.INGEST:
        return _back_to_login(next, "An ingest token only sends events; sign in with a viewer or "
                                    "admin token.", 303)
    cookie, session = await run_in_threadpool(authenticator.start_session, record)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(authenticator.settings.session_hours * 3600),
                        httponly=True, samesite="strict", secure=authenticator.cookie_is_secure(request),
                        path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    authenticator: Authenticator = authenticator_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None:
        authenticator.end_session(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _back_to_login(target: str, error: str, code: int) -> Response:
    return RedirectResponse("/login?" + urlencode({"next": safe_next(target), "error": error}),
                            status_code=code)
