from __future__ import annotations

import pytest

from runwatch.enrich.container_id import container_from_cgroup, container_from_proc_cgroup

ID = "3f4e5d6c7b8a" + "9" * 52


@pytest.mark.parametrize(("path", "runtime"), [
    (f"/system.slice/docker-{ID}.scope", "docker"),
    (f"/docker/{ID}", "docker"),
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-{ID}.scope",
     "containerd"),
    (f"/kubepods/burstable/pod0d1e2f/{ID}", "docker"),
    (f"/kubepods.slice/kubepods-besteffort.slice/crio-{ID}.scope", "cri-o"),
    (f"/machine.slice/libpod-{ID}.scope", "podman"),
    (f"/libpod_parent/libpod-{ID}", "podman"),
    (f"/machine.slice/libpod-{ID}.scope/container", "podman"),
])
def test_each_runtime_naming_resolves_to_the_container(path: str, runtime: str) -> None:
    ref = container_from_cgroup(path)
    assert ref is not None
    assert (ref.id, ref.full_id, ref.runtime) == (ID[:12], ID, runtime)


@pytest.mark.parametrize("path", [
    "/", "/user.slice/user-0.slice/session-3.scope", "/system.slice/sshd.service",
    f"/machine.slice/libpod-conmon-{ID}.scope", f"/system.slice/crio-conmon-{ID}.scope",
    "/docker/not-an-id",
])
def test_host_and_runtime_helpers_are_not_containers(path: str) -> None:
    assert container_from_cgroup(path) is None


def test_proc_cgroup_file_v1_and_v2() -> None:
    v2 = f"0::/machine.slice/libpod-{ID}.scope\n"
    v1 = f"12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"
    assert container_from_proc_cgroup(v2).id == ID[:12]  # type: ignore[union-attr]
    assert container_from_proc_cgroup(v1).id == ID[:12]  # type: ignore[union-attr]
    assert container_from_proc_cgroup("0::/init.scope\n") is None
