"""Falco rules that fire when the workload leaves its profile, for people who run Falco itself.

One macro selects the workload's containers (image repository and identifying labels); one
list per kind holds what was learned; one rule per kind fires on anything else. Path patterns
use Falco's `glob` operator; peers that are workloads are allowed by server port (their
addresses change), IPs and networks by `fd.snet`.
"""

from __future__ import annotations

import ipaddress

import yaml

from runwatch.profiles.export.base import ExportContext, is_pattern
from runwatch.profiles.model import Kind

_OPEN = "evt.type in (open, openat, openat2, creat) and evt.dir = < and fd.typechar = f"


def export_falco(context: ExportContext) -> str:
    name = context.slug.replace("-", "_")
    record = context.record
    container = f"container.image.repository = {_quote(record.image_repository)}" + "".join(
        f" and container.label[{key}] = {_quote(value)}" for key, value in sorted(record.selector.items()))
    items: list[dict[str, object]] = [{"macro": f"runwatch_{name}_container",
                                       "condition": f"container.id != host and {container}"}]
    rules: list[tuple[str, str, str]] = []

    paths = context.program_paths()
    names = sorted({item[1] for item in context.items(Kind.PROCESS)})
    allowed = _any([_in("proc.exepath", [p for p in paths if not is_pattern(p)]),
                    *[f"proc.exepath glob {_quote(p)}" for p in paths if is_pattern(p)],
                    _in("proc.name", names)])  # a multi-call binary run through /proc/self/exe
    rules.append(("process", f"evt.type in (execve, execveat) and evt.dir = < and "
                             f"evt.res = SUCCESS and not ({allowed})",
                  "%proc.exepath (name %proc.name parent %proc.pname user %user.name "
                  "cmdline %proc.cmdline)"))
    for kind, what, test in ((Kind.FILE_WRITE, "file write", "evt.is_open_write = true"),
                             (Kind.FILE_READ, "sensitive file read", "evt.is_open_read = true")):
        files = [path for (path,) in context.items(kind)]
        allowed = _any([_in("fd.name", [f for f in files if not is_pattern(f)]),
                        *[f"fd.name glob {_quote(f)}" for f in files if is_pattern(f)]])
        scope = "" if kind == Kind.FILE_WRITE else " and (" + " or ".join(
            f"fd.name startswith {_quote(prefix)}" for prefix in context.sensitive_prefixes) + ")"
        rules.append((what, f"{_OPEN} and {test}{scope} and not ({allowed})", "%fd.name (%proc.name)"))
    peers = []
    for peer, port, protocol in context.items(Kind.OUTBOUND):
        address = _network(peer)
        where = f" and fd.snet = {address}" if address else ""
        peers.append(f"(fd.sport = {int(port)} and fd.l4proto = {protocol}{where})")
    rules.append(("outbound connection", "evt.type = connect and evt.dir = < and fd.sockfamily = ip "
                                         f"and not ({_any(peers)})",
                  "%fd.sip:%fd.sport/%fd.l4proto (%proc.name)"))
    ports = [f"(fd.lport = {int(port)} and fd.l4proto = {protocol})"
             for port, protocol in context.items(Kind.LISTEN)]
    rules.append(("listening port", "evt.type = listen and evt.dir = < and fd.sockfamily = ip "
                                    f"and not ({_any(ports)})", "%fd.lport/%fd.l4proto (%proc.name)"))
    for what, condition, detail in rules:
        items.append({
            "rule": f"Profile {record.workload}: unexpected {what}",
            "desc": f"The workload {record.workload} did what its runwatch profile never saw.",
            "condition": f"runwatch_{name}_container and {condition}",
            "output": f"Unexpected {what} in workload {record.workload}: {detail} "
                      f"(container=%container.name id=%container.id image=%container.image)",
            "priority": "WARNING",
            "tags": ["runwatch_profile", what.replace(" ", "_")],
        })
    return yaml.safe_dump(items, sort_keys=False, width=1000)


def _in(field: str, values: list[str]) -> str:
    return f"{field} in ({', '.join(_quote(v) for v in values)})" if values else ""


def _any(tests: list[str]) -> str:
    present = [test for test in tests if test]
    return " or ".join(present) if present else "evt.num < 0"  # nothing learned: nothing allowed


def _network(peer: str) -> str | None:
    try:
        return str(ipaddress.ip_network(peer, strict=False))
    except ValueError:
        return None


def _quote(value: str) -> str:
    """A Falco condition value: bare when it is one plain word, else double-quoted."""
    if value and all(c.isalnum() or c in "/._-:" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
