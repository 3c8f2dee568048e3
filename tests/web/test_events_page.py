"""The Events page over real HTTP: events of every source searched with the API's filters."""

from __future__ import annotations

import html
import re
import time
from contextlib import closing

import pytest

from tests.web.conftest import NGINX, WebEnv
from tests.web.test_dashboard import sign_in

pytestmark = pytest.mark.integration


def rows(page_html: str) -> list[str]:
    """The one-line summaries of the listed events, in order."""
    return [html.unescape(s) for s in re.findall(r'<summary class="mono small">(.*?)</summary>', page_html)]


def test_log_events_are_found_by_source_and_text_and_show_their_message(web: WebEnv) -> None:
    now = time.time_ns()
    web.store.add_events([
        {"evt.source": "syslog", "evt.time": now - 1_000, "log.program": "sshd", "log.pid": 812,
         "log.message": "Failed password for root from 203.0.113.9 port 52211 ssh2",
         "log.path": "/var/log/auth.log"},
        {"evt.source": "log", "evt.time": now - 2_000, "log.stream": "stderr",
         "log.message": "connection refused <upstream>", "container.id": NGINX},
    ])
    with closing(sign_in(web, web.viewer)) as client:
        syslog = client.get("/events", params={"source": "syslog"})
        assert syslog.status_code == 200
        assert rows(syslog.text) == ["sshd: Failed password for root from 203.0.113.9 port 52211 ssh2"]
        found = client.get("/events", params={"q": "connection refused"}).text
        assert rows(found) == ["connection refused <upstream>"]
        assert f'href="/containers/{NGINX}"' in found and "&lt;upstream&gt;" in found
        assert "203.0.113.9" not in found


def test_kernel_events_page_through_older_results(web: WebEnv) -> None:
    with closing(sign_in(web, web.viewer)) as client:
        first = client.get("/events", params={"source": "syscall", "limit": 25}).text
        everything = rows(first)
        assert "cat → /etc/shadow" in everything and "sshd → /etc/shadow" in everything
        page = client.get("/events", params={"source": "syscall", "field": "fd.name=/etc/shadow",
                                             "limit": 1})
        assert rows(page.text) == ["cat → /etc/shadow"]
        older = re.search(r'href="([^"]+)" rel="next"', page.text)
        assert older is not None
        assert rows(client.get(html.unescape(older.group(1))).text) == ["sshd → /etc/shadow"]


def test_a_bad_filter_is_named(web: WebEnv) -> None:
    with closing(sign_in(web, web.viewer)) as client:
        answer = client.get("/events", params={"field": "no equals sign"})
    assert answer.status_code == 422 and "field" in answer.text
