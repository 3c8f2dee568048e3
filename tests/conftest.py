"""Test-wide rules: in CI (CI=true) a skipped test is a failure, so missing parts never hide."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from tests.support.podman import busybox_image, podman_socket, start_container
from tests.support.postgres import postgres_server, postgres_url
from tests.support.sensor import attack_tool, kernel_sensor

__all__ = ["attack_tool", "busybox_image", "kernel_sensor", "podman_socket", "postgres_server",
           "postgres_url", "start_container"]  # fixtures shared by every test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"
