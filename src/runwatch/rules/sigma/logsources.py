"""Where Sigma's logsources meet runwatch's events: which events a rule sees, and how a Sigma
field name reads them.

- product linux, service auditd: auditd groups; a rule meets each record of `audit.records`
  (raw auditd keys), as Sigma's auditd rules are written.
- product linux, category process_creation / file_event / network_connection: the kernel
  sensor's exec, file-creating open and connect events, Sigma's (Sysmon for Linux) field names
  mapped to Falco's.
- product kubernetes (service audit): Kubernetes audit events; dotted names are paths into the
  audit object (`objectRef.resource`).
- product linux, a syslog service (syslog, auth, sshd, sudo, cron, ...): syslog lines; keyword
  rules search the message.
Anything else (cloud, Windows) has no events here: such rules load but stay inactive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from runwatch.event import Event

Record = Mapping[str, object]
Reader = Callable[[Record], object]
"""Reads one Sigma field from a record; returns None when the record lacks it."""


class Unmapped(Exception):
    """A Sigma field this logsource has no runwatch field for; the rule stays inactive."""


@dataclass(frozen=True, slots=True)
class Route:
    """A logsource's events and fields: `records(event)` gives what a rule is matched against
    (an auditd event gives one record per audit record; others the event itself)."""

    name: str
    accepts: Callable[[Event], bool]
    records: Callable[[Event], Iterable[Record]]
    reader: Callable[[str], Reader]
    keyword_fields: tuple[str, ...]


def _plain(field: str) -> Reader:
    return lambda record: record.get(field)


def _mapped(mapping: Mapping[str, str]) -> Callable[[str], Reader]:
    def reader(field: str) -> Reader:
        target = mapping.get(field)
        if target is None:
            raise Unmapped(field)
        return lambda record: record.get(target)
    return reader


def _log_field(field: str) -> Reader:
    """Syslog rules name runwatch's own `log.*` fields (Sigma's syslog rules use keywords)."""
    if not field.startswith("log."):
        raise Unmapped(field)
    return _plain(field)


def _path(field: str) -> Reader:
    keys = field.split(".")

    def read(record: Record) -> object:
        value: object = record.get("k8s_audit.object")
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value
    return read


_PROCESS = {"Image": "proc.exepath", "CommandLine": "proc.cmdline", "ParentImage": "proc.pexepath",
            "ParentCommandLine": "proc.pcmdline", "User": "user.name", "CurrentDirectory": "proc.cwd",
            "ProcessId": "proc.pid", "ParentProcessId": "proc.ppid", "LogonId": "user.loginuid",
            "OriginalFileName": "proc.name"}
_FILE = {"TargetFilename": "fd.name", "Image": "proc.exepath", "User": "user.name",
         "ProcessId": "proc.pid"}
_NETWORK = {"DestinationIp": "fd.sip", "DestinationPort": "fd.sport", "SourceIp": "fd.cip",
            "SourcePort": "fd.cport", "Image": "proc.exepath", "User": "user.name",
            "Initiated": "sigma.initiated", "DestinationHostname": "fd.sip.name",
            "Protocol": "fd.l4proto"}
_EXECS = frozenset({"execve", "execveat"})
_OPENS = frozenset({"open", "openat", "openat2", "creat"})
_SYSLOG_SERVICES = frozenset({"syslog", "auth", "sshd", "sudo", "cron", "su", "vsftpd", "clamav",
                              "guacamole", "modsecurity", "login", "passwd"})


def _is_syscall(event: Event) -> bool:
    return (event.get("evt.source") or "syscall") == "syscall"


def _succeeded(event: Event) -> bool:
    return event.get("evt.res") == "SUCCESS" or event.get("evt.rawres") == 0


def _creates_or_writes(event: Event) -> bool:
    flags = event.get("evt.arg.flags")
    return event.get("evt.type") == "creat" or (isinstance(flags, str) and any(
        flag in flags for flag in ("O_CREAT", "O_WRONLY", "O_RDWR", "O_TRUNC")))


def _connect(event: Event) -> Iterable[Record]:
    return [{**event, "sigma.initiated": "true"}]


def route_for(product: str | None, category: str | None, service: str | None) -> Route | None:
    """The route of a logsource, or None when runwatch has no events for it."""
    if product == "linux" and service == "auditd":
        return Route("auditd", lambda e: e.get("evt.source") == "auditd", _audit_records, _plain,
                     ())
    if product == "linux" and category == "process_creation":
        return Route("process_creation", lambda e: _is_syscall(e) and e.get("evt.type") in _EXECS
                     and _succeeded(e), lambda e: (e,), _mapped(_PROCESS), ("proc.cmdline",))
    if product == "linux" and category == "file_event":
        return Route("file_event", lambda e: _is_syscall(e) and e.get("evt.type") in _OPENS
                     and _succeeded(e) and _creates_or_writes(e), lambda e: (e,), _mapped(_FILE),
                     ("fd.name",))
    if product == "linux" and category == "network_connection":
        return Route("network_connection", lambda e: _is_syscall(e) and
                     e.get("evt.type") == "connect", _connect, _mapped(_NETWORK), ())
    if product == "kubernetes" and service in (None, "audit"):
        return Route("kubernetes_audit", lambda e: e.get("evt.source") == "k8s_audit",
                     lambda e: (e,), _path, ())
    if product == "linux" and service in _SYSLOG_SERVICES:
        def accepts(event: Event, wanted: str = service) -> bool:
            return event.get("evt.source") == "syslog" and (
                wanted == "syslog" or wanted in (event.get("log.service"), event.get("log.program")))
        return Route(f"syslog:{service}", accepts, lambda e: (e,), _log_field, ("log.message",))
    return None


def _audit_records(event: Event) -> Iterable[Record]:
    records = event.get("audit.records")
    return records if isinstance(records, list) else ()
