"""/map, the dashboard's connectivity map: server-drawn SVG, abnormal edges in red linking to the
alert behind them, the edges listed; anonymous visitors are sent to sign in."""

from __future__ import annotations

import re

from tests.support.profiles import CLIENT, WEB
from tests.web.conftest import WebEnv
from tests.web.test_dashboard import sign_in
from tests.web.test_profiles_api import learn


def test_the_map_draws_workloads_peers_and_abnormal_edges(web: WebEnv) -> None:
    learn(web)
    client = sign_in(web, web.viewer)
    try:
        page = client.get("/map")
        assert page.status_code == 200
        html = page.text
        assert '<svg class="graph"' in html and "Connectivity map" in html
        abnormal = re.search(r'<a href="/alerts/([0-9a-f]+)" class="abnormal"><line [^>]*stroke="#d33"',
                             html)
        assert abnormal is not None, "the abnormal edge is red and links to its alert"
        assert web.store.get_alert(abnormal.group(1)) is not None
        assert 'stroke="#8a94a6"' in html, "normal edges are grey"
        assert f"{CLIENT}" in html and f"{WEB}" in html and "203.0.113.9" in html
        assert 'href="/map" class="active"' in html
    finally:
        client.close()
    with web.client(None) as anonymous:
        answer = anonymous.get("/map", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/map"
