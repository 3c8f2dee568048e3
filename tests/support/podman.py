"""Real podman for tests: a busybox image built from Debian's busybox-static, containers, and the
Docker-compatible API service. Fixtures here are shared by every test that needs containers."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BUSYBOX_IMAGE = "localhost/runwatch-busybox:test"
BUSYBOX_BINARY = Path("/bin/busybox")

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
"""
GROUP = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\napp:x:1000:\n"
SHADOW = ("root:$6$runwatch$Q0ZW3W6k7x0mT0d1y0Gk3h8P9V7hZ2rT8M4X1bYw6pQ2s5uJ9vL0cN3eR7tA1fD4gH6jK8mP2qS5uW7yZ0bC3e:19000:0:99999:7:::\n"
          "app:!:19000:0:99999:7:::\n")


def podman(*args: str, check: bool = True, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run podman; a failure raises with podman's own message."""
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout_s)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", mode: int = 0o644,
         kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def build_busybox_image(tag: str = BUSYBOX_IMAGE) -> str:
    """A busybox rootfs (every applet, a few users, /etc/shadow) imported as an image."""
    applets = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    with tempfile.TemporaryDirectory() as workdir:
        archive = Path(workdir) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp",
                              "home", "home/app", "var", "var/log", "var/www", "dev", "proc", "sys",
                              "run", "lib", "etc/ssh"):
                _add(tar, directory, kind=tarfile.DIRTYPE, mode=0o1777 if directory == "tmp" else 0o755)
            _add(tar, "bin/busybox", BUSYBOX_BINARY.read_bytes(), 0o755)
            for applet in applets:
                if applet != "bin/busybox":
                    depth = applet.count("/")
                    _add(tar, applet, kind=tarfile.SYMTYPE, link="../" * depth + "bin/busybox")
            _add(tar, "etc/passwd", PASSWD.encode())
            _add(tar, "etc/group", GROUP.encode())
            _add(tar, "etc/shadow", SHADOW.encode(), 0o640)
            _add(tar, "etc/hostname", b"busybox\n")
            _add(tar, "var/log/app.log", b"started\nserving\n")
            _add(tar, "var/www/index.html", b"<h1>hello</h1>\n")
        podman("import", "--change", "CMD [\"/bin/sh\"]", str(archive), tag)
    return tag


@dataclass
class Container:
    """A running test container."""

    name: str
    id: str
    image: str

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def exec(self, *command: str, user: str | None = None, check: bool = True,
             timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        args = ["exec", *(["--user", user] if user else []), self.name, *command]
        return podman(*args, check=check, timeout_s=timeout_s)

    def inspect(self, template: str) -> str:
        return podman("inspect", self.name, "--format", template).stdout.strip()

    @property
    def pid(self) -> int:
        return int(self.inspect("{{.State.Pid}}"))


ContainerFactory = Callable[..., Container]


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """The test image, built once per machine (rebuilt if busybox-static changed)."""
    assert shutil.which("podman"), "podman is not installed (scripts/bootstrap.sh test installs it)"
    assert BUSYBOX_BINARY.exists(), "busybox-static is not installed"
    if podman("image", "exists", BUSYBOX_IMAGE, check=False).returncode != 0:
        build_busybox_image()
    return BUSYBOX_IMAGE


@pytest.fixture
def start_container(busybox_image: str) -> Iterator[ContainerFactory]:
    """Start containers (`start_container("sleep", "300", labels={...})`); all removed afterwards."""
    started: list[str] = []

    def start(*command: str, image: str = busybox_image, name: str | None = None,
              labels: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> Container:
        name = name or f"rwtest-{uuid.uuid4().hex[:10]}"
        label_args = [arg for key, value in (labels or {}).items() for arg in ("--label", f"{key}={value}")]
        full_id = podman("run", "-d", "--name", name, *label_args, *options, image,
                         *(command or ("sleep", "600"))).stdout.strip()
        started.append(name)
        return Container(name, full_id, image)

    yield start
    remove_containers(started)


def remove_containers(names: list[str]) -> None:
    """Remove the containers, trying again once: one left running would be seen by later tests."""
    for _ in range(2):
        if not names or podman("rm", "-f", "-t", "0", "--ignore", *names, check=False).returncode == 0:
            return
        time.sleep(1)
    left = podman("ps", "-a", "-q", *[arg for name in names for arg in ("--filter", f"name=^{name}$")],
                  check=False).stdout.split()
    assert not left, f"containers left after the test: {left}"


@pytest.fixture(scope="session")
def podman_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`podman system service` on a private socket: the Docker Engine API for the docker SDK."""
    socket_path = tmp_path_factory.mktemp("podman") / "podman.sock"
    process = subprocess.Popen(["podman", "system", "service", "--time", "0", f"unix://{socket_path}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else b""  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "podman system service did not create its socket"
            time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def require_root() -> None:
    assert os.geteuid() == 0, "this test needs root (containers, cgroups)"
