"""The dashboard over real HTTP: signing in with a token, the session cookie's protections, CSRF
on every change, and each page rendered from the store."""

from __future__ import annotations

import re
from contextlib import closing

import httpx
import pytest

from tests.web.conftest import NGINX, WebEnv

pytestmark = pytest.mark.integration


def sign_in(web: WebEnv, token: str) -> httpx.Client:
    client = httpx.Client(base_url=web.url, timeout=10)
    form = client.get("/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    answer = client.post("/login", data={"token": token, "nonce": nonce.group(1), "next": "/alerts"})
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    return client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None and found.group(1)
    return found.group(1)


def test_pages_send_anonymous_visitors_to_sign_in_and_back(web: WebEnv) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as client:
        answer = client.get("/alerts?status=open")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/alerts%3Fstatus%3Dopen"


def test_the_session_cookie_is_httponly_and_strict_and_the_token_is_not_kept(web: WebEnv) -> None:
    client = httpx.Client(base_url=web.url, timeout=10)
    form = client.get("/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"token": web.viewer, "nonce": nonce, "next": "//evil.example"})
    assert answer.headers["location"] == "/"  # only paths on this site
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("runwatch_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; `auto` sets it over HTTPS
    assert web.viewer not in cookie
    assert client.get("/").status_code == 200


def test_a_wrong_token_or_a_missing_nonce_does_not_sign_in(web: WebEnv) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as client:
        nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        wrong = client.post("/login", data={"token": web.revoked, "nonce": nonce})
        assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
        assert "runwatch_session" not in client.cookies
        page = client.get(wrong.headers["location"])
        assert "That token is not valid" in page.text
    with httpx.Client(base_url=web.url, timeout=10) as fresh:  # no nonce cookie: another site's form
        forged = fresh.post("/login", data={"token": web.admin, "nonce": "guess"})
        assert "form expired" in httpx.QueryParams(forged.headers["location"].split("?", 1)[1])["error"]
        assert "runwatch_session" not in fresh.cookies


def test_every_page_renders_for_a_signed_in_viewer(web: WebEnv) -> None:
    with closing(sign_in(web, web.viewer)) as client:
        overview = client.get("/")
        assert overview.status_code == 200 and "Needs attention" in overview.text
        assert "cat read /etc/shadow in nginx" in overview.text
        listing = client.get("/alerts", params={"rule": "Shadow read", "priority": "critical"})
        assert listing.status_code == 200 and "cat read /etc/shadow in redis" in listing.text
        assert "shell sh -i in redis" not in listing.text
        detail = client.get(f"/alerts/{web.alerts[0].id}")
        assert detail.status_code == 200 and "Process ancestry" in detail.text
        assert "Undo pause" not in detail.text and "Acknowledge" not in detail.text  # a viewer's page
        assert "policy quarantine matched" in detail.text  # the response taken
        containers = client.get("/containers")
        assert containers.status_code == 200 and "nginx" in containers.text
        container = client.get(f"/containers/{NGINX}")
        assert container.status_code == 200 and "docker.io/library/nginx:1.27" in container.text
        rules = client.get("/rules")
        assert rules.status_code == 200 and "Shadow read" in rules.text and "Disable" not in rules.text
        assert client.get("/static/runwatch.css").status_code == 200
        assert client.get("/static/runwatch.js").status_code == 200
        assert "default-src 'self'" in overview.headers["content-security-policy"]


def test_a_session_write_needs_the_csrf_token_and_an_admin(web: WebEnv) -> None:
    target = web.alerts[5].id
    with closing(sign_in(web, web.admin)) as admin:
        csrf = csrf_of(admin.get(f"/alerts/{target}"))
        no_csrf = admin.post(f"/alerts/{target}/status", data={"status": "acknowledged"})
        assert no_csrf.status_code == 403 and no_csrf.json()["detail"] == "missing or wrong CSRF token"
        api_no_csrf = admin.post(f"/api/alerts/{target}/ack", json={"comment": "x"})
        assert api_no_csrf.status_code == 403
        done = admin.post(f"/alerts/{target}/status", data={"status": "acknowledged", "csrf": csrf,
                                                            "comment": "on it"})
        assert done.status_code == 303 and done.headers["location"] == f"/alerts/{target}"
        page = admin.get(f"/alerts/{target}")
        assert "on it" in page.text and "alice" in page.text
        via_api = admin.post(f"/api/alerts/{target}/resolve", json={"comment": "closed"},
                             headers={"X-CSRF-Token": csrf})
        assert via_api.status_code == 200 and via_api.json()["status"] == "resolved"
    with closing(sign_in(web, web.viewer)) as viewer:
        csrf = csrf_of(viewer.get(f"/alerts/{target}"))
        refused = viewer.post(f"/alerts/{target}/status", data={"status": "open", "csrf": csrf})
        assert refused.status_code == 403 and refused.json()["detail"] == "this needs an admin token"
    assert web.store.get_alert(target).status == "resolved"  # type: ignore[union-attr]


def test_signing_out_ends_the_session(web: WebEnv) -> None:
    client = sign_in(web, web.viewer)
    csrf = csrf_of(client.get("/"))
    cookie = client.cookies["runwatch_session"]
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=web.url, timeout=10, cookies={"runwatch_session": cookie}) as replay:
        assert replay.get("/").status_code == 303
        assert replay.get("/api/alerts").status_code == 401


def test_errors_on_pages_are_pages_and_on_the_api_json(web: WebEnv) -> None:
    page = {"Accept": "text/html,application/xhtml+xml"}
    with closing(sign_in(web, web.viewer)) as client:
        missing = client.get(f"/alerts/{'e' * 32}", headers=page)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        assert "Not found" in missing.text and f"no alert with id {'e' * 32}" in missing.text
        bad = client.get("/alerts", params={"since": "yesterday"}, headers=page)
        assert bad.status_code == 422 and "since: expected ISO 8601" in bad.text
        api = client.get(f"/api/alerts/{'e' * 32}", headers=page)
        assert api.status_code == 404 and api.json() == {"detail": f"no alert with id {'e' * 32}"}
        script = client.get(f"/alerts/{'e' * 32}")  # no Accept: text/html
        assert script.json() == {"detail": f"no alert with id {'e' * 32}"}
    with httpx.Client(base_url=web.url, timeout=10) as anonymous:
        assert anonymous.get("/rules", headers=page).status_code == 303  # sign-in redirect kept
