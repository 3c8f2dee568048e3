"""Linux audit logs (what auditd writes to /var/log/audit/audit.log) into events: one event per
audit group, all the records that share `msg=audit(TIME:SERIAL)`, as Auditbeat and laurel do.

A line is `[node=N ]type=T msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`. Values come quoted
(`comm="cat"`), bare (`pid=42`), or hex-encoded when they hold spaces or odd bytes (`exe=2F75...`,
`proctitle=...`, EXECVE's `aN`); user-space records carry their own pairs inside `msg='...'`;
`log_format=ENRICHED` appends, after a `\\x1d`, the names of ids (`UID="root"`). Records of one
group may arrive interleaved with other groups' and out of order. A group is complete at its EOE
record, at once for single-record user-space types, when records of groups well after it have
arrived, or when nothing came for it within the wait (`flush`).

The event keeps every record, raw keys and decoded values, under `audit.records` (Sigma's auditd
rules match them one by one) and fills Falco's fields where the group tells them: the syscall,
its result, the process, user, working directory, the file, the socket address.
"""

from __future__ import annotations

import re
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from runwatch.event import Event
from runwatch.profiles.syscall_table import SYSCALL_NAMES
from runwatch.sources.logs.base import LogLineError

SOURCE = "auditd"
PROVIDED_FIELDS = frozenset({
    "evt.source", "evt.time", "evt.type", "evt.res", "evt.rawres", "audit.records",
    "audit.sequence", "audit.type", "audit.key", "proc.pid", "proc.ppid", "proc.name",
    "proc.exepath", "proc.cmdline", "proc.args", "proc.cwd", "user.uid", "user.loginuid",
    "group.gid", "fd.name", "fd.sip", "fd.sport", "fd.sockfamily"})

_HEADER = re.compile(r"(?:node=(?P<node>\S+) )?type=(?P<type>\S+) "
                     r"msg=audit\((?P<seconds>\d+)\.(?P<millis>\d+):(?P<serial>\d+)\):? ?(?P<body>.*)$",
                     re.DOTALL)
_PAIR = re.compile(r"""([\w-]+)=(?:"([^"]*)"|'([^']*)'|(\S*))""")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_HEX_KEYS = frozenset({"proctitle", "exe", "cwd", "name", "comm", "path", "data", "dir", "file",
                       "acct", "cmd", "old-chardev", "new-chardev", "vm", "watch", "new", "old"})
_EXECVE_ARG = re.compile(r"a\d+(?:\[\d+\])?$")
_UNSET_ID = "4294967295"
_ARCH_X86_64 = "c000003e"
_ARCH_AARCH64 = "c00000b7"
_SINGLE_RECORD_TYPES_FROM = 1100  # user-space messages (1100-1299, 2100-2999) come alone
_MULTI_RECORD_KERNEL = frozenset({"SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR",
                                  "IPC", "FD_PAIR", "MMAP", "NETFILTER_CFG", "BPRM_FCAPS",
                                  "CAPSET", "OBJ_PID", "EOE", "SECCOMP", "KERN_MODULE",
                                  "BPF", "URINGOP", "ANOM_ABEND", "AVC", "CONFIG_CHANGE",
                                  "MQ_OPEN", "MQ_SENDRECV", "SOCKETCALL", "TIME_ADJNTPVAL"})
_ERRNO_NAMES = {number: name for name, number in vars(__import__("errno")).items()
                if name.startswith("E") and isinstance(number, int)}


@dataclass(slots=True)
class AuditRecord:
    """One line: its type, time, serial, node, and decoded fields (raw auditd key names)."""

    type: str
    time_ns: int
    serial: int
    fields: dict[str, str]
    node: str = ""


def parse_audit_line(line: str, where: str = "") -> AuditRecord:
    """The record of one audit log line; LogLineError says what is wrong and where."""
    text, _, enriched = line.rstrip("\n").partition("\x1d")
    match = _HEADER.match(text)
    if match is None:
        raise LogLineError("expected 'type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...'",
                           where)
    record_type = match["type"]
    fields: dict[str, str] = {}
    for key, value in _pairs(match["body"], record_type):
        if key == "msg" and record_type != "USER_AVC" and "=" in value:
            fields.update(_pairs(value, record_type))  # user-space records: pairs inside msg='...'
        else:
            fields[key] = value
    if enriched:
        fields.update(_pairs(enriched, record_type))
    fields["type"] = record_type
    millis = match["millis"].ljust(3, "0")[:3]
    return AuditRecord(record_type, int(match["seconds"]) * 1_000_000_000 + int(millis) * 1_000_000,
                       int(match["serial"]), fields, match["node"] or "")


def _pairs(body: str, record_type: str) -> list[tuple[str, str]]:
    pairs = []
    for key, quoted, single, bare in _PAIR.findall(body):
        if bare and (key in _HEX_KEYS or record_type == "EXECVE"):
            pairs.append((key, _decoded(key, bare, record_type)))
        else:  # findall gives '' for the alternatives that did not match
            pairs.append((key, quoted or single or bare))
    return pairs


def _decoded(key: str, value: str, record_type: str) -> str:
    """A bare value auditd hex-encoded (it does so for values with spaces, quotes or odd bytes)."""
    is_hex_key = key in _HEX_KEYS or (record_type == "EXECVE" and _EXECVE_ARG.match(key))
    if not is_hex_key or value in ("(null)", "(none)", "?") or not _HEX.fullmatch(value):
        return value
    raw = bytes.fromhex(value)
    if key == "proctitle":
        raw = raw.rstrip(b"\0").replace(b"\0", b" ")
    return raw.decode("utf-8", "replace")


@dataclass(slots=True)
class _Group:
    serial: int
    time_ns: int
    records: list[AuditRecord] = field(default_factory=list)
    last_seen_ns: int = 0


class AuditAssembler:
    """Gathers records into groups and hands over each group, complete, as one event.

    `wait_ns`: how long a group without EOE may wait for more records (by the clock `flush`
    is given). `later_serials`: a group is also complete once a record this many serials after it
    arrived (auditd writes a group's records together; files often have no EOE).
    """

    def __init__(self, wait_ns: int = 2_000_000_000, later_serials: int = 10,
                 max_pending: int = 10_000) -> None:
        self.wait_ns = wait_ns
        self.later_serials = later_serials
        self.max_pending = max_pending
        self.lost_serials = 0
        self.evicted_groups = 0
        self._pending: OrderedDict[tuple[str, int, int], _Group] = OrderedDict()
        self._highest: int | None = None
        self._last_emitted: int | None = None

    def feed(self, record: AuditRecord, now_ns: int | None = None) -> list[Event]:
        """The groups this record completes (its own, older ones, or none yet)."""
        if record.type != "EOE" and _is_single_record(record.type):
            self._note_serial(record.serial)
            return [_group_event(_Group(record.serial, record.time_ns, [record]))]
        key = (record.node, record.time_ns, record.serial)
        group = self._pending.get(key)
        completed: list[Event] = []
        if group is None:
            completed += self._complete_older(record.serial)
            group = self._pending[key] = _Group(record.serial, record.time_ns)
            self._note_serial(record.serial)
        group.last_seen_ns = now_ns if now_ns is not None else record.time_ns
        if record.type == "EOE":
            completed.append(_group_event(self._pending.pop(key)))
        else:
            group.records.append(record)
        while len(self._pending) > self.max_pending:
            self.evicted_groups += 1
            completed.append(_group_event(self._pending.popitem(last=False)[1]))
        return completed

    def flush(self, now_ns: int) -> list[Event]:
        """Groups that waited `wait_ns` without a new record: complete as they are."""
        done = [key for key, group in self._pending.items()
                if now_ns - group.last_seen_ns >= self.wait_ns]
        return [_group_event(self._pending.pop(key)) for key in done]

    def flush_all(self) -> list[Event]:
        """At the end of the input: every group left."""
        groups, self._pending = list(self._pending.values()), OrderedDict()
        return [_group_event(group) for group in groups if group.records]

    def _complete_older(self, serial: int) -> list[Event]:
        """Groups `later_serials` or more before a new group's serial, oldest first (groups
        start in about serial order, so the first one not old enough ends the look)."""
        completed = []
        while self._pending:
            key, group = next(iter(self._pending.items()))
            if _serial_distance(group.serial, serial) < self.later_serials:
                break
            del self._pending[key]
            completed.append(_group_event(group))
        return completed

    def _note_serial(self, serial: int) -> None:
        """Count the serials skipped between consecutive new groups (auditd lost them)."""
        if self._highest is not None:
            gap = _serial_distance(self._highest, serial)
            if 1 < gap < 1_000_000:
                self.lost_serials += gap - 1
            if gap <= 0:
                return
        self._highest = serial


def _serial_distance(older: int, newer: int) -> int:
    """How far `newer` is after `older`, across the 32-bit rollover."""
    distance = (newer - older) % (1 << 32)
    return distance if distance < (1 << 31) else distance - (1 << 32)


def _is_single_record(record_type: str) -> bool:
    if record_type in _MULTI_RECORD_KERNEL:
        return False
    number = re.fullmatch(r"UNKNOWN\[(\d+)\]", record_type)
    if number is not None:
        return _SINGLE_RECORD_TYPES_FROM <= int(number[1]) < 1300 or 2100 <= int(number[1]) < 3000
    return record_type.startswith(("USER_", "CRED_", "LOGIN", "SERVICE_", "SYSTEM_", "DAEMON_",
                                   "ADD_", "DEL_", "CHGRP_", "CHUSER_", "ROLE_", "GRP_",
                                   "ANOM_LOGIN", "ACCT_", "RESP_", "TTY", "CONFIG_"))


def _group_event(group: _Group) -> Event:
    by_type: dict[str, list[dict[str, str]]] = {}
    for record in group.records:
        by_type.setdefault(record.type, []).append(record.fields)
    primary = group.records[0].type if group.records else "EOE"
    if "SYSCALL" in by_type:
        primary = "SYSCALL"
    event: Event = {"evt.source": SOURCE, "evt.time": group.time_ns,
                    "audit.records": [record.fields for record in group.records],
                    "audit.sequence": group.serial, "audit.type": primary}
    if (syscall := by_type.get("SYSCALL")) is not None:
        _add_syscall(event, syscall[0])
    elif group.records:
        _add_process(event, group.records[0].fields)
    if (execve := by_type.get("EXECVE")) is not None:
        args = _execve_args(execve[0])
        if args:
            event["proc.cmdline"] = " ".join([args[0].rsplit("/", 1)[-1], *args[1:]])
            event["proc.args"] = " ".join(args[1:])
    elif (title := by_type.get("PROCTITLE")) is not None and title[0].get("proctitle"):
        event["proc.cmdline"] = title[0]["proctitle"]
    if (cwd := by_type.get("CWD")) is not None and cwd[0].get("cwd"):
        event["proc.cwd"] = cwd[0]["cwd"]
    for path in by_type.get("PATH", []):
        if path.get("nametype") not in ("PARENT",) and path.get("name") not in (None, "(null)"):
            event["fd.name"] = path["name"]
            break
    if (address := by_type.get("SOCKADDR")) is not None:
        _add_socket_address(event, address[0].get("saddr", ""))
    return event


def _add_syscall(event: Event, syscall: dict[str, str]) -> None:
    name = _syscall_name(syscall.get("arch", ""), syscall.get("syscall", ""))
    if name is not None:
        event["evt.type"] = name
    exit_code = syscall.get("exit")
    if exit_code is not None and re.fullmatch(r"-?\d+", exit_code):
        rawres = int(exit_code)
        event["evt.rawres"] = rawres
        event["evt.res"] = "SUCCESS" if rawres >= 0 else _ERRNO_NAMES.get(-rawres, str(rawres))
    elif syscall.get("success") in ("yes", "no"):
        event["evt.res"] = "SUCCESS" if syscall["success"] == "yes" else "FAILURE"
    if (key := syscall.get("key")) not in (None, "(null)"):
        event["audit.key"] = key
    _add_process(event, syscall)


def _add_process(event: Event, fields: dict[str, str]) -> None:
    for key, name in (("pid", "proc.pid"), ("ppid", "proc.ppid"), ("uid", "user.uid"),
                      ("gid", "group.gid")):
        if (value := fields.get(key)) is not None and value.isdigit():
            event[name] = int(value)
    if (auid := fields.get("auid")) is not None and auid.isdigit():
        event["user.loginuid"] = -1 if auid == _UNSET_ID else int(auid)
    if (comm := fields.get("comm")) not in (None, "?"):
        event["proc.name"] = comm
    if (exe := fields.get("exe")) not in (None, "?", "(null)"):
        event["proc.exepath"] = exe
    if (cwd := fields.get("cwd")) not in (None, "?"):
        event["proc.cwd"] = cwd  # user-space records say it in msg='...'; a CWD record wins


def _syscall_name(arch: str, number: str) -> str | None:
    if not number.isdigit():
        return number or None  # an interpreted log already says the name
    if arch.lower() == _ARCH_X86_64:
        return SYSCALL_NAMES.get(int(number))
    if arch.lower() == _ARCH_AARCH64:
        return _AARCH64_NAMES.get(int(number))
    return None


_AARCH64_NAMES = {56: "openat", 57: "close", 63: "read", 64: "write", 198: "socket", 200: "bind",
                  201: "listen", 202: "accept", 203: "connect", 221: "execve", 281: "execveat",
                  117: "ptrace", 146: "setuid", 144: "setgid", 35: "unlinkat", 38: "renameat",
                  276: "renameat2", 105: "init_module", 273: "finit_module", 40: "mount",
                  97: "unshare", 220: "clone", 435: "clone3", 242: "accept4", 49: "chdir",
                  53: "fchmodat", 54: "fchownat", 34: "mkdirat", 36: "symlinkat", 37: "linkat"}
"""The aarch64 calls audit rules usually watch (arch/arm64 uses the generic unistd table)."""


def _execve_args(execve: dict[str, str]) -> list[str]:
    """EXECVE's arguments in order; a long one auditd split as aN[0], aN[1], ... is joined."""
    count = int(execve["argc"]) if execve.get("argc", "").isdigit() else 0
    args = []
    for index in range(count):
        if f"a{index}" in execve:
            args.append(execve[f"a{index}"])
            continue
        pieces = [execve[key] for piece in range(10_000)
                  if (key := f"a{index}[{piece}]") in execve]
        if not pieces:
            break
        args.append("".join(pieces))
    return args


def _add_socket_address(event: Event, saddr: str) -> None:
    """SOCKADDR's hex sockaddr: family 2 (IPv4) and 10 (IPv6) give address and port."""
    if not _HEX.fullmatch(saddr) or len(saddr) < 4:
        return
    raw = bytes.fromhex(saddr)
    family = int.from_bytes(raw[:2], "little")
    if family == socket.AF_INET and len(raw) >= 8:
        event["fd.sockfamily"] = "ip"
        event["fd.sport"] = int.from_bytes(raw[2:4], "big")
        event["fd.sip"] = socket.inet_ntop(socket.AF_INET, raw[4:8])
    elif family == socket.AF_INET6 and len(raw) >= 24:
        event["fd.sockfamily"] = "ip"
        event["fd.sport"] = int.from_bytes(raw[2:4], "big")
        event["fd.sip"] = socket.inet_ntop(socket.AF_INET6, raw[8:24])
    elif family == socket.AF_UNIX:
        event["fd.sockfamily"] = "unix"


class AuditdDecoder:
    """Implements `LineDecoder` for auditd log files."""

    def __init__(self, wait_s: float = 2.0) -> None:
        self.assembler = AuditAssembler(wait_ns=int(wait_s * 1e9))

    def decode(self, line: str, where: str) -> list[Event]:
        if not line.strip():
            return []
        return self.assembler.feed(parse_audit_line(line, where), time.time_ns())

    def flush(self, now_ns: int) -> list[Event]:
        return self.assembler.flush(now_ns)
