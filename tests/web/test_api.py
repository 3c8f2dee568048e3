"""The REST API over real HTTP: a running daemon, a SQLite store, real tokens.

Every endpoint, every filter, pagination, and each role: a viewer reads but cannot write (403),
a revoked, wrong or missing token gets 401, an unknown route 404, a malformed query a 422 that
names the parameter.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from runwatch.store.base import AlertQuery
from runwatch.web.tokens import Role, create_token
from tests.web.conftest import NGINX, REDIS, SEEDED, WebEnv

pytestmark = pytest.mark.integration


def get(web: WebEnv, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    with web.client(token or web.viewer) as client:
        return client.get(path, params=params)


def rules_of(body: dict[str, Any]) -> list[str]:
    return [item["rule"] for item in body["items"]]


def seeded_ids(web: WebEnv, predicate: Any) -> list[str]:
    """Ids of the seeded alerts matching `predicate(SEEDED item)`, newest first."""
    return [alert.id for alert, item in zip(web.alerts, SEEDED) if predicate(item)]


def only_seeded(web: WebEnv, body: dict[str, Any]) -> list[str]:
    """The page's ids that belong to the seeded set (alerts raised by other tests are left out)."""
    known = {a.id for a in web.alerts}
    return [item["id"] for item in body["items"] if item["id"] in known]


# --- access ---------------------------------------------------------------------------------

def test_healthz_needs_no_token_and_everything_else_does(web: WebEnv) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as anonymous:
        assert anonymous.get("/healthz").json()["status"] in ("ok", "degraded")
        for path in ("/api/alerts", f"/api/alerts/{web.alerts[0].id}", "/api/events",
                     "/api/containers", "/api/rules", "/api/responses", "/api/overview",
                     "/api/health", "/api/stream", "/openapi.json"):
            answer = anonymous.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer rwt_00000000_" + "A" * 43,  # well-formed, unknown id
    "Bearer not-a-token",
    "Basic YWxpY2U6c2VjcmV0",
    "Bearer",
])
def test_a_wrong_or_malformed_token_gets_401(web: WebEnv, header: str) -> None:
    answer = httpx.get(f"{web.url}/api/alerts", headers={"Authorization": header}, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "a valid bearer token is required"}


def test_a_token_with_a_right_id_and_wrong_secret_gets_401(web: WebEnv) -> None:
    token_id = web.admin.split("_")[1]
    forged = f"rwt_{token_id}_{'B' * 43}"
    assert get(web, "/api/alerts", forged).status_code == 401


def test_a_revoked_token_gets_401(web: WebEnv) -> None:
    assert get(web, "/api/alerts", web.revoked).status_code == 401
    with web.client(web.revoked) as client:
        answer = client.post(f"/api/alerts/{web.alerts[5].id}/ack", json={"comment": "x"})
    assert answer.status_code == 401


def test_revoking_a_token_locks_it_out_at_once(web: WebEnv) -> None:
    from runwatch.web.tokens import Role, create_token
    token, record = create_token(web.store.auth, Role.VIEWER, "short-lived")
    assert get(web, "/api/alerts", token).status_code == 200
    web.store.auth.revoke_token(record.id, time.time_ns())
    assert get(web, "/api/alerts", token).status_code == 401


def test_a_viewer_reads_but_cannot_write(web: WebEnv) -> None:
    target = web.alerts[4].id
    with web.client(web.viewer) as client:
        assert client.get(f"/api/alerts/{target}").status_code == 200
        for method, path, body in [
                ("POST", f"/api/alerts/{target}/ack", {"comment": "mine"}),
                ("POST", f"/api/alerts/{target}/resolve", {"comment": "done"}),
                ("PATCH", "/api/rules/Shell spawned", {"enabled": False}),
                ("POST", "/api/responses/resp-done/undo", None)]:
            answer = client.request(method, path, json=body)
            assert answer.status_code == 403, path
            assert answer.json() == {"detail": "this needs an admin token"}
    assert get(web, f"/api/alerts/{target}").json()["status"] == "open"
    assert get(web, "/api/rules/Shell spawned").json()["enabled"] is True


def test_an_ingest_token_reads_nothing_changes_nothing_and_cannot_sign_in(web: WebEnv) -> None:
    ingest, _ = create_token(web.store.auth, Role.INGEST, "kube-apiserver")
    target = web.alerts[4].id
    with web.client(ingest) as client:
        for method, path in [("GET", "/api/alerts"), ("GET", f"/api/alerts/{target}"),
                             ("GET", "/api/events"), ("GET", "/api/health"),
                             ("POST", f"/api/alerts/{target}/ack")]:
            answer = client.request(method, path, json={"comment": "x"} if method == "POST" else None)
            assert answer.status_code == 403, path
    with httpx.Client(base_url=web.url, timeout=10) as browser:
        browser.get("/login")
        answer = browser.post("/login", data={"token": ingest, "nonce": browser.cookies["runwatch_login"]})
        assert answer.status_code == 303 and "runwatch_session" not in browser.cookies
        assert "ingest token" in browser.get(answer.headers["location"]).text
    assert get(web, f"/api/alerts/{target}").json()["status"] == "open"


def test_an_unknown_route_is_404(web: WebEnv) -> None:
    assert get(web, "/api/nothing-here").status_code == 404
    assert get(web, "/api/alerts/" + "f" * 32).status_code == 404
    assert get(web, "/api/alerts/" + "f" * 32).json() == {"detail": f"no alert with id {'f' * 32}"}
    assert get(web, "/api/containers/feedfeedfeed").status_code == 404
    assert get(web, "/api/rules/No such rule").status_code == 404
    assert get(web, "/api/responses/nope").status_code == 404


def test_openapi_schema_needs_a_token_and_lists_every_path(web: WebEnv) -> None:
    schema = get(web, "/openapi.json").json()
    assert schema["info"]["title"] == "runwatch"
    for path in ("/api/alerts", "/api/alerts/{alert_id}", "/api/alerts/{alert_id}/ack",
                 "/api/events", "/api/containers", "/api/rules", "/api/responses", "/api/stream",
                 "/api/overview", "/api/health"):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/alerts"]["get"]["parameters"]}
    assert {"since", "until", "priority", "rule", "tag", "container", "image", "q", "status",
            "limit", "offset"} <= params


def test_health_behind_a_token_matches_healthz(web: WebEnv) -> None:
    report = get(web, "/api/health").json()
    assert report["sources"]["push"]["state"] == "running"
    assert set(report) == set(httpx.get(f"{web.url}/healthz", timeout=10).json())


# --- alerts: filters and pagination ---------------------------------------------------------

def test_alerts_come_newest_first_with_a_total(web: WebEnv) -> None:
    body = get(web, "/api/alerts", limit=1000).json()
    times = [item["time_ns"] for item in body["items"]]
    assert times == sorted(times, reverse=True)
    assert only_seeded(web, body) == [a.id for a in web.alerts]
    assert body["total"] == len(body["items"]) and body["next_offset"] is None
    first = next(item for item in body["items"] if item["id"] == web.alerts[0].id)
    assert first["priority"] == "Critical" and first["container_id"] == NGINX
    assert first["output_fields"]["fd.name"] == "/etc/shadow"
    assert first["tags"] == ["filesystem", "mitre_credential_access"]


def test_pagination_walks_every_alert_once(web: WebEnv) -> None:
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        body = get(web, "/api/alerts", limit=2, offset=offset, until="20m").json()
        assert body["limit"] == 2 and body["offset"] == offset and len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        offset = body["next_offset"]
        pages += 1
    assert seen == [a.id for a in web.alerts] and pages == 4  # 7 older than 20 minutes
    assert get(web, "/api/alerts", offset=100, until="20m").json()["items"] == []


def test_time_range_filters(web: WebEnv) -> None:
    assert only_seeded(web, get(web, "/api/alerts", since="4h").json()) == \
        seeded_ids(web, lambda s: s.hours_ago < 4)
    assert only_seeded(web, get(web, "/api/alerts", since="2d", until="2h").json()) == \
        seeded_ids(web, lambda s: 2 < s.hours_ago < 48)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 40 * 3600))
    assert only_seeded(web, get(web, "/api/alerts", until=iso).json()) == \
        seeded_ids(web, lambda s: s.hours_ago > 40)
    ns = str(time.time_ns() - 6 * 3600 * 10**9)
    assert only_seeded(web, get(web, "/api/alerts", since=ns).json()) == \
        seeded_ids(web, lambda s: s.hours_ago < 6)


def test_priority_filters_exact_and_at_least(web: WebEnv) -> None:
    body = get(web, "/api/alerts", priority="critical").json()
    assert only_seeded(web, body) == seeded_ids(web, lambda s: s.priority.label == "Critical")
    with web.client(web.viewer) as client:
        both = client.get("/api/alerts", params=[("priority", "critical"), ("priority", "error")]).json()
    assert only_seeded(web, both) == seeded_ids(web, lambda s: s.priority.label in ("Critical", "Error"))
    at_least = get(web, "/api/alerts", min_priority="warning").json()
    assert only_seeded(web, at_least) == seeded_ids(web, lambda s: s.priority.label != "Notice")


@pytest.mark.parametrize("params, predicate", [
    ({"rule": "Shell spawned"}, lambda s: s.rule == "Shell spawned"),
    ({"tag": "mitre_credential_access"}, lambda s: "mitre_credential_access" in s.tags),
    ({"tag": "mitre"}, lambda s: False),  # a tag matches whole, never a prefix
    ({"container": REDIS}, lambda s: s.container_id == REDIS),
    ({"image": "docker.io/library/nginx"}, lambda s: s.image == "docker.io/library/nginx"),
    ({"q": "SHADOW"}, lambda s: "shadow" in s.output),  # case-insensitive
    ({"q": "miner"}, lambda s: "miner" in s.rule.lower()),  # the rule name counts as text
    ({"q": "100%"}, lambda s: False),  # LIKE wildcards are taken literally
    ({"rule": "Shell spawned", "container": NGINX}, lambda s: s.rule == "Shell spawned"
     and s.container_id == NGINX),
])
def test_each_alert_filter(web: WebEnv, params: dict[str, str], predicate: Any) -> None:
    body = get(web, "/api/alerts", until="20m", **params).json()
    expected = seeded_ids(web, predicate)
    assert only_seeded(web, body) == expected and body["total"] == len(expected)


def test_severity_order_puts_the_most_severe_first_newest_first_within(web: WebEnv) -> None:
    body = get(web, "/api/alerts", sort="severity", until="20m").json()
    order = sorted(range(len(SEEDED)), key=lambda i: (int(SEEDED[i].priority), SEEDED[i].hours_ago))
    assert only_seeded(web, body) == [web.alerts[i].id for i in order]
    assert [item["priority"] for item in body["items"]][:2] == ["Critical", "Critical"]
    second = get(web, "/api/alerts", sort="severity", until="20m", limit=3, offset=3).json()
    assert only_seeded(web, second) == [web.alerts[i].id for i in order][3:6]
    texts = get(web, "/api/alerts", sort="severity", q="shadow", until="20m").json()
    assert only_seeded(web, texts) == [web.alerts[0].id, web.alerts[6].id]
    bad = get(web, "/api/alerts", sort="loudest")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "sort"]


def test_one_alert_and_its_similar_alerts(web: WebEnv) -> None:
    newest_shadow, older_shadow = web.alerts[0], web.alerts[6]
    body = get(web, f"/api/alerts/{newest_shadow.id}").json()
    assert body["rule"] == "Shadow read" and body["hostname"] == "web-host"
    assert body["output"] == "cat read /etc/shadow in nginx"
    similar = get(web, f"/api/alerts/{newest_shadow.id}/similar").json()
    assert older_shadow.id in [a["id"] for a in similar]
    assert newest_shadow.id not in [a["id"] for a in similar]


# --- alerts: triage -------------------------------------------------------------------------

def test_an_admin_acknowledges_with_a_comment_then_resolves_and_reopens(web: WebEnv) -> None:
    target = web.alerts[3].id
    with web.client(web.admin) as client:
        acked = client.post(f"/api/alerts/{target}/ack", json={"comment": "  looking into it "})
        assert acked.status_code == 200
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["status_comment"] == "looking into it"
        assert acked.json()["status_by"].startswith("alice (")
        resolved = client.post(f"/api/alerts/{target}/resolve", json={"comment": "miner removed"})
        assert resolved.json()["status"] == "resolved"
        reopened = client.post(f"/api/alerts/{target}/ack", json={"status": "open", "comment": "back"})
        assert reopened.json()["status"] == "open"
    stored = get(web, f"/api/alerts/{target}").json()
    assert [(a["status"], a["comment"]) for a in stored["activity"]] == [
        ("acknowledged", "looking into it"), ("resolved", "miner removed"), ("open", "back")]
    assert web.store.get_alert(target).status == "open"  # type: ignore[union-attr]


def test_status_filter_follows_triage(web: WebEnv) -> None:
    target = web.alerts[1].id
    with web.client(web.admin) as client:
        assert client.post(f"/api/alerts/{target}/ack").status_code == 200  # no body: acknowledge
    assert target in only_seeded(web, get(web, "/api/alerts", status="acknowledged").json())
    assert target not in only_seeded(web, get(web, "/api/alerts", status="open").json())


def test_bad_triage_bodies_get_422_naming_the_field(web: WebEnv) -> None:
    target = web.alerts[2].id
    with web.client(web.admin) as client:
        bad_status = client.post(f"/api/alerts/{target}/ack", json={"status": "deleted"})
        long_comment = client.post(f"/api/alerts/{target}/ack", json={"comment": "x" * 4001})
        missing = client.post(f"/api/alerts/{'a' * 32}/ack", json={"comment": "x"})
        bad_id = client.post("/api/alerts/not-an-id/ack", json={"comment": "x"})
    assert bad_status.status_code == 422 and bad_status.json()["detail"][0]["loc"] == ["body", "status"]
    assert long_comment.status_code == 422 and long_comment.json()["detail"][0]["loc"] == ["body", "comment"]
    assert missing.status_code == 404
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "alert_id"]
    assert web.store.get_alert(target).status == "open"  # type: ignore[union-attr]


@pytest.mark.parametrize("params, name", [
    ({"since": "yesterday"}, "since"),
    ({"until": "12q"}, "until"),
    ({"since": "1h", "until": "2h"}, "until"),  # until before since
    ({"priority": "severe"}, "priority"),
    ({"min_priority": "loud"}, "min_priority"),
    ({"status": "closed"}, "status"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"q": "x" * 201}, "q"),
])
def test_a_malformed_alert_query_gets_422_naming_the_parameter(web: WebEnv, params: dict[str, str],
                                                               name: str) -> None:
    answer = get(web, "/api/alerts", **params)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"][:2] == ["query", name]  # a repeated parameter adds its position
    assert error["msg"]


def test_a_bad_value_says_what_it_expects(web: WebEnv) -> None:
    [error] = get(web, "/api/alerts", since="yesterday").json()["detail"]
    assert "ISO 8601" in error["msg"] and "'yesterday'" in error["msg"]
    [error] = get(web, "/api/alerts", priority="severe").json()["detail"]
    assert "'critical'" in error["msg"] and error["input"] == "severe"


# --- events ---------------------------------------------------------------------------------

def test_events_by_each_filter_and_any_field(web: WebEnv) -> None:
    def names(**params: Any) -> list[str]:
        return [e["proc.name"] for e in get(web, "/api/events", **params).json()["items"]]

    assert names() == ["cat", "sh", "redis-server", "curl", "sshd"]  # newest first
    assert names(type="execve") == ["sh"]
    assert names(source="syscall", container=REDIS) == ["redis-server", "curl"]
    assert names(image="docker.io/library/nginx") == ["cat", "sh"]
    assert names(q="DUMP.RDB") == ["redis-server"]
    assert names(field="fd.name=/etc/shadow") == ["cat", "sshd"]
    assert names(field="proc.name=curl") == ["curl"]
    with web.client(web.viewer) as client:
        both = client.get("/api/events", params=[("field", "fd.name=/etc/shadow"),
                                                 ("field", "user.name=root")]).json()
    assert [e["proc.name"] for e in both["items"]] == ["cat", "sshd"]
    assert names(since="90m") == ["cat"]
    assert names(until="270m") == ["sshd"]


def test_events_paginate(web: WebEnv) -> None:
    first = get(web, "/api/events", limit=2).json()
    assert [e["proc.name"] for e in first["items"]] == ["cat", "sh"] and first["next_offset"] == 2
    last = get(web, "/api/events", limit=2, offset=4).json()
    assert [e["proc.name"] for e in last["items"]] == ["sshd"] and last["next_offset"] is None


@pytest.mark.parametrize("params, name", [
    ({"field": "proc.name"}, "field"),
    ({"field": "not a field=x"}, "field"),
    ({"since": "soon"}, "since"),
    ({"limit": "0"}, "limit"),
])
def test_a_malformed_event_query_gets_422_naming_the_parameter(web: WebEnv, params: dict[str, str],
                                                               name: str) -> None:
    answer = get(web, "/api/events", **params)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", name]


# --- containers, rules, responses, overview -------------------------------------------------

def test_containers_with_their_alerts(web: WebEnv) -> None:
    listed = {c["id"]: c for c in get(web, "/api/containers").json()}
    assert listed[NGINX]["name"] == "nginx" and listed[NGINX]["image"] == "docker.io/library/nginx:1.27"
    assert listed[REDIS]["labels"] == {"app": "cache"}
    assert listed[NGINX]["alerts"] >= 3 and listed[NGINX]["worst_priority"] == "Critical"
    assert listed[REDIS]["alerts"] >= 3
    detail = get(web, f"/api/containers/{REDIS}").json()
    assert detail["record"]["privileged"] is True
    assert {a["id"] for a in detail["recent_alerts"]} >= set(seeded_ids(web, lambda s: s.container_id == REDIS))
    assert all(a["container_id"] == REDIS for a in detail["recent_alerts"])


def test_rules_loaded_enabled_and_hit_counts_and_switching(web: WebEnv) -> None:
    rules = {r["name"]: r for r in get(web, "/api/rules").json()}
    assert set(rules) == {"Shadow read", "Shell spawned", "Never compiled"}
    assert rules["Shadow read"]["priority"] == "Critical" and rules["Shadow read"]["detector"] == "falco"
    assert rules["Never compiled"]["enabled"] is False and rules["Never compiled"]["enabled_in_file"] is False
    before = rules["Shell spawned"]["hits"]
    with web.client(web.admin) as client:
        off = client.patch("/api/rules/Shell spawned", json={"enabled": False})
        assert off.status_code == 200 and off.json()["enabled"] is False
        web.source.push({"evt.type": "execve", "evt.source": "syscall", "proc.name": "sh",
                         "proc.cmdline": "sh -c off", "container.id": NGINX})
        web.source.push({"evt.type": "openat", "evt.source": "syscall", "proc.name": "cat",
                         "fd.name": "/etc/shadow", "container.id": NGINX})  # a marker after it
        wait_for(lambda: get(web, "/api/rules/Shadow read").json()["hits"] >= 1)
        assert get(web, "/api/rules/Shell spawned").json()["hits"] == before  # not raised
        on = client.patch("/api/rules/Shell spawned", json={"enabled": True})
        assert on.json()["enabled"] is True
        web.source.push({"evt.type": "execve", "evt.source": "syscall", "proc.name": "sh",
                         "proc.cmdline": "sh -c on", "container.id": NGINX})
        wait_for(lambda: get(web, "/api/rules/Shell spawned").json()["hits"] == before + 1)
        refused = client.patch("/api/rules/Never compiled", json={"enabled": True})
        assert refused.status_code == 409 and "disabled in its rules file" in refused.json()["detail"]
        unknown = client.patch("/api/rules/Nope", json={"enabled": False})
        assert unknown.status_code == 404
        bad = client.patch("/api/rules/Shell spawned", json={"enabled": "maybe"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "enabled"]


def test_responses_listed_and_undo_refused_with_the_reason(web: WebEnv) -> None:
    listed = get(web, "/api/responses").json()
    assert [r["id"] for r in listed] == ["resp-done", "resp-dry"]
    assert listed[0]["action"] == "pause" and listed[0]["status"] == "done"
    only = get(web, "/api/responses", alert=web.alerts[2].id).json()
    assert [r["id"] for r in only] == ["resp-dry"]
    assert get(web, "/api/responses/resp-dry").json()["reason"] == "dry run"
    with web.client(web.admin) as client:
        dry = client.post("/api/responses/resp-dry/undo")
        assert dry.status_code == 409 and "nothing to undo" in dry.json()["detail"]
        no_engine = client.post("/api/responses/resp-done/undo")
        assert no_engine.status_code == 409 and "engine" in no_engine.json()["detail"]
        assert client.post("/api/responses/nope/undo").status_code == 404
    assert get(web, "/api/responses/resp-done").json()["status"] == "done"  # unchanged


def test_overview_counts_by_priority_and_the_tops(web: WebEnv) -> None:
    body = get(web, "/api/overview", window="24h").json()
    assert len(body["buckets"]) == 48
    day = [s for s in SEEDED if s.hours_ago < 24]
    assert sum(sum(b["counts"].values()) for b in body["buckets"]) == sum(body["by_priority"].values())
    assert body["by_priority"].get("Error", 0) >= 1 and body["by_priority"].get("Critical", 0) >= 1
    assert sum(body["by_priority"].values()) >= len(day)
    assert body["top_rules"][0]["count"] >= body["top_rules"][-1]["count"]
    assert {c["key"] for c in body["top_containers"]} == {NGINX, REDIS}
    week = get(web, "/api/overview", window="7d").json()
    assert sum(week["by_priority"].values()) >= len(SEEDED)
    bad = get(web, "/api/overview", window="forever")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "window"]


# --- the stream -----------------------------------------------------------------------------

def test_the_stream_sends_each_new_alert_as_it_is_raised(web: WebEnv) -> None:
    received: list[dict[str, Any]] = []
    connected = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=web.url, timeout=httpx.Timeout(10, read=30),
                          headers={"Authorization": f"Bearer {web.viewer}"}) as client:
            with client.stream("GET", "/api/stream", params={"min_priority": "critical"}) as answer:
                assert answer.headers["content-type"].startswith("text/event-stream")
                event = ""
                for line in answer.iter_lines():
                    if line == ": connected":
                        connected.set()
                    elif line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "alert":
                        received.append(json.loads(line.removeprefix("data: ")))
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert connected.wait(10), "the stream did not open"
    web.source.push({"evt.type": "execve", "evt.source": "syscall", "proc.name": "sh",
                     "proc.cmdline": "sh -c below the floor", "container.id": REDIS})  # Notice: filtered
    web.source.push({"evt.type": "openat", "evt.source": "syscall", "proc.name": "less",
                     "fd.name": "/etc/shadow", "container.id": REDIS})
    reader.join(20)
    [alert] = received
    assert alert["rule"] == "Shadow read" and alert["priority"] == "Critical"
    assert alert["output"] == f"less read /etc/shadow in {REDIS}" and alert["status"] == "open"
    stored = get(web, f"/api/alerts/{alert['id']}").json()  # the same alert, stored
    assert stored["output"] == alert["output"]
    assert web.store.search_alerts(AlertQuery(rule="Shadow read", container_id=REDIS)).total >= 2


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
