"""Syscalls and capabilities counted in the kernel per container: the program, the parsing, and
against real podman containers the seccomp profile built from them, which validates against the
OCI runtime-spec schema and, applied with podman's --security-opt seccomp=FILE, lets the same
work run while refusing what the workload never did."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import jsonschema
import pytest
import referencing

from runwatch.profiles.export import ExportContext, export_seccomp
from runwatch.profiles.generalise import ALWAYS_ALLOWED_SYSCALLS
from runwatch.profiles.model import Kind, Mode
from runwatch.profiles.observe import observe
from runwatch.profiles.state import Origin, StoredItem, StoredProfile, WorkloadRecord
from runwatch.profiles.syscalls import SyscallCountSource, counting_program, counts_by_cgroup
from runwatch.sources.ebpf.cgroups import CgroupResolver, find_cgroup2_mount
from tests.support.podman import ContainerFactory, podman

OCI_SCHEMAS = Path(__file__).parents[1] / "data" / "oci-runtime-spec"
WORK = ("httpd -p 8080 -h /var/www; while true; do wget -q -O /dev/null http://127.0.0.1:8080/ "
        "&& echo served; sleep 0.3; done")


def test_the_program_counts_in_kernel_maps_and_prints_them_per_interval() -> None:
    program = counting_program(2.5, with_capabilities=True)
    assert ('tracepoint:raw_syscalls:sys_enter /strncmp(comm, "runc:[", 6) != 0 && '
            'strncmp(curtask->real_parent->comm, "runc", 4) != 0/ '
            '{ @syscalls[cgroup, args->id] = count(); }') in program
    assert "tracepoint:capability:cap_capable /args->ret == 0/" in program
    assert ("interval:ms:2500 { print(@capabilities); clear(@capabilities); "
            "print(@syscalls); clear(@syscalls); }") in program  # syscalls close the interval
    assert "printf" not in program, "nothing is printed per syscall"


def test_printed_maps_become_numbers_per_cgroup() -> None:
    record = {"type": "map", "data": {"@syscalls": {"4242,59": 3, "4242,0": 10, "77,1": 1}}}
    assert counts_by_cgroup(record) == ("syscalls", {4242: {0, 59}, 77: {1}})
    assert counts_by_cgroup({"type": "attached_probes", "data": {"probes": 2}}) is None


def test_counted_names_are_profile_items() -> None:
    event = {"evt.type": "syscall_counts", "container.id": "abc", "evt.arg.syscalls": ["read", "write"],
             "evt.arg.capabilities": ["CAP_NET_BIND_SERVICE"]}
    assert observe(event, str, ()) == [(Kind.SYSCALL, ("read",)), (Kind.SYSCALL, ("write",)),
                                       (Kind.CAPABILITY, ("CAP_NET_BIND_SERVICE",))]


def seccomp_schema_validator() -> jsonschema.protocols.Validator:
    resources = [(name, referencing.Resource.from_contents(
        json.loads((OCI_SCHEMAS / name).read_text()), default_specification=referencing.jsonschema.DRAFT4))
        for name in ("config-linux.json", "defs-linux.json", "defs.json")]
    registry = referencing.Registry().with_resources(resources)
    schema = {"$ref": "config-linux.json#/linux/properties/seccomp"}
    return jsonschema.Draft4Validator(schema, registry=registry)


def profile_of(syscalls: set[str]) -> StoredProfile:
    record = WorkloadRecord(workload="web@localhost/runwatch-busybox", image_repository="x",
                            deployment="web", mode=Mode.LEARN, created_ns=0, updated_ns=0,
                            mode_changed_ns=0)
    return StoredProfile(record=record, items=[
        StoredItem(workload=record.workload, kind=Kind.SYSCALL, item=(name,), origin=Origin.LEARNED,
                   first_ns=0) for name in sorted(syscalls)])


def test_the_seccomp_profile_is_valid_against_the_oci_schema_and_a_wrong_one_is_not() -> None:
    validator = seccomp_schema_validator()
    exported = json.loads(export_seccomp(ExportContext(profile_of({"socket", "bind", "poll"}), {})))
    validator.validate(exported)
    names = set(exported["syscalls"][0]["names"])
    assert {"socket", "bind", "poll", "ppoll", "epoll_wait"} | ALWAYS_ALLOWED_SYSCALLS <= names
    assert "ptrace" not in names and "link" not in names
    with pytest.raises(jsonschema.ValidationError, match="SCMP_ACT_NOPE"):
        validator.validate({**exported, "defaultAction": "SCMP_ACT_NOPE"})


@pytest.mark.integration
async def test_a_learned_seccomp_profile_runs_the_same_work_and_refuses_the_rest(
        tmp_path: Path, start_container: ContainerFactory, busybox_image: str) -> None:
    source = SyscallCountSource("bpftrace", 1.0, CgroupResolver(find_cgroup2_mount()))
    events = source.events()
    first = asyncio.create_task(anext(events))  # start bpftrace, then the container
    deadline = time.monotonic() + 60
    while source.status.state != "running":
        assert time.monotonic() < deadline and not first.done(), "syscall counter did not start"
        await asyncio.sleep(0.05)
    container = start_container("sh", "-c", WORK)
    names: set[str] = set()
    try:
        end = time.monotonic() + 8
        batch = await first
        while True:
            names.update(*(e["evt.arg.syscalls"] for e in batch  # type: ignore[misc]
                           if e["container.id"] == container.short_id))
            if time.monotonic() > end:
                break
            batch = await anext(events)
    finally:
        await events.aclose()
    assert {"execve", "socket", "bind", "listen", "accept", "connect"} <= names, sorted(names)
    assert "link" not in names and "linkat" not in names, sorted(names)

    policy = tmp_path / "seccomp.json"
    policy.write_text(export_seccomp(ExportContext(profile_of(names), {})))
    seccomp_schema_validator().validate(json.loads(policy.read_text()))
    confined = start_container("sh", "-c", WORK, options=("--security-opt", f"seccomp={policy}"))
    deadline = time.monotonic() + 20
    while (logs := podman("logs", confined.name).stdout).count("served") < 3:
        assert time.monotonic() < deadline, f"the confined workload did not serve: {logs!r}"
        await asyncio.sleep(0.5)
    refused = podman("run", "--rm", "--security-opt", f"seccomp={policy}", busybox_image,
                     "ln", "/var/www/index.html", "/tmp/hard-link", check=False)
    assert refused.returncode != 0 and "Operation not permitted" in refused.stderr, refused
