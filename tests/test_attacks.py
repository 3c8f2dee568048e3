"""Real attacks in real containers and on the host, watched by a real `runwatch run`.

One `runwatch run` (the kernel sensor, the container engine, Falco's stable ruleset unmodified)
watches the whole module. Each test starts a busybox container, first does the benign twin of an
attack (the same tool, nothing malicious), then the attack itself; the named stable rule must
alert within 2 seconds with the right container, image, process and user, and nothing may have
alerted in that container before the attack. The last test finds every alert in the terminal
output and the store as well as in the JSON file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runwatch.alerts.model import format_time
from tests.support.net import free_port
from tests.support.podman import Container, ContainerFactory, podman

pytestmark = pytest.mark.integration

RUNWATCH = str(Path(sys.executable).with_name("runwatch"))
IMAGE_REPOSITORY = "localhost/runwatch-busybox"
DETECTION_DEADLINE_S = 2.0
TOOLS = "/tools"  # the attack tool, bind-mounted: not in the image, not in the writable layer
Alert = dict[str, object]


@dataclass
class Monitor:
    """The running `runwatch run` and the files it writes."""

    process: subprocess.Popen[bytes]
    alerts_file: Path
    terminal_file: Path
    data_dir: Path
    base: str

    def alerts(self) -> list[Alert]:
        if not self.alerts_file.exists():
            return []
        return [json.loads(line) for line in self.alerts_file.read_text().splitlines() if line]

    def alerts_in(self, container_id: str) -> list[Alert]:
        return [alert for alert in self.alerts() if alert.get("container_id") == container_id]

    def wait_for(self, rule: str, container_id: str, deadline: float) -> Alert:
        """The first alert of `rule` in the container, polled until the monotonic `deadline`.

        A late alert fails the test too; it is waited for a while longer only to say in the
        failure whether it came late (a loaded machine) or never (kernel losses counted)."""
        late_deadline = deadline + 15.0
        while True:
            assert self.process.poll() is None, "runwatch run exited"
            found = [a for a in self.alerts_in(container_id) if a["rule"] == rule]
            now = time.monotonic()
            if found and now <= deadline:
                return found[0]
            if found or now > late_deadline:
                seen = sorted({str(a["rule"]) for a in self.alerts_in(container_id)})
                when = (f"it came {now - deadline + DETECTION_DEADLINE_S:.1f}s after the attack"
                        if found else "it never came")
                raise AssertionError(f"no '{rule}' alert for {container_id} within "
                                     f"{DETECTION_DEADLINE_S}s: {when}; kernel events lost so "
                                     f"far: {self.kernel_lost()}; its alerts: {seen}")
            time.sleep(0.02)

    def kernel_lost(self) -> object:
        try:
            health = httpx.get(f"{self.base}/healthz", timeout=5).json()
        except httpx.HTTPError as err:
            return f"unknown ({err})"
        return health["sources"]["ebpf"]["lost_total"]


def wait_until_watching(base: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    """Both sources running: the kernel sensor (self-tested) and the container engine."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, "runwatch run exited during start-up"
        try:
            sources = httpx.get(f"{base}/healthz", timeout=1).json()["sources"]
            if all(sources.get(name, {}).get("state") == "running" for name in ("ebpf", "runtime")):
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "runwatch run did not start watching"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory, podman_socket: str,
            busybox_image: str) -> Iterator[Monitor]:
    """`runwatch run` as an operator starts it, with podman's API for container metadata."""
    assert os.geteuid() == 0, "the kernel sensor needs root"
    workdir = tmp_path_factory.mktemp("monitor")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RUNWATCH_")}
    env.update({"HOME": str(workdir), "RUNWATCH_SOURCES__RUNTIME__SOCKET": podman_socket,
                "RUNWATCH_SOURCES__RUNTIME__ENABLED": "true"})
    alerts_file, terminal_file, data_dir = (workdir / "alerts.jsonl", workdir / "terminal.txt",
                                            workdir / "data")
    with open(terminal_file, "wb") as terminal, open(workdir / "log.txt", "wb") as log:
        process = subprocess.Popen(
            [RUNWATCH, "run", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}",
             "--json-output", str(alerts_file), "--log-json"],
            stdout=terminal, stderr=log, cwd=workdir, env=env)
    watched = Monitor(process, alerts_file, terminal_file, data_dir, f"http://127.0.0.1:{port}")
    try:
        wait_until_watching(watched.base, watched.process)
        yield watched
    finally:
        watched.process.send_signal(signal.SIGTERM)
        code = watched.process.wait(timeout=60)
    assert code == 0, (workdir / "log.txt").read_text()[-3000:]


@pytest.fixture(scope="module")
def tools(attack_tool: Path) -> str:
    """`-v` option value mounting the attack tool's directory read-only at /tools."""
    return f"{attack_tool.parent}:{TOOLS}:ro"


@dataclass
class Target:
    """A container under attack, with the monitor watching it."""

    monitor: Monitor
    container: Container

    def benign(self, *command: str, **options: object) -> None:
        """Setup and benign twins: run before the attack, they must raise nothing."""
        self.container.exec(*command, **options)  # type: ignore[arg-type]

    def attack(self, *command: str, rule: str, proc_name: str | set[str], user: str = "root",
               detached: bool = False, **options: object) -> Alert:
        """Run the attack in the container as `user`; see `expect`."""
        if detached:
            return self.expect(lambda: podman("exec", "-d", "--user", user, self.container.name,
                                              *command), rule, proc_name, user)
        return self.expect(lambda: self.container.exec(*command, user=user,
                                                       **options),  # type: ignore[arg-type]
                           rule, proc_name, user)

    def expect(self, attack: Callable[[], object], rule: str, proc_name: str | set[str],
               user: str = "root") -> Alert:
        """Run `attack`; return the alert of `rule`, after checking its fields and that nothing
        alerted in this container before the attack."""
        before = format_time(time.time_ns())
        attack()
        alert = self.monitor.wait_for(rule, self.container.short_id,
                                      time.monotonic() + DETECTION_DEADLINE_S)
        assert_identifies(alert, self.container.short_id, IMAGE_REPOSITORY, proc_name, user)
        early = [(a["rule"], a["output"]) for a in self.monitor.alerts_in(self.container.short_id)
                 if str(a["time"]) < before]
        assert early == [], "the benign twin or the setup raised alerts"
        return alert


def assert_identifies(alert: Alert, container_id: str, repository: str | None,
                      proc_name: str | set[str], user: str) -> None:
    fields = alert["output_fields"]
    assert isinstance(fields, dict)
    names = {proc_name} if isinstance(proc_name, str) else proc_name
    assert alert["source"] == "syscall" and alert["container_id"] == container_id
    assert fields["container.id"] == container_id
    assert fields["container.image.repository"] == repository
    assert fields["proc.name"] in names, alert["output"]
    assert fields["user.name"] == user, alert["output"]


@pytest.fixture
def target(monitor: Monitor, start_container: ContainerFactory, tools: str) -> Target:
    return Target(monitor, start_container("sleep", "600", options=("-v", tools)))


def test_reading_etc_shadow(target: Target) -> None:
    target.benign("cat", "/etc/passwd")
    alert = target.attack("cat", "/etc/shadow", rule="Read sensitive file untrusted",
                          proc_name="cat")
    assert "file=/etc/shadow" in str(alert["output"])


def test_an_attack_in_a_kubernetes_pod_names_the_pod(
        monitor: Monitor, start_container: ContainerFactory) -> None:
    """The pod and namespace come from the labels a Kubernetes runtime puts on its containers."""
    pod = Target(monitor, start_container("sleep", "600", options=("--privileged",), labels={
        "io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop"}))
    pod.benign("cat", "/etc/passwd")
    alert = pod.attack("cat", "/etc/shadow", rule="Read sensitive file untrusted",
                       proc_name="cat")
    fields = alert["output_fields"]
    assert isinstance(fields, dict)
    assert fields["k8s.pod.name"] == "web-7d9f" and fields["k8s.ns.name"] == "shop"
    assert fields["container.image.tag"] == "test"


def test_directory_traversal_to_etc_shadow(target: Target) -> None:
    target.benign("cat", "/var/www/../www/index.html")
    alert = target.attack("cat", "/var/www/../../etc/shadow",
                          rule="Directory traversal monitored file read", proc_name="cat")
    assert "fileraw=/var/www/../../etc/shadow" in str(alert["output"])


def test_a_web_server_spawning_a_shell(target: Target) -> None:
    """Command injection in a CGI script of busybox httpd: the server's child runs /bin/sh.
    (Serving any request also raises 'Redirect STDOUT/STDIN...': busybox httpd dup2()s each
    client's socket onto the handler's stdin and stdout.)"""
    target.benign("/bin/sh", "-c", "id")
    target.benign("sh", "-c", "mkdir -p /var/www/cgi-bin && printf '%s\\n' '#!/bin/sh' "
                              "'echo Content-Type: text/plain' 'echo' '/bin/sh -c id' "
                              "> /var/www/cgi-bin/lookup && chmod +x /var/www/cgi-bin/lookup")
    podman("exec", "-d", target.container.name, "httpd", "-f", "-p", "8080", "-h", "/var/www")
    time.sleep(0.3)
    alert = target.attack("wget", "-qO-", "http://127.0.0.1:8080/cgi-bin/lookup",
                          rule="Run shell untrusted", proc_name="sh")
    assert "httpd" in str(alert["output"])


def test_netcat_bind_shell(target: Target) -> None:
    target.benign("nc", "-w", "1", "127.0.0.1", "9", check=False)
    target.attack("nc", "-l", "-p", "4444", "-e", "/bin/sh", detached=True,
                  rule="Netcat Remote Code Execution in Container", proc_name="nc")


def test_searching_for_private_keys_as_an_unprivileged_user(target: Target) -> None:
    target.benign("find", "/etc", "-name", "hosts", user="app")
    target.attack("find", "/", "-xdev", "-name", "id_rsa", user="app", check=False,
                  rule="Search Private Keys or Passwords", proc_name="find")


def test_searching_for_aws_credentials(target: Target) -> None:
    target.benign("find", "/", "-xdev", "-path", "*/.config/settings")
    target.attack("find", "/", "-xdev", "-path", "*/.aws/credentials",
                  rule="Find AWS Credentials", proc_name="find")


def test_truncating_a_log(target: Target) -> None:
    target.benign("sh", "-c", "echo more >> /var/log/app.log")
    alert = target.attack("sh", "-c", ": > /var/log/app.log", rule="Clear Log Activities",
                          proc_name="sh")
    assert "file=/var/log/app.log" in str(alert["output"])


def test_shredding_a_file(target: Target) -> None:
    target.benign("sh", "-c", "echo old > /tmp/old && echo secret > /tmp/secret && rm /tmp/old")
    target.attack("shred", "-u", "/tmp/secret", rule="Remove Bulk Data from Disk",
                  proc_name="shred")


def test_a_symlink_over_etc_shadow(target: Target) -> None:
    target.benign("ln", "-s", "/etc/hostname", "/tmp/name")
    alert = target.attack("ln", "-s", "/etc/shadow", "/tmp/shadow",
                          rule="Create Symlink Over Sensitive Files", proc_name="ln")
    assert "target=/etc/shadow linkpath=/tmp/shadow" in str(alert["output"])


def test_a_hardlink_to_etc_shadow(target: Target) -> None:
    target.benign("ln", "/var/www/index.html", "/tmp/page")
    alert = target.attack("ln", "/etc/shadow", "/tmp/shadow",
                          rule="Create Hardlink Over Sensitive Files", proc_name="ln")
    assert "target=/etc/shadow linkpath=/tmp/shadow" in str(alert["output"])


def test_a_packet_socket(monitor: Monitor, start_container: ContainerFactory, tools: str) -> None:
    sniffer = Target(monitor, start_container("sleep", "600",
                                              options=("-v", tools, "--cap-add", "NET_RAW")))
    sniffer.benign(f"{TOOLS}/attack-tool", "udp-socket")
    alert = sniffer.attack(f"{TOOLS}/attack-tool", "packet-socket",
                           rule="Packet socket created in container", proc_name="attack-tool")
    assert "domain=AF_PACKET" in str(alert["output"])


def test_ptrace_attach(target: Target) -> None:
    target.benign("sh", "-c", "sleep 30 & cat /proc/$!/status > /dev/null; kill $!")
    alert = target.attack("sh", "-c", f"sleep 30 & {TOOLS}/attack-tool ptrace-attach $!; kill $!",
                          rule="PTRACE attached to process", proc_name="attack-tool")
    assert "ptrace-attach" in str(alert["output"])


def test_ptrace_anti_debug(target: Target) -> None:
    target.benign(f"{TOOLS}/attack-tool", "udp-socket")
    target.attack(f"{TOOLS}/attack-tool", "ptrace-traceme", rule="PTRACE anti-debug attempt",
                  proc_name="attack-tool")


def test_execution_from_dev_shm(monitor: Monitor, start_container: ContainerFactory) -> None:
    """podman mounts /dev/shm noexec; a container given an exec-able one (as many are, for
    shared memory) lets the attack run."""
    shm = Target(monitor, start_container("sleep", "600",
                                          options=("--tmpfs", "/dev/shm:rw,exec")))
    shm.benign("cp", "/bin/busybox", "/dev/shm/true")
    shm.benign("ls", "-l", "/dev/shm")
    alert = shm.attack("/dev/shm/true", rule="Execution from /dev/shm", proc_name="true")
    assert "proc_exepath=/dev/shm/true" in str(alert["output"])


def test_dropping_and_running_a_new_binary(target: Target) -> None:
    target.benign("ls", "/")
    target.benign("cp", "/bin/busybox", "/tmp/ls")
    alert = target.attack("/tmp/ls", "/", rule="Drop and execute new binary in container",
                          proc_name="ls")
    assert "proc_exepath=/tmp/ls" in str(alert["output"])


def test_fileless_execution_from_a_memfd(target: Target) -> None:
    """Run from a shell: a memfd run straight under runc is allowed by the rule (runc itself
    executes from a memfd). Kernels before 6.14 name the new process after its fd ("3")."""
    target.benign("sh", "-c", f"{TOOLS}/attack-tool udp-socket; true")
    alert = target.attack("sh", "-c", f"{TOOLS}/attack-tool memfd-exec /bin/busybox true; true",
                          rule="Fileless execution via memfd_create",
                          proc_name={"memfd:payload", "3"})
    assert "proc_exepath=memfd:payload" in str(alert["output"])


def test_an_interactive_shell_with_a_terminal(target: Target) -> None:
    """`podman exec -it`, as a person at a terminal types it (`script` gives it one)."""
    target.benign("sh", "-c", "exit 0")
    command = f"podman exec -it {target.container.name} sh -c 'exit 0'"
    alert = target.expect(lambda: subprocess.run(["script", "-qec", command, "/dev/null"],
                                                 check=True, capture_output=True, timeout=60),
                          rule="Terminal shell in container", proc_name="sh")
    assert "terminal=0" not in str(alert["output"])


def test_reading_etc_shadow_on_the_host(monitor: Monitor) -> None:
    subprocess.run(["cat", "/etc/passwd"], check=True, capture_output=True)
    marker = f"/nonexistent-{time.time_ns()}"
    subprocess.run(["cat", "/etc/shadow", marker], capture_output=True)
    deadline = time.monotonic() + DETECTION_DEADLINE_S
    while True:
        found = [a for a in monitor.alerts_in("host") if a["rule"] == "Read sensitive file untrusted"
                 and marker in str(a["output"])]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert found, "no 'Read sensitive file untrusted' alert for the host"
    assert_identifies(found[0], "host", None, "cat", "root")


def test_every_alert_is_also_in_the_terminal_and_the_store(monitor: Monitor) -> None:
    alerts = [a for a in monitor.alerts() if a["rule"] != "Redirect STDOUT/STDIN to Network "
                                                          "Connection in Container"]
    assert len({a["rule"] for a in alerts}) >= 17, sorted({str(a["rule"]) for a in alerts})
    terminal = monitor.terminal_file.read_text()
    missing = [a["rule"] for a in alerts if str(a["output"]) not in terminal]
    assert missing == [], "alerts not printed on the terminal"
    deadline = time.monotonic() + 15
    while True:
        listed = subprocess.run([RUNWATCH, "alerts", "--json", "--limit", "100000", "--data-dir",
                                 str(monitor.data_dir)], capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        stored = {json.loads(line)["id"] for line in listed.stdout.splitlines() if line}
        unstored = [a["rule"] for a in alerts if a["id"] not in stored]
        if not unstored or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert unstored == [], "alerts not in the store"
