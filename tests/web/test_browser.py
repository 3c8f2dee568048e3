"""The dashboard in real headless Chromium (Debian's, driven by Playwright; no browser is ever
downloaded), against the real daemon: kernel sensor, Falco's stable rules, podman.

A person signs in with the token the first start made, watches the open alerts, and sees the alert
of a real attack in a container arrive without reloading; filters to it, opens it, finds the
process, the container and the response taken, acknowledges it, and undoes the response. Each page
is saved as a screenshot (the directory is printed; RUNWATCH_SCREENSHOTS overrides it).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from runwatch.config import load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.sources.ebpf import EbpfSource
from runwatch.store.base import AlertQuery, AlertStatus
from runwatch.web.tokens import create_first_admin_token
from tests.support.daemon import DaemonThread
from tests.support.net import free_port
from tests.support.podman import ContainerFactory, require_root
from tests.web.conftest import seed

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
SHADOW_RULE = "Read sensitive file untrusted"
SCREENSHOTS = Path(os.environ.get("RUNWATCH_SCREENSHOTS", "/tmp/runwatch-screens"))

POLICY_YAML = """\
response:
  dry_run: false
  policies:
    - name: pause-shadow-readers
      match:
        rules: ["Read sensitive file untrusted"]
        name: "rwweb-*"
      action: pause
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is not installed (scripts/bootstrap.sh test installs it)"
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])  # root has no user namespace sandbox
        try:
            yield browser
        finally:
            browser.close()


class Screens:
    """Full-page screenshots in the test's directory, copied to a stable one people can open."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page: Page, name: str) -> None:
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SCREENSHOTS / path.name)
        self.taken.append(path)


def test_sign_in_watch_a_real_attack_arrive_filter_open_acknowledge_and_undo(
        tmp_path: Path, podman_socket: str, start_container: ContainerFactory, browser: Browser,
        capsys: pytest.CaptureFixture[str]) -> None:
    require_root()
    victim = start_container("sleep", "600", name=f"rwweb-shop-{time.time_ns() % 10**8}")
    config_file = tmp_path / "runwatch.yaml"
    config_file.write_text(POLICY_YAML)
    config = load_config(config_file, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "prod-node-1", "outputs.stdout.enabled": False,
        "sources.ebpf.enabled": "true", "sources.runtime.enabled": "true",
        "sources.runtime.socket": podman_socket})
    pipeline = build_pipeline(config)
    assert any(isinstance(s, EbpfSource) for s in pipeline.sources)
    store = pipeline.store
    seed(store, time.time_ns())  # earlier alerts, so the pages show what a day looks like
    token = create_first_admin_token(store.auth)
    assert token is not None and create_first_admin_token(store.auth) is None  # once only
    daemon = DaemonThread(Daemon(config, pipeline)).start()
    screens = Screens(tmp_path / "screens")
    try:
        wait_until_sources_run(daemon.base_url, token)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{daemon.base_url}/alerts?status=open")
        expect(page).to_have_url(re.compile(r"/login\?next=/alerts"))
        page.fill("#token", token)
        screens.take(page, "sign-in")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{daemon.base_url}/alerts?status=open")
        expect(page.locator("#live-state")).to_have_text("live", timeout=10_000)
        loaded_rows = page.locator("tr.alert-row").count()

        victim.exec("cat", "/etc/shadow")  # the attack

        arrived = page.locator("tr.alert-row.is-new", has_text=SHADOW_RULE)
        expect(arrived.first).to_be_visible(timeout=20_000)  # pushed, not reloaded
        expect(arrived.first).to_contain_text(victim.name)
        expect(arrived.first.locator(".badge")).to_have_text("Warning")
        assert page.locator("tr.alert-row").count() > loaded_rows
        screens.take(page, "alerts-live")

        page.fill("input[name=container]", victim.short_id)
        page.check("input[name=priority][value=warning]")
        page.click("#filters button[type=submit]")
        expect(page).to_have_url(re.compile(rf"container={victim.short_id}.*priority=warning"))
        rows = page.locator("tr.alert-row")
        expect(rows.first).to_contain_text(SHADOW_RULE)
        assert all(victim.name in text for text in rows.all_inner_texts())
        assert "cat read /etc/shadow in nginx" not in page.content()  # seeded alerts filtered out
        screens.take(page, "alerts-filtered")

        rows.first.locator("td.rule a").click()
        expect(page).to_have_url(re.compile(r"/alerts/[0-9a-f]{32}$"))
        alert_id = page.url.rsplit("/", 1)[1]
        expect(page.locator("h1")).to_have_text(SHADOW_RULE)
        expect(page.locator(".output-box")).to_contain_text("/etc/shadow")
        expect(page.locator(".chain li.actor .pname")).to_have_text("cat")
        expect(page.locator("#container-panel dl")).to_contain_text(victim.name)
        expect(page.locator(".response")).to_contain_text("pause", timeout=10_000)
        assert victim.inspect("{{.State.Status}}") == "paused"
        screens.take(page, "alert-detail")

        page.fill("#comment", "Ticket SEC-42: shop container read /etc/shadow; paused.")
        page.click("#triage button[value=acknowledged]")
        expect(page.locator(".triage .panel-head .status")).to_have_text("acknowledged")
        expect(page.locator(".activity")).to_contain_text("Ticket SEC-42")
        stored = store.get_alert(alert_id)
        assert stored is not None and stored.status == AlertStatus.ACKNOWLEDGED
        assert stored.status_comment == "Ticket SEC-42: shop container read /etc/shadow; paused."
        screens.take(page, "alert-acknowledged")

        page.click("text=Undo pause")
        expect(page.locator(".response")).to_contain_text("undone")
        assert victim.inspect("{{.State.Status}}") == "running"

        page.goto(f"{daemon.base_url}/")
        expect(page.locator(".sev-card").first).to_be_visible()
        screens.take(page, "overview")
        page.click("text=All open alerts, most severe first")
        expect(page).to_have_url(re.compile(r"status=open.*sort=severity"))
        expect(page.locator("tr.alert-row .badge").first).to_have_text("Critical")  # seeded
        screens.take(page, "alerts-most-severe")
        page.goto(f"{daemon.base_url}/containers")
        expect(page.locator("table")).to_contain_text(victim.name)
        screens.take(page, "containers")
        page.click(f"text={victim.name}")
        expect(page.locator("h1")).to_have_text(victim.name)
        expect(page.locator("table.alerts")).to_contain_text(SHADOW_RULE)
        screens.take(page, "container")
        page.goto(f"{daemon.base_url}/rules?q=sensitive")
        expect(page.locator("table")).to_contain_text(SHADOW_RULE)
        screens.take(page, "rules")
        page.goto(f"{daemon.base_url}/events?container={victim.short_id}&q=shadow")
        opened = page.locator("#event-rows tr", has_text="/etc/shadow").first
        expect(opened).to_contain_text("cat")
        opened.locator("summary").click()
        expect(opened.locator("table.fields")).to_contain_text("fd.name")
        screens.take(page, "events")
        page.goto(f"{daemon.base_url}/alerts/{'0' * 32}")
        expect(page.locator("h1")).to_have_text("Not found")
        screens.take(page, "not-found")
        errors = [e for e in errors if "404" not in e]  # the browser logs the page's own status
        assert errors == [], errors  # no script error, no blocked resource
        assert store.search_alerts(AlertQuery(rule=SHADOW_RULE, container_id=victim.short_id)).total >= 1
    finally:
        daemon.stop()
    with capsys.disabled():
        print(f"\nscreenshots: {screens.directory} (copies in {SCREENSHOTS})")


def wait_until_sources_run(base_url: str, token: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        report = httpx.get(f"{base_url}/api/health", headers={"Authorization": f"Bearer {token}"},
                           timeout=10).json()
        states = {name: s["state"] for name, s in report["sources"].items()}
        if states and all(state == "running" for state in states.values()):
            return
        assert time.monotonic() < deadline, f"sources not running: {states}"
        time.sleep(0.2)
