"""/api/profiles and /api/graph over real HTTP against a running daemon: listing, one profile,
mode changes and accepting (admin only), image diffs, exports, the map's abnormal edges, and
clear 4xx answers naming what was wrong."""

from __future__ import annotations

import yaml

from runwatch.config import ProfilesConfig
from runwatch.profiles.detector import ProfileDetector
from runwatch.profiles.model import Mode
from tests.support.profiles import ADDRESSES, CLIENT, IMAGE, WEB, benign_events, connection
from tests.web.conftest import WebEnv

WORKER = f"shop/worker@{IMAGE}"


def learn(web: WebEnv) -> ProfileDetector:
    """Profiles learned from the benign events, stored; the client then calls a stranger."""
    detector = ProfileDetector(ProfilesConfig(), "test-host")
    for app, address in ADDRESSES.items():
        detector.remember_address(address, f"shop/{app}@{IMAGE}")
    detector.match(benign_events())
    detector.states[CLIENT].record.mode = Mode.MONITOR
    [alert] = detector.match([connection("connect", "client", ADDRESSES["client"], "203.0.113.9", 4444)])
    web.store.add_alerts([alert])
    web.store.profiles.apply(detector.take_changes())
    return detector


def test_profiles_are_listed_and_read_by_viewers(web: WebEnv) -> None:
    learn(web)
    with web.client(web.viewer) as client:
        listed = {p["workload"]: p for p in client.get("/api/profiles").json()}
        assert set(listed) == {WEB, CLIENT, WORKER}
        assert listed[WEB]["mode"] == "learn" and listed[WEB]["by_kind"]["listen"] == 1
        profile = client.get(f"/api/profiles/{WEB}").json()
        assert profile["workload"] == WEB
        assert {"kind": "listen", "item": ["8080", "tcp"], "text": "tcp/8080",
                "origin": "learned"}.items() <= next(i for i in profile["profile_items"]
                                                     if i["kind"] == "listen").items()
        missing = client.get("/api/profiles/shop/db@postgres")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no profile for workload 'shop/db@postgres'"
        assert client.get(f"/api/profiles/{WEB}/diff").json() == []
    with web.client(None) as anonymous:
        assert anonymous.get("/api/profiles").status_code == 401


def test_modes_change_only_for_admins_and_only_to_known_modes(web: WebEnv) -> None:
    learn(web)
    with web.client(web.viewer) as viewer:
        assert viewer.post(f"/api/profiles/{WEB}/mode", json={"mode": "monitor"}).status_code == 403
    with web.client(web.admin) as admin:
        changed = admin.post(f"/api/profiles/{WEB}/mode", json={"mode": "protect"})
        assert changed.status_code == 200 and changed.json()["mode"] == "protect"
        assert changed.json()["revision"] >= 1
        bad = admin.post(f"/api/profiles/{WEB}/mode", json={"mode": "enforce"})
        assert bad.status_code == 400
        assert bad.json()["detail"] == "unknown profile mode 'enforce' (expected learn, monitor or protect)"
        assert admin.post("/api/profiles/nope/mode", json={"mode": "learn"}).status_code == 404
        assert admin.post(f"/api/profiles/{WEB}/mode", json={}).status_code == 422


def test_accepting_a_flagged_connection_makes_its_edge_normal(web: WebEnv) -> None:
    learn(web)
    with web.client(web.admin) as admin:
        graph = admin.get("/api/graph").json()
        edge = next(e for e in graph["edges"] if e["target"] == "203.0.113.9")
        assert edge["source"] == CLIENT and edge["port"] == 4444 and edge["abnormal"] is True
        assert edge["alert_id"] is not None
        normal = next(e for e in graph["edges"] if e["target"] == WEB)
        assert normal["abnormal"] is False and normal["source"] == CLIENT
        nodes = {n["id"]: n for n in graph["nodes"]}
        assert nodes[CLIENT] == {"id": CLIENT, "kind": "workload", "mode": "monitor"}
        assert nodes["203.0.113.9"]["kind"] == "external"

        other = admin.post(f"/api/profiles/{WEB}/accept", json={"alert_id": edge["alert_id"]})
        assert other.status_code == 400 and "concerns workload" in other.json()["detail"]
        accepted = admin.post(f"/api/profiles/{CLIENT}/accept", json={"alert_id": edge["alert_id"]})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["accepted"][0]["text"] == "tcp/4444 to 203.0.113.9"
        edge = next(e for e in admin.get("/api/graph").json()["edges"] if e["target"] == "203.0.113.9")
        assert edge["abnormal"] is False

        by_item = admin.post(f"/api/profiles/{WEB}/accept", json={"kind": "listen", "item": ["9090", "tcp"]})
        assert by_item.status_code == 200
        bad = admin.post(f"/api/profiles/{WEB}/accept", json={"kind": "sockets", "item": ["1"]})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("unknown profile item kind 'sockets'")
        assert admin.post(f"/api/profiles/{WEB}/accept", json={}).status_code == 400
        assert admin.post(f"/api/profiles/{WEB}/diff", json={"decision": "accept"}).json()["items"] == 0


def test_exports_are_served_as_yaml(web: WebEnv) -> None:
    learn(web)
    with web.client(web.viewer) as client:
        response = client.get(f"/api/profiles/{CLIENT}/export", params={"format": "networkpolicy"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/yaml")
        assert yaml.safe_load(response.text)["kind"] == "NetworkPolicy"
        bad = client.get(f"/api/profiles/{CLIENT}/export", params={"format": "pdf"})
        assert bad.status_code == 400 and bad.json()["detail"].startswith("unknown export format 'pdf'")


def test_an_admin_forgets_a_learned_item_and_a_viewer_cannot(web: WebEnv) -> None:
    learn(web)
    with web.client(web.viewer) as viewer:
        refused = viewer.post(f"/api/profiles/{WEB}/forget", json={"kind": "listen", "item": ["8080", "tcp"]})
        assert refused.status_code == 403
    with web.client(web.admin) as admin:
        forgotten = admin.post(f"/api/profiles/{WEB}/forget", json={"kind": "listen", "item": ["8080", "tcp"]})
        assert forgotten.status_code == 200, forgotten.text
        assert forgotten.json()["text"] == "tcp/8080"
        items = admin.get(f"/api/profiles/{WEB}").json()["profile_items"]
        assert ["8080", "tcp"] not in [i["item"] for i in items if i["kind"] == "listen"]
        again = admin.post(f"/api/profiles/{WEB}/forget", json={"kind": "listen", "item": ["8080", "tcp"]})
        assert again.status_code == 400 and "has no listen item '8080 tcp'" in again.json()["detail"]
        empty = admin.post(f"/api/profiles/{WEB}/forget", json={"kind": "listen", "item": []})
        assert empty.status_code == 422
