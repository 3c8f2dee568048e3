"""Where Sigma's logsources meet runwatch's events: which events a rule sees, and how each Sigma
field name reads them.

- product linux, service auditd: auditd groups (`evt.source` auditd); a rule meets each record of
  `audit.records` (raw auditd keys: `type`, `a0`, `exe`, ...), as Sigma's auditd rules are written.
- product linux, category process_creation / file_event / network_connection: the kernel
  sensor's successful execs, file-creating or -writing opens, renames and links, and IP connects
  and accepts; Sigma's field names (Sysmon for Linux's) read Falco's fields.
- product kubernetes, service audit: Kubernetes audit events; dotted names are paths into the
  audit object under `k8s_audit.object` (`objectRef.resource`), through lists.
- product linux with a syslog service (syslog, auth, sshd, sudo, cron, ...), or no service at all:
  syslog lines (`evt.source` syslog); keywords search `log.message`.
Anything else (cloud, Windows, macOS) has no events here: such rules load but stay inactive.

A field is read by a Python expression over the record `r`, which the compiler inlines into the
rule's code; the names it calls live in the route's `helpers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runwatch.event import Event

Record = Mapping[str, object]
"""What a rule is matched against: an auditd record, or the event itself."""


class Unmapped(Exception):
    """A Sigma field this logsource has no runwatch field for; the rule stays inactive."""


@dataclass(frozen=True, slots=True)
class Accessor:
    """How one Sigma field is read: `expr` is a Python expression over the record `r` giving the
    value or None; `reads` names the Falco fields it reads (empty when it reads raw keys)."""

    expr: str
    reads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """The events of one logsource and how its Sigma fields read them."""

    name: str
    source: str
    """The `evt.source` of its events ('syscall' also stands for an event without one)."""
    accepts: Callable[[Event], bool]
    fields: Callable[[str], Accessor]
    """The accessor of a Sigma field name; raises Unmapped."""
    keyword: Accessor | None
    """Lower-cased text that keywords (values without a field) search; None: keywords are not
    supported on these events."""
    keyword_raw: Accessor | None
    """The same text as written, for case-sensitive keywords (`re`, `cased`)."""
    helpers: Mapping[str, object] = field(default_factory=dict)
    per_record: bool = False
    """True for auditd: the rule meets each of the event's `audit.records`."""
    event_types: frozenset[str] = frozenset()
    """Kernel event types the route's rules need from the sensor."""
    telling: tuple[str, ...] = ()
    """Event fields that tell an alert's story, in the order its output prints them."""


def _one_entry_cache(compute: Callable[[Record], str | None]) -> Callable[[Record], str | None]:
    """`compute` remembered for the last record: every keyword rule meeting a record reads its
    text once. The cache holds the record, so its identity cannot be reused while cached; the
    pair is swapped whole, so a reader never sees one record's text under another."""
    last: list[tuple[object, str | None]] = [(None, None)]

    def cached(record: Record) -> str | None:
        seen, text = last[0]
        if seen is record:
            return text
        text = compute(record)
        last[0] = (record, text)
        return text
    return cached


def _record_raw_text(record: Record) -> str:
    """An auditd record's values, one per line: a keyword matches any one value (keywords never
    hold a newline, and wildcards do not cross one)."""
    return "\n".join(v for v in record.values() if type(v) is str)


def _record_text(record: Record) -> str:
    return _record_raw_text(record).lower()


def _message_text(record: Record) -> str | None:
    message = record.get("log.message")
    return message.lower() if isinstance(message, str) else None


def _plain(name: str) -> Accessor:
    return Accessor(f"r.get({name!r})")


def _falco(name: str) -> Accessor:
    return Accessor(f"r.get({name!r})", (name,))


# -- auditd ----------------------------------------------------------------------------------

def _auditd_field(name: str) -> Accessor:
    return _plain(name)


AUDITD = Route(
    "auditd", "auditd", lambda e: e.get("evt.source") == "auditd", _auditd_field,
    Accessor("_text(r)"), Accessor("_raw_text(r)"),
    {"_text": _one_entry_cache(_record_text), "_raw_text": _one_entry_cache(_record_raw_text)},
    per_record=True,
    telling=("audit.type", "audit.key", "proc.exepath", "proc.cmdline", "proc.cwd", "user.uid",
             "user.loginuid", "fd.name", "audit.sequence"))


# -- kernel events: Sysmon for Linux's field names (ProcessCreate, FileCreate, NetworkConnect)
# as SigmaHQ's Linux rules use them, read from Falco's fields ---------------------------------

def _cwd(record: Record) -> object:
    """Falco's proc.cwd ends with '/' ('/tmp/'); Sysmon's CurrentDirectory does not ('/tmp'),
    and SigmaHQ's rules compare it whole (`CurrentDirectory: '/var/opt/microsoft/scx/tmp'`)."""
    cwd = record.get("proc.cwd")
    if isinstance(cwd, str) and len(cwd) > 1 and cwd.endswith("/"):
        return cwd[:-1]
    return cwd


_PROCESS_FIELDS = {"Image": "proc.exepath", "CommandLine": "proc.cmdline",
                   "ParentImage": "proc.pexepath", "ParentCommandLine": "proc.pcmdline",
                   "User": "user.name", "ProcessId": "proc.pid", "ParentProcessId": "proc.ppid",
                   "LogonId": "user.loginuid"}
_PROCESS: dict[str, Accessor] = {
    **{sigma: _falco(falco) for sigma, falco in _PROCESS_FIELDS.items()},
    "CurrentDirectory": Accessor("_cwd(r)", ("proc.cwd",))}
_FILE: dict[str, Accessor] = {
    # opens name the file in fd.name; renames, links and symlinks the new name in fs.path.target
    "TargetFilename": Accessor("(r.get('fs.path.target') or r.get('fd.name'))",
                               ("fs.path.target", "fd.name")),
    **{sigma: _falco(falco) for sigma, falco in _PROCESS_FIELDS.items()
       if sigma in ("Image", "User", "ProcessId", "CommandLine")}}
_NETWORK: dict[str, Accessor] = {
    # Falco's server is the destination of a connect and the local end of an accept
    "DestinationIp": _falco("fd.sip"), "DestinationPort": _falco("fd.sport"),
    "SourceIp": _falco("fd.cip"), "SourcePort": _falco("fd.cport"),
    "Protocol": _falco("fd.l4proto"), "DestinationHostname": _falco("fd.sip.name"),
    "SourceHostname": _falco("fd.cip.name"),
    "Initiated": Accessor("('true' if r.get('evt.type') == 'connect' else 'false')",
                          ("evt.type",)),
    "SourceIsIpv6": Accessor("('true' if r.get('fd.type') == 'ipv6' else 'false')", ("fd.type",)),
    "DestinationIsIpv6": Accessor("('true' if r.get('fd.type') == 'ipv6' else 'false')",
                                  ("fd.type",)),
    **{sigma: _falco(falco) for sigma, falco in _PROCESS_FIELDS.items()
       if sigma in ("Image", "User", "ProcessId", "CommandLine")}}

EXEC_TYPES = frozenset({"execve", "execveat"})
OPEN_TYPES = frozenset({"open", "openat", "openat2", "creat"})
NAMING_TYPES = frozenset({"rename", "renameat", "renameat2", "link", "linkat", "symlink",
                          "symlinkat"})
CONNECTION_TYPES = frozenset({"connect", "accept", "accept4"})
_EINPROGRESS = -115
_WRITING_FLAGS = ("O_CREAT", "O_WRONLY", "O_RDWR", "O_TRUNC")


def _mapped(table: Mapping[str, Accessor], category: str) -> Callable[[str], Accessor]:
    def accessor(name: str) -> Accessor:
        found = table.get(name)
        if found is None:
            raise Unmapped(f"field {name!r} has no runwatch field for {category} "
                           f"(known: {', '.join(sorted(table))})")
        return found
    return accessor


def _is_kernel(event: Event) -> bool:
    return event.get("evt.source", "syscall") == "syscall"


def _process_created(event: Event) -> bool:
    return event.get("evt.type") in EXEC_TYPES and _is_kernel(event) and (
        event.get("evt.rawres") == 0 or event.get("evt.res") == "SUCCESS")


def _file_written(event: Event) -> bool:
    """A file created or written: an open asking for write access or creation, creat, or a new
    name from rename, link or symlink, that succeeded (Sysmon's FileCreate, widened to writes)."""
    kind = event.get("evt.type")
    if not _is_kernel(event):
        return False
    rawres = event.get("evt.rawres")
    if kind in OPEN_TYPES:
        if not isinstance(rawres, int) or rawres < 0:
            return False
        flags = event.get("evt.arg.flags")
        return kind == "creat" or event.get("evt.is_open_write") is True or (
            isinstance(flags, str) and any(flag in flags for flag in _WRITING_FLAGS))
    return kind in NAMING_TYPES and rawres == 0


def _connected(event: Event) -> bool:
    """An IP connection this process opened (connect, also in progress) or took (accept)."""
    kind = event.get("evt.type")
    if kind not in CONNECTION_TYPES or not _is_kernel(event) or event.get("fd.sockfamily") != "ip":
        return False
    rawres = event.get("evt.rawres")
    return isinstance(rawres, int) and (rawres >= 0 or (kind == "connect" and
                                                        rawres == _EINPROGRESS))


_PROCESS_TELLING = ("proc.cmdline", "proc.exepath", "proc.pcmdline", "user.name", "user.uid",
                    "proc.pid", "proc.cwd", "container.id", "container.name", "k8s.ns.name",
                    "k8s.pod.name")
PROCESS_CREATION = Route(
    "process_creation", "syscall", _process_created, _mapped(_PROCESS, "process_creation"),
    Accessor("_lower(r.get('proc.cmdline'))", ("proc.cmdline",)), _falco("proc.cmdline"),
    {"_cwd": _cwd},
    event_types=EXEC_TYPES, telling=_PROCESS_TELLING)
FILE_EVENT = Route(
    "file_event", "syscall", _file_written, _mapped(_FILE, "file_event"),
    Accessor("_lower(r.get('fs.path.target') or r.get('fd.name'))", ("fs.path.target", "fd.name")),
    _FILE["TargetFilename"],
    event_types=OPEN_TYPES | NAMING_TYPES,
    telling=("evt.type", "fd.name", "fs.path.source", "fs.path.target", *_PROCESS_TELLING))
NETWORK_CONNECTION = Route(
    "network_connection", "syscall", _connected, _mapped(_NETWORK, "network_connection"),
    Accessor("_lower(r.get('fd.name'))", ("fd.name",)), _falco("fd.name"),
    event_types=CONNECTION_TYPES,
    telling=("evt.type", "fd.name", "fd.l4proto", *_PROCESS_TELLING))


# -- Kubernetes audit ------------------------------------------------------------------------

K8S_OBJECT = "k8s_audit.object"

_K8S_NAMES = {
    # Names SigmaHQ's Kubernetes rules use that are not paths of the audit Event
    # (kubernetes_audit_sidecar_injection.yml `apiGroup: 'apps'`; hostpath_mount.yml
    # `hostPath: '*'` and privileged_pod_creation.yml `capabilities: '*'`, which their notes
    # say mean "exists"): read where a pod request holds them.
    "apiGroup": (("objectRef", "apiGroup"),),
    "hostPath": (("requestObject", "spec", "volumes", "hostPath"),),
    "capabilities": tuple(("requestObject", "spec", containers, "securityContext",
                           "capabilities")
                          for containers in ("containers", "initContainers",
                                             "ephemeralContainers")),
}


def _walk(value: object, keys: tuple[str, ...], found: list[object]) -> None:
    for index, key in enumerate(keys):
        if isinstance(value, list):
            for item in value:
                _walk(item, keys[index:], found)
            return
        if not isinstance(value, dict):
            return
        value = value.get(key)
    if isinstance(value, list):
        found.extend(item for item in value if item is not None)
    elif value is not None:
        found.append(value)


def _k8s_path(record: Record, paths: tuple[tuple[str, ...], ...]) -> object:
    """The value at a dotted path of the audit object (a path through lists gives every
    item's value, as a list); None when there is none."""
    obj = record.get(K8S_OBJECT)
    if len(paths) == 1 and len(paths[0]) <= 2 and isinstance(obj, dict):
        first = obj.get(paths[0][0])  # the common case, objectRef.resource: no list on the way
        if len(paths[0]) == 1:
            if not isinstance(first, list):
                return first
        elif isinstance(first, dict):
            value = first.get(paths[0][1])
            if not isinstance(value, list):
                return value
    found: list[object] = []
    for path in paths:
        _walk(obj, path, found)
    return found if len(found) > 1 else (found[0] if found else None)


def _k8s_field(name: str) -> Accessor:
    paths = _K8S_NAMES.get(name) or (tuple(name.split(".")),)
    return Accessor(f"_path(r, {paths!r})")


KUBERNETES_AUDIT = Route(
    "kubernetes_audit", "k8s_audit", lambda e: e.get("evt.source") == "k8s_audit", _k8s_field,
    None, None, {"_path": _k8s_path}, telling=("k8s.ns.name", "k8s.pod.name"))


# -- syslog ----------------------------------------------------------------------------------

_SUDO_PAIR = re.compile(r"(?:^|[:;] )([A-Z]+)=(.*?)(?= ; |$)")


def _sudo_value(record: Record, key: str) -> str | None:
    """A `KEY=value` of sudo's log message, which SigmaHQ's sudo rules name by KEY:
    'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id'."""
    message = record.get("log.message")
    if not isinstance(message, str):
        return None
    for found_key, value in _SUDO_PAIR.findall(message):
        if found_key == key:
            return str(value)
    return None


def _syslog_fields(service: str | None) -> Callable[[str], Accessor]:
    def accessor(name: str) -> Accessor:
        if name.startswith("log."):
            return _falco(name)
        if service == "sudo" and name.isupper():
            return Accessor(f"_sudo(r, {name!r})", ("log.message",))
        raise Unmapped(f"field {name!r} has no runwatch field for syslog lines of "
                       f"{service or 'any service'} (log.* fields"
                       f"{', or sudo KEY=value pairs' if service == 'sudo' else ''})")
    return accessor


def _syslog_route(service: str | None) -> Route:
    """`service` matches an event whose log.service or log.program is it; 'syslog' and no
    service at all (rules/linux/builtin/*.yml: `product: linux` alone) match every line."""
    if service in (None, "syslog"):
        def accepts(event: Event) -> bool:
            return event.get("evt.source") == "syslog"
    else:
        def accepts(event: Event) -> bool:
            return event.get("evt.source") == "syslog" and (
                event.get("log.service") == service or event.get("log.program") == service)
    return Route(f"syslog:{service or 'any'}", "syslog", accepts, _syslog_fields(service),
                 Accessor("_message(r)", ("log.message",)), _falco("log.message"),
                 {"_message": _message_text_cached, "_sudo": _sudo_value},
                 telling=("log.program", "log.message", "log.host", "log.path", "log.service"))


_message_text_cached = _one_entry_cache(_message_text)
_SYSLOG_ROUTES: dict[str | None, Route] = {}


def route_for(product: str | None, category: str | None, service: str | None) -> Route | None:
    """The route of a logsource, or None when runwatch has no events for it."""
    if product == "linux":
        if service == "auditd":
            return AUDITD
        if category is not None:
            return {"process_creation": PROCESS_CREATION, "file_event": FILE_EVENT,
                    "network_connection": NETWORK_CONNECTION}.get(category)
        if service not in _SYSLOG_ROUTES:
            _SYSLOG_ROUTES[service] = _syslog_route(service)
        return _SYSLOG_ROUTES[service]
    if product == "kubernetes" and service in (None, "audit") and category in (None, "application"):
        return KUBERNETES_AUDIT
    return None

