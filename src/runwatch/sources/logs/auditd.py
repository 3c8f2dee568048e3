"""Linux audit logs (what auditd writes to /var/log/audit/audit.log, audisp and `ausearch --raw`
print) into events: one event per audit group, the records sharing `msg=audit(TIME:SERIAL)`, as
Auditbeat (go-libaudit's reassembler) and laurel gather them.

A line is `[node=N ]type=T msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`. Values come quoted
(`comm="cat"`), bare (`pid=42`), or hex-encoded when they hold spaces, quotes or odd bytes
(`exe=2F75...`, `proctitle=...`, EXECVE's `aN`); user-space records carry their pairs inside
`msg='...'`; `log_format=ENRICHED` appends, after a `\\x1d`, the names of ids (`UID="root"`).

The event keeps every record, raw keys and decoded values, under `audit.records` (Sigma's auditd
rules match them one by one) and fills Falco's fields where the group tells them.
"""

from __future__ import annotations

import errno
import posixpath
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field

from runwatch.event import Event
from runwatch.profiles.syscall_table import AARCH64_SYSCALL_NAMES, SYSCALL_NAMES
from runwatch.sources.logs.base import LogLineError

SOURCE = "auditd"
PROVIDED_FIELDS = frozenset({
    "evt.source", "evt.time", "evt.type", "evt.res", "evt.rawres", "evt.failed", "evt.hostname",
    "audit.records", "audit.sequence", "audit.type", "audit.key", "proc.pid", "proc.ppid",
    "proc.name", "proc.exe", "proc.exepath", "proc.cmdline", "proc.args", "proc.cwd", "proc.tty",
    "user.uid", "user.name", "user.loginuid", "user.loginname", "group.gid", "group.name",
    "fd.name", "fd.nameraw", "fd.num", "fd.type", "fd.typechar", "fd.sockfamily", "fd.sip",
    "fd.sport", "fd.dip", "fd.dport", "fd.cip", "fd.cport", "fd.rip", "fd.rport", "fd.lip",
    "fd.lport", "fs.path.name", "fs.path.source", "fs.path.target"})

_HEADER = re.compile(r"(?:node=(\S+) )?type=(\S+) msg=audit\((\d+)\.(\d+):(\d+)\):?")
# ' key=value' pairs, value "quoted", 'quoted' (user-space msg='...') or bare: the lookbehinds
# end the value by its opening quote, so findall yields (key, value) and dict() takes them in C.
_PAIR = re.compile(r""" ([^\s="']+)=["']?((?<=")[^"]*|(?<=')[^']*|(?<!["'])[^\s"']*)""")
_UPPER_HEX = re.compile(r"(?:[0-9A-F]{2})+")
_HEX_DIGITS = "0123456789ABCDEF"
_SMALL_HEX = re.compile(r"[0-9a-f]{1,8}")
# Fields audit writes as untrusted strings: quoted when printable, else upper-case hex
# (audit-userspace auparse/typetab.h, the ESCAPED ones; kernel audit_log_untrustedstring).
_HEX_KEYS = frozenset({
    "proctitle", "exe", "cwd", "name", "comm", "ocomm", "path", "data", "dir", "file", "acct",
    "cmd", "key", "vm", "watch", "old-chardev", "new-chardev", "old-disk", "new-disk", "old-fs",
    "new-fs", "old-net", "new-net", "device", "cgroup", "root_dir", "sw", "profile", "peer"})
# where the kernel's records hold them; other records are searched for every _HEX_KEYS key
_HEX_KEYS_OF = {"SYSCALL": ("comm", "exe", "key"), "CWD": ("cwd",), "PATH": ("name",),
                "PROCTITLE": ("proctitle",), "SOCKADDR": ()}
_EXECVE_NOT_ARGS = frozenset({"type", "argc"})
_FRACTION_NS = {digits: 10 ** (9 - digits) for digits in range(1, 10)}
_NO_VALUE = ("?", "(null)", "(none)", "")
_UNSET_IDS = ("4294967295", "-1", "unset")
_KEY_SEPARATOR = "\x01"  # several rule keys on one event: hex of 'a\x01b' (AUDIT_KEY_SEPARATOR)

# Records user space sends (audit-userspace lib/libaudit.h: 1005, 1100-1299, 2100-2999): each
# is a whole event. Kernel records wait for their group's EOE; unknown names wait too.
_USER_SPACE_TYPES = frozenset("""
    USER USER_AUTH USER_ACCT USER_MGMT CRED_ACQ CRED_DISP USER_START USER_END USER_AVC
    USER_CHAUTHTOK USER_ERR CRED_REFR USYS_CONFIG USER_LOGIN USER_LOGOUT ADD_USER DEL_USER
    ADD_GROUP DEL_GROUP DAC_CHECK CHGRP_ID TEST TRUSTED_APP USER_SELINUX_ERR USER_CMD USER_TTY
    CHUSER_ID GRP_AUTH SYSTEM_BOOT SYSTEM_SHUTDOWN SYSTEM_RUNLEVEL SERVICE_START SERVICE_STOP
    GRP_MGMT GRP_CHAUTHTOK MAC_CHECK ACCT_LOCK ACCT_UNLOCK USER_DEVICE SOFTWARE_UPDATE
    DAEMON_START DAEMON_END DAEMON_ABORT DAEMON_CONFIG DAEMON_RECONFIG DAEMON_ROTATE DAEMON_RESUME
    DAEMON_ACCEPT DAEMON_CLOSE DAEMON_ERR ANOM_LOGIN_FAILURES ANOM_LOGIN_TIME ANOM_LOGIN_SESSIONS
    ANOM_LOGIN_ACCT ANOM_LOGIN_LOCATION ANOM_MAX_DAC ANOM_MAX_MAC ANOM_AMTU_FAIL ANOM_RBAC_FAIL
    ANOM_RBAC_INTEGRITY_FAIL ANOM_CRYPTO_FAIL ANOM_ACCESS_FS ANOM_EXEC ANOM_MK_EXEC ANOM_ADD_ACCT
    ANOM_DEL_ACCT ANOM_MOD_ACCT ANOM_ROOT_TRANS ANOM_LOGIN_SERVICE ANOM_LOGIN_ROOT
    ANOM_ORIGIN_FAILURES ANOM_SESSION RESP_ANOMALY RESP_ALERT RESP_KILL_PROC RESP_TERM_ACCESS
    RESP_ACCT_REMOTE RESP_ACCT_LOCK_TIMED RESP_ACCT_UNLOCK_TIMED RESP_ACCT_LOCK RESP_TERM_LOCK
    RESP_SEBOOL RESP_EXEC RESP_SINGLE RESP_HALT RESP_ORIGIN_BLOCK RESP_ORIGIN_BLOCK_TIMED
    RESP_ORIGIN_UNBLOCK_TIMED USER_ROLE_CHANGE ROLE_ASSIGN ROLE_REMOVE LABEL_OVERRIDE
    LABEL_LEVEL_CHANGE USER_LABELED_EXPORT USER_UNLABELED_EXPORT DEV_ALLOC DEV_DEALLOC FS_RELABEL
    USER_MAC_POLICY_LOAD ROLE_MODIFY USER_MAC_CONFIG_CHANGE USER_MAC_STATUS CRYPTO_TEST_USER
    CRYPTO_PARAM_CHANGE_USER CRYPTO_LOGIN CRYPTO_LOGOUT CRYPTO_KEY_USER CRYPTO_FAILURE_USER
    CRYPTO_REPLAY_USER CRYPTO_SESSION CRYPTO_IKE_SA CRYPTO_IPSEC_SA VIRT_CONTROL VIRT_RESOURCE
    VIRT_MACHINE_ID VIRT_INTEGRITY_CHECK VIRT_CREATE VIRT_DESTROY VIRT_MIGRATE_IN VIRT_MIGRATE_OUT
    """.split())
# Records that only add to a SYSCALL record: a group led by one of them is a SYSCALL group.
_SYSCALL_AUX = frozenset({"EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "FD_PAIR", "IPC",
                          "MMAP", "BPRM_FCAPS", "CAPSET", "OBJ_PID", "SOCKETCALL", "EOE"})


@dataclass(slots=True)
class AuditRecord:
    """One line: its type, time, serial, node, and decoded fields (raw auditd key names, and
    `type`)."""

    type: str
    time_ns: int
    serial: int
    fields: dict[str, str]
    node: str = ""


def parse_audit_line(line: str, where: str = "") -> AuditRecord:
    """The record of one audit log line; LogLineError says what is wrong and where."""
    match = _HEADER.match(line)
    if match is None:
        raise LogLineError(_header_problem(line), where)
    node, record_type, seconds, fraction, serial_text = match.groups()
    serial = int(serial_text)
    if serial > 0xFFFFFFFF or len(fraction) > 9:
        raise LogLineError(f"bad msg=audit({seconds}.{fraction}:{serial}): expected "
                           "milliseconds and a 32-bit serial", where)
    body = line[match.end():]
    if body[:1] != " ":
        body = " " + body
    enriched = ""
    if "\x1d" in body:  # log_format=ENRICHED: raw fields, \x1d, then names (AUID="alice")
        body, _, enriched = body.partition("\x1d")
    if record_type == "LOGIN" and " old " in body:  # RHEL 5/6: 'old auid=0 new auid=500'
        body = body.replace(" old auid=", " old-auid=").replace(" new auid=", " auid=") \
            .replace(" old ses=", " old-ses=").replace(" new ses=", " ses=")
    fields = {"type": record_type}
    fields.update(_PAIR.findall(body))
    if (inner := fields.get("msg")) is not None and "=" in inner:
        del fields["msg"]  # user-space records: their own pairs, inside msg='...'
        fields.update(_user_message_pairs(inner))
    if enriched:
        fields.update(_PAIR.findall(" " + enriched))
    fields["type"] = record_type
    candidates: Collection[str] | None = _HEX_KEYS_OF.get(record_type)
    if candidates is None:
        candidates = [key for key in fields if key not in _EXECVE_NOT_ARGS
                      and not key.endswith("_len")] if record_type == "EXECVE" \
            else _HEX_KEYS.intersection(fields)
    for key in candidates:
        value = fields.get(key)
        if value and value[0] in _HEX_DIGITS and _UPPER_HEX.fullmatch(value) \
                and _is_bare(line, key, value):
            fields[key] = _decoded(key, value)
    return AuditRecord(record_type, int(seconds) * 1_000_000_000 + int(fraction)
                       * _FRACTION_NS[len(fraction)], serial, fields, node or "")


def _header_problem(line: str) -> str:
    shown = line[:60].rstrip("\n") + ("..." if len(line) > 60 else "")
    if not line.strip():
        return "empty line, expected an audit record"
    if re.match(r"(?:node=\S+ )?type=\S+ msg=audit\(", line):
        return f"bad msg=audit(...) in {shown!r}: expected msg=audit(SECONDS.MILLIS:SERIAL):"
    return f"not an audit record: expected 'type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): " \
           f"key=value ...', got {shown!r}"


def _user_message_pairs(inner: str) -> list[tuple[str, str]]:
    """msg='...' of a user-space record. Old PAM records close it oddly, as go-libaudit's
    normalizeAuditMessage knows: `msg='PAM: setcred acct=root : exe="/usr/sbin/crond"
    (hostname=?, addr=?, terminal=cron res=success)'`."""
    if " (hostname=" not in inner:
        return _PAIR.findall(" " + inner)
    inner = inner.replace(" (hostname=", " hostname=").rstrip(")")
    return [(key, value.rstrip(",")) for key, value in _PAIR.findall(" " + inner)]


def _is_bare(line: str, key: str, value: str) -> bool:
    """True when `key=value` stands unquoted in the line (a quoted "CAFE" is text, not hex)."""
    needle = f"{key}={value}"
    start = line.find(needle)
    while start != -1:
        end = start + len(needle)
        if line[start - 1:start] in (" ", "'") and line[end:end + 1] in ("", " ", "'", "\n",
                                                                       "\x1d"):
            return True
        start = line.find(needle, end)
    return False


def _decoded(key: str, value: str) -> str:
    raw = bytes.fromhex(value)
    if key == "proctitle":  # argv with NUL separators, as /proc/PID/cmdline
        raw = raw.rstrip(b"\0").replace(b"\0", b" ")
    text = raw.decode("utf-8", "backslashreplace")
    return text.replace(_KEY_SEPARATOR, ",") if key == "key" else text


@dataclass(slots=True)
class _Group:
    node: str
    serial: int
    time_ns: int
    arrived_ns: int
    records: list[AuditRecord] = field(default_factory=list)


_Key = tuple[str, int, int]
_SERIALS = 1 << 32
_NEAR = 4096  # serials further apart than this belong to another run of the counter (reboot)


class AuditAssembler:
    """Gathers records into groups and hands over each complete group as one event.

    A group is complete at its EOE record; at once for user-space records (they come alone);
    in logs without EOE (older kernels, some shippers), at its PROCTITLE (the kernel writes it
    last: audit_log_exit) or once a group `later_serials` after it has started; at `flush(now_ns)`
    when no record came for it for `wait_ns` (by the `now_ns` given to `feed`, else by audit
    time); and, oldest first, when more than `max_pending` groups wait.

    `lost_serials` counts serials never seen (auditd or the kernel dropped them), as go-libaudit
    reports lost events; a late group fills its gap again. `late_records` counts records that
    came after their group was handed over (each becomes an event of its own), `evicted_groups`
    the groups handed over because too many waited.
    """

    def __init__(self, wait_ns: int = 2_000_000_000, later_serials: int = 10,
                 max_pending: int = 8192) -> None:
        self.wait_ns = wait_ns
        self.later_serials = later_serials
        self.max_pending = max_pending
        self.lost_serials = 0
        self.late_records = 0
        self.evicted_groups = 0
        # OrderedDicts: a plain dict slows down when its oldest keys keep being deleted
        self._pending: OrderedDict[_Key, _Group] = OrderedDict()  # in order of arrival
        self._done: OrderedDict[_Key, None] = OrderedDict()  # recently handed over
        self._highest: dict[str, int] = {}  # per node
        self._holes: OrderedDict[tuple[str, int], None] = OrderedDict()  # skipped serials
        self._eoe_nodes: set[str] = set()  # nodes whose log has EOE records: wait for them

    def feed(self, record: AuditRecord, now_ns: int | None = None) -> list[Event]:
        """The groups this record completes: its own, older ones, or none yet."""
        record_type, node = record.type, record.node
        if record_type in _USER_SPACE_TYPES or (
                record_type.startswith("UNKNOWN[") and _is_user_space_number(record_type)):
            self._note_serial(node, record.serial)
            return [_group_event(_Group(node, record.serial, record.time_ns, 0, [record]))]
        key = (node, record.time_ns, record.serial)
        arrived = record.time_ns if now_ns is None else now_ns
        group = self._pending.get(key)
        completed: list[Event] = []
        if record_type == "EOE":
            self._eoe_nodes.add(node)
            if group is not None:
                completed.append(self._complete(key))
            elif key not in self._done:
                self._note_serial(node, record.serial)  # an empty group: nothing to hand over
            return completed
        if group is None:
            if key in self._done:
                self.late_records += 1
            else:
                self._note_serial(node, record.serial)
            group = self._pending[key] = _Group(node, record.serial, record.time_ns, arrived)
            if node not in self._eoe_nodes:
                completed += self._complete_older()
        group.arrived_ns = arrived
        group.records.append(record)
        if record_type == "PROCTITLE" and node not in self._eoe_nodes:
            completed.append(self._complete(key))
        if len(self._pending) > self.max_pending:
            self.evicted_groups += 1
            completed.append(self._complete(next(iter(self._pending))))
        return completed

    def flush(self, now_ns: int) -> list[Event]:
        """Groups nothing came for in `wait_ns`: complete as they are."""
        waited = [key for key, group in self._pending.items()
                  if now_ns - group.arrived_ns >= self.wait_ns]
        return [self._complete(key) for key in waited]

    def flush_all(self) -> list[Event]:
        """At the end of the input: every group left, in order of arrival."""
        return [self._complete(key) for key in list(self._pending)]

    def _complete(self, key: _Key) -> Event:
        group = self._pending.pop(key)
        self._done[key] = None
        if len(self._done) > 1024:
            self._done.popitem(last=False)
        return _group_event(group)

    def _complete_older(self) -> list[Event]:
        """Oldest first, the groups `later_serials` or more before their node's newest serial
        (groups start in about serial order, so the first one too young ends the look)."""
        completed = []
        while self._pending:
            key = next(iter(self._pending))
            node, _, serial = key
            newest = self._highest.get(node, serial)
            if (newest - serial) % _SERIALS < self.later_serials or node in self._eoe_nodes:
                break
            completed.append(self._complete(key))
        return completed

    def _note_serial(self, node: str, serial: int) -> None:
        """Count the serials skipped before a new group (lost), and give back a late one's."""
        highest = self._highest.get(node)
        if highest is None:
            self._highest[node] = serial
            return
        ahead = (serial - highest) % _SERIALS  # across the 32-bit rollover
        if 0 < ahead < _NEAR:
            self.lost_serials += ahead - 1
            for missing in range(highest + 1, highest + min(ahead, 65)):
                self._holes[(node, missing % _SERIALS)] = None
            while len(self._holes) > 4096:
                self._holes.popitem(last=False)
            self._highest[node] = serial
        elif (node, serial) in self._holes:
            del self._holes[(node, serial)]
            self.lost_serials -= 1
        elif _SERIALS - ahead >= _NEAR and ahead != 0:  # far off either way: a new count
            self._highest[node] = serial


def _is_user_space_number(record_type: str) -> bool:
    """`UNKNOWN[1334]`: a type auditd has no name for, by its number."""
    number = record_type[8:-1]
    if not number.isdigit():
        return False
    return int(number) == 1005 or 1100 <= int(number) < 1300 or 2100 <= int(number) < 3000


# -- the event of a group ---------------------------------------------------------------------

def _group_event(group: _Group) -> Event:
    records = group.records
    event: Event = {"evt.source": SOURCE, "evt.time": group.time_ns,
                    "audit.records": [record.fields for record in records],
                    "audit.sequence": group.serial}
    if group.node:
        event["evt.hostname"] = group.node
    syscall: dict[str, str] | None = None
    cwd: str | None = None
    proctitle: str | None = None
    saddr: str | None = None
    execves: list[dict[str, str]] = []
    paths: list[dict[str, str]] = []
    for record in records:
        fields, record_type = record.fields, record.type
        if record_type == "SYSCALL":
            syscall = syscall or fields
        elif record_type == "PATH":
            paths.append(fields)
        elif record_type == "EXECVE":
            execves.append(fields)
        elif record_type == "CWD":
            cwd = fields.get("cwd")
        elif record_type == "PROCTITLE":
            proctitle = fields.get("proctitle")
        elif record_type == "SOCKADDR":
            saddr = fields.get("saddr")
    first = records[0].type if records else "EOE"
    event["audit.type"] = "SYSCALL" if syscall is not None and first in _SYSCALL_AUX else first
    subject = syscall if syscall is not None else (records[0].fields if records else {})
    _add_process(event, subject)
    _add_result(event, subject)
    if (key := subject.get("key")) not in _NO_VALUE and key is not None:
        event["audit.key"] = key
    if cwd not in _NO_VALUE and cwd is not None:
        event["proc.cwd"] = cwd if cwd.endswith("/") else cwd + "/"  # Falco's '/tmp/'
    _add_command_line(event, execves, proctitle)
    evt_type = _syscall_name(syscall) if syscall is not None else None
    if evt_type is None:
        return event
    event["evt.type"] = evt_type
    if saddr is not None:
        _add_socket_address(event, evt_type, saddr, syscall or {})
    elif paths and evt_type not in _NOT_FILE_SYSCALLS:
        _add_paths(event, evt_type, paths, cwd, syscall or {})
    if evt_type in _FD_RESULT and isinstance(rawres := event.get("evt.rawres"), int):
        event["fd.num"] = rawres
    return event


def _add_process(event: Event, fields: dict[str, str]) -> None:
    """The process and user: SYSCALL's, or a lone record's (user-space records name the
    sender). user.uid and group.gid are the effective ids, as Falco's driver reports them."""
    for key, name in (("pid", "proc.pid"), ("ppid", "proc.ppid")):
        if (value := fields.get(key)) is not None and value.isdigit():
            event[name] = int(value)
    uid = fields.get("euid") or fields.get("uid")
    if uid is not None and uid.isdigit():
        event["user.uid"] = int(uid)
    gid = fields.get("egid") or fields.get("gid")
    if gid is not None and gid.isdigit():
        event["group.gid"] = int(gid)
    if (auid := fields.get("auid")) is not None:
        if auid in _UNSET_IDS:
            event["user.loginuid"] = -1  # Falco: -1 when the login uid is not set
        elif auid.isdigit():
            event["user.loginuid"] = int(auid)
    if (comm := fields.get("comm")) not in _NO_VALUE and comm is not None:
        event["proc.name"] = comm
    if (exe := fields.get("exe")) not in _NO_VALUE and exe is not None:
        event["proc.exepath"] = exe
    if (cwd := fields.get("cwd")) not in _NO_VALUE and cwd is not None:
        event["proc.cwd"] = cwd if cwd.endswith("/") else cwd + "/"  # USER_CMD's msg='cwd=...'
    if (tty := _tty_number(fields.get("tty"))) is not None:
        event["proc.tty"] = tty
    # log_format=ENRICHED names the ids; "unset" and "unknown(1234)" name nobody
    for key, name in (("EUID", "user.name"), ("UID", "user.name"), ("AUID", "user.loginname"),
                      ("EGID", "group.name"), ("GID", "group.name")):
        value = fields.get(key)
        if value and name not in event and value != "unset" and not value.startswith("unknown("):
            event[name] = value


def _tty_number(name: str | None) -> int | None:
    """Falco's proc.tty is the kernel's encoded device number (new_encode_dev), 0 without a
    terminal; audit names the terminal: pts3 (major 136), tty2 (major 4), ttyS0 (4, from 64)."""
    if name is None:
        return None
    if name == "(none)":
        return 0
    for prefix, major, first_minor in (("pts", 136, 0), ("ttyS", 4, 64), ("tty", 4, 0)):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            minor = first_minor + int(name[len(prefix):])
            return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
    return None


def _add_result(event: Event, fields: dict[str, str]) -> None:
    """evt.rawres, evt.res (SUCCESS or the errno name) and evt.failed, from SYSCALL's exit and
    success, or a user-space record's res (success/failed, 1/0)."""
    success = fields.get("success")
    failed: bool | None = None
    if success in ("yes", "no"):
        failed = success == "no"
    exit_code = fields.get("exit")
    if exit_code is not None and exit_code.lstrip("-").isdigit():
        rawres = int(exit_code)
        event["evt.rawres"] = rawres
        if failed is None:
            failed = -4095 <= rawres < 0  # the kernel's IS_ERR_VALUE
        if failed and rawres < 0 and -rawres in errno.errorcode:
            event["evt.res"] = errno.errorcode[-rawres]
    elif failed is None and (res := fields.get("res")) is not None:
        lowered = res.lower()
        if lowered in ("success", "yes", "1"):
            failed = False
        elif lowered in ("failed", "fail", "no", "0"):
            failed = True
    if failed is not None:
        event["evt.failed"] = failed
        if not failed:
            event["evt.res"] = "SUCCESS"


def _add_command_line(event: Event, execves: list[dict[str, str]], proctitle: str | None) -> None:
    """proc.cmdline as Falco writes it (the name, then the arguments after argv[0]), from
    EXECVE's arguments, else from PROCTITLE (argv as /proc/PID/cmdline has it, 128 bytes)."""
    if execves:
        argv = _execve_args(execves)
        if not argv:
            return
        event["proc.exe"] = argv[0]
        args = " ".join(argv[1:])
    elif proctitle not in _NO_VALUE and proctitle is not None:
        argv0, _, args = proctitle.partition(" ")
        argv = [argv0]
    else:
        return
    name = event.get("proc.name")
    name = name if isinstance(name, str) else posixpath.basename(argv[0])
    event["proc.args"] = args
    event["proc.cmdline"] = f"{name} {args}" if args else name


def _execve_args(execves: list[dict[str, str]]) -> list[str]:
    """argv in order, over every EXECVE record of the group (the kernel starts a new one when a
    record fills up); an argument split as aN[0], aN[1], ... is joined."""
    merged: dict[str, str] = {}
    for fields in execves:
        merged.update(fields)
    argc = merged.get("argc", "")
    argv = []
    for index in range(int(argc) if argc.isdigit() else 0):
        value = merged.get(f"a{index}")
        if value is None:
            pieces: list[str] = []
            while (piece := merged.get(f"a{index}[{len(pieces)}]")) is not None:
                pieces.append(piece)
            if not pieces:
                break  # records lost: keep the arguments known so far
            value = "".join(pieces)
        argv.append(value)
    return argv


def _syscall_name(syscall: dict[str, str]) -> str | None:
    number = syscall.get("syscall", "")
    if not number.isdigit():
        return number or syscall.get("SYSCALL")  # `ausearch -i` already names it
    arch = syscall.get("arch", "").lower()
    if arch == "c000003e":  # AUDIT_ARCH_X86_64
        return SYSCALL_NAMES.get(int(number))
    if arch == "c00000b7":  # AUDIT_ARCH_AARCH64
        return AARCH64_SYSCALL_NAMES.get(int(number))
    return syscall.get("SYSCALL")  # enriched logs name it for every arch


_NOT_FILE_SYSCALLS = frozenset({"execve", "execveat", "connect", "bind", "accept", "accept4",
                                "sendto", "sendmsg", "recvfrom", "recvmsg"})
_FD_RESULT = frozenset({"open", "openat", "openat2", "creat", "accept", "accept4",
                        "open_by_handle_at", "memfd_create"})
_RENAMES = frozenset({"rename", "renameat", "renameat2"})
_LINKS = frozenset({"link", "linkat"})
# calls whose path is relative to a dirfd argument (a0; a1 for symlinkat; a2 for the new name
# of renameat and linkat) rather than to the cwd, unless that argument is AT_FDCWD
_DIRFD_CALLS = frozenset({
    "openat", "openat2", "mkdirat", "mknodat", "fchownat", "futimesat", "newfstatat", "unlinkat",
    "renameat", "renameat2", "linkat", "symlinkat", "readlinkat", "fchmodat", "fchmodat2",
    "faccessat", "faccessat2", "utimensat", "name_to_handle_at", "statx", "open_tree",
    "move_mount", "mount_setattr", "fspick", "setxattrat", "getxattrat", "listxattrat",
    "removexattrat", "file_getattr", "file_setattr"})
_AT_FDCWD = "ffffff9c"  # -100 as the a0..a3 registers print it (ffffffffffffff9c on 64 bits)


def _add_paths(event: Event, evt_type: str, paths: list[dict[str, str]], cwd: str | None,
               syscall: dict[str, str]) -> None:
    """fd.name (and fs.path.name): the first PATH record that is not a parent directory, made
    absolute against the cwd when the call was relative to it; renames and links also give
    fs.path.source (the DELETE/old name) and fs.path.target (the CREATE/new name)."""
    named = [path for path in paths if path.get("name") not in _NO_VALUE
             and (path.get("nametype") or path.get("objtype")) not in ("PARENT", "UNKNOWN")]
    if not named:
        return
    dirfd = "a1" if evt_type == "symlinkat" else "a0"
    raw = named[0]["name"]
    event["fd.nameraw"] = raw
    if (name := _absolute(raw, evt_type, cwd, syscall.get(dirfd, ""))) is not None:
        event["fd.name"] = event["fs.path.name"] = name
    if evt_type in _RENAMES or evt_type in _LINKS:
        kinds = {path.get("nametype") or path.get("objtype"): path["name"] for path in named}
        old = kinds.get("DELETE") if evt_type in _RENAMES else kinds.get("NORMAL")
        if old is not None and (source := _absolute(old, evt_type, cwd,
                                                    syscall.get("a0", ""))) is not None:
            event["fs.path.source"] = source
        if (new := kinds.get("CREATE")) is not None and (
                target := _absolute(new, evt_type, cwd, syscall.get("a2", ""))) is not None:
            event["fs.path.target"] = target


def _absolute(name: str, evt_type: str, cwd: str | None, dirfd: str) -> str | None:
    if name.startswith("/"):
        return posixpath.normpath(name) + ("/" if name.endswith("/") and name != "/" else "")
    relative_to_cwd = evt_type not in _DIRFD_CALLS or dirfd.endswith(_AT_FDCWD)
    if cwd in _NO_VALUE or cwd is None or not relative_to_cwd:
        return None
    return posixpath.normpath(posixpath.join(cwd, name))


_OUTBOUND = frozenset({"connect", "sendto", "sendmsg", "sendmmsg"})
_INBOUND = frozenset({"accept", "accept4", "recvfrom", "recvmsg", "recvmmsg"})
_FD_ARGUMENT = frozenset({"connect", "bind", "sendto", "sendmsg", "sendmmsg"})


@dataclass(frozen=True, slots=True)
class SocketAddress:
    """A SOCKADDR record's struct sockaddr: its family (AF_*), and the IP address and port
    (AF_INET, AF_INET6) or path (AF_UNIX; abstract names start with '@') it holds."""

    family: int
    address: str | None = None
    port: int | None = None
    path: str | None = None


def decode_sockaddr(saddr: str) -> SocketAddress | None:
    """SOCKADDR's `saddr`: the struct as hex bytes, family in host order (little-endian on
    x86_64 and aarch64), port and address in network order. None when it is not hex."""
    if len(saddr) < 4 or len(saddr) % 2 or not _UPPER_HEX.fullmatch(saddr.upper()):
        return None
    raw = bytes.fromhex(saddr)
    family = int.from_bytes(raw[:2], "little")
    if family == socket.AF_INET and len(raw) >= 8:
        return SocketAddress(family, socket.inet_ntop(socket.AF_INET, raw[4:8]),
                             int.from_bytes(raw[2:4], "big"))
    if family == socket.AF_INET6 and len(raw) >= 24:
        return SocketAddress(family, socket.inet_ntop(socket.AF_INET6, raw[8:24]),
                             int.from_bytes(raw[2:4], "big"))
    if family == socket.AF_UNIX and len(raw) > 2:
        name = raw[2:]
        text = name.split(b"\0", 1)[0] if name[:1] != b"\0" else b"@" + name[1:].rstrip(b"\0")
        return SocketAddress(family, path=text.decode("utf-8", "backslashreplace") or None)
    return SocketAddress(family)


def _add_socket_address(event: Event, evt_type: str, saddr: str, syscall: dict[str, str]) -> None:
    """The server of a connect/send, the client of an accept/receive, the local end of a bind,
    as Falco's fd.* name them; fd.type for any. An IPv4-mapped IPv6 address counts as IPv4, as
    Falco reports it."""
    if evt_type in _FD_ARGUMENT and _SMALL_HEX.fullmatch(fd := syscall.get("a0", "")):
        event["fd.num"] = int(fd, 16)  # a0 is the socket (hex, as the registers print)
    decoded = decode_sockaddr(saddr)
    if decoded is None:
        return
    if decoded.family == socket.AF_UNIX:
        event.update({"fd.type": "unix", "fd.typechar": "u", "fd.sockfamily": "unix"})
        if decoded.path and (evt_type in _OUTBOUND or evt_type == "bind"):
            event["fd.name"] = decoded.path
        return
    address, port = decoded.address, decoded.port
    if address is None or port is None:
        return
    is_ipv4 = decoded.family == socket.AF_INET
    if address.startswith("::ffff:") and "." in address:
        address, is_ipv4 = address[7:], True
    event.update({"fd.type": "ipv4" if is_ipv4 else "ipv6", "fd.typechar": "4" if is_ipv4
                  else "6", "fd.sockfamily": "ip"})
    if evt_type in _OUTBOUND:
        event.update({"fd.sip": address, "fd.sport": port, "fd.dip": address, "fd.dport": port,
                      "fd.rip": address, "fd.rport": port})
    elif evt_type in _INBOUND:
        event.update({"fd.cip": address, "fd.cport": port, "fd.rip": address, "fd.rport": port})
    elif evt_type == "bind":
        event.update({"fd.sip": address, "fd.sport": port, "fd.lip": address, "fd.lport": port,
                      "fd.name": f"{address}:{port}"})


class AuditdDecoder:
    """Implements `LineDecoder` for auditd log files: groups wait `wait_s` by the wall clock."""

    def __init__(self, wait_s: float = 2.0) -> None:
        self.assembler = AuditAssembler(wait_ns=int(wait_s * 1e9))

    def decode(self, line: str, where: str) -> list[Event]:
        if not line.strip():
            return []
        return self.assembler.feed(parse_audit_line(line, where), time.time_ns())

    def flush(self, now_ns: int) -> list[Event]:
        return self.assembler.flush(now_ns)
