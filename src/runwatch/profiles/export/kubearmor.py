"""A KubeArmorPolicy allowing what the profile saw: programs, files, protocols, capabilities.

Format: KubeArmor's policy specification (security.kubearmor.com/v1, `spec.process`,
`spec.file`, `spec.network`, `spec.capabilities`, `action: Allow`), kubearmor.io docs,
"Security Policy Specification". `dir/*` patterns become non-recursive `matchDirectories`.
"""

from __future__ import annotations

import yaml

from runwatch.profiles.export.base import ExportContext, is_pattern
from runwatch.profiles.model import Kind

KUBEARMOR_CAPABILITIES = frozenset(
    "chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable "
    "net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio "
    "sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time "
    "sys_tty_config mknod lease audit_write audit_control setfcap mac_override mac_admin".split())
"""The capabilities a KubeArmorPolicy can name (its CRD's pattern); newer ones are left out."""


def export_kubearmor(context: ExportContext) -> str:
    record = context.record
    process: list[dict[str, object]] = [{"path": path} for path in context.program_paths()
                                        if not is_pattern(path)]
    process_dirs: list[dict[str, object]] = [{"dir": path[:-1]} for path in context.program_paths()
                                             if path.endswith("/*") and "*" not in path[:-1]]
    files: list[dict[str, object]] = []
    directories: list[dict[str, object]] = []
    for kind, read_only in ((Kind.FILE_READ, True), (Kind.FILE_WRITE, False)):
        for (path,) in context.items(kind):
            if path.endswith("/*") and "*" not in path[:-1]:
                directories.append({"dir": path[:-1], "readOnly": read_only})
            elif not is_pattern(path):
                files.append({"path": path, "readOnly": read_only})
    protocols = sorted({item[2] for kind in (Kind.OUTBOUND, Kind.INBOUND)
                        for item in context.items(kind)} | {item[1] for item in context.items(Kind.LISTEN)})
    spec: dict[str, object] = {
        "selector": {"matchLabels": dict(record.selector) or {"runwatch.workload": context.slug}},
        "process": _matches(matchPaths=process, matchDirectories=process_dirs),
        "file": _matches(matchPaths=files, matchDirectories=directories),
        "network": _matches(matchProtocols=[{"protocol": p} for p in protocols if p in
                                            ("tcp", "udp", "icmp", "raw")]),
        "capabilities": _matches(matchCapabilities=[
            {"capability": name} for (cap,) in context.items(Kind.CAPABILITY)
            if (name := cap.lower().removeprefix("cap_")) in KUBEARMOR_CAPABILITIES]),
        "action": "Allow",
    }
    policy = {
        "apiVersion": "security.kubearmor.com/v1", "kind": "KubeArmorPolicy",
        "metadata": {"name": f"runwatch-{context.slug}"[:63].rstrip("-"),
                     "namespace": record.namespace or "default"},
        "spec": {key: value for key, value in spec.items() if value != {}},
    }
    return yaml.safe_dump(policy, sort_keys=False)


def _matches(**lists: list[dict[str, object]]) -> dict[str, object]:
    return {key: value for key, value in lists.items() if value}
