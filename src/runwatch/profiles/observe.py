"""What one event says about its workload's behaviour, as profile items.

Connections are learned by their server port, never the client's ephemeral one: an outbound
connection by the peer's port, an inbound one by our own listening port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from runwatch.event import Event
from runwatch.profiles.generalise import generalise_path
from runwatch.profiles.model import UNKNOWN_PARENT, Item, Kind

PeerNamer = Callable[[str], str]
"""Names a peer IP: the workload it belongs to when known, else the IP itself."""

EXEC_TYPES = frozenset({"execve", "execveat"})
OPEN_TYPES = frozenset({"open", "openat", "openat2", "creat"})
OBSERVED_EVENT_TYPES = frozenset({*EXEC_TYPES, *OPEN_TYPES, "connect", "accept", "accept4",
                                  "listen", "bind", "sendto"})
"""The event types profiles learn from; the daemon asks the kernel sensor for them."""
SYSCALL_COUNTS = "syscall_counts"
"""The event type of per-container syscall and capability counts (syscalls.py)."""

_SELF_EXEC = ("/proc/self/exe", "/proc/*/exe", "/dev/fd/")
_RUNTIME_INIT_NAMES = ("runc:[", "crun:[")
_RUNTIME_INIT_COMMANDS = frozenset({"runc init", "exe init", "crun init"})
_UNSPECIFIED = frozenset({"0.0.0.0", "::", ""})


def executable_of(event: Event) -> str | None:
    for key in ("proc.exepath", "proc.exe", "proc.name"):
        value = event.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def user_of(event: Event) -> str | None:
    name = event.get("user.name")
    if isinstance(name, str) and name:
        return name
    uid = event.get("user.uid")
    return str(uid) if isinstance(uid, int) else None


def is_runtime_init(event: Event) -> bool:
    """The container runtime setting the container up (runc's or crun's init, before it execs the
    entrypoint): its work belongs to the runtime, and how much of it lands in the container's
    cgroup varies from start to start."""
    name, cmdline = event.get("proc.name"), event.get("proc.cmdline")
    return (isinstance(name, str) and name.startswith(_RUNTIME_INIT_NAMES)) or \
        cmdline in _RUNTIME_INIT_COMMANDS


def observe(event: Event, name_peer: PeerNamer, sensitive_prefixes: Sequence[str]
            ) -> list[tuple[Kind, Item]]:
    """The items this event shows; empty for events profiles do not learn from."""
    evt_type = event.get("evt.type")
    if event.get("evt.failed") is True:
        return []
    if evt_type == SYSCALL_COUNTS:
        return _counted_items(event)
    if is_runtime_init(event):
        return []
    if evt_type in EXEC_TYPES:
        return _exec_items(event)
    if evt_type in OPEN_TYPES:
        return _open_items(event, sensitive_prefixes)
    if event.get("fd.sockfamily") != "ip":
        return []
    protocol = str(event.get("fd.l4proto") or "tcp")
    if evt_type in ("connect", "sendto"):
        server, port = event.get("fd.sip"), event.get("fd.sport")
        if not isinstance(server, str) or server in _UNSPECIFIED or not isinstance(port, int) \
                or port == 0:
            return []
        return [(Kind.OUTBOUND, (name_peer(server), str(port), protocol))]
    if evt_type in ("accept", "accept4"):
        client, port = event.get("fd.cip"), event.get("fd.sport")
        if not isinstance(client, str) or not isinstance(port, int):
            return []
        return [(Kind.INBOUND, (name_peer(client), str(port), protocol))]
    if evt_type == "listen" or (evt_type == "bind" and protocol == "udp"):
        port = event.get("fd.lport")
        if isinstance(port, int) and port:
            return [(Kind.LISTEN, (str(port), protocol))]
    return []


def _exec_items(event: Event) -> list[tuple[Kind, Item]]:
    executable = executable_of(event)
    if executable is None:
        return []
    # The name as well as the path: a multi-call binary (busybox) runs every applet through one
    # path, often /proc/self/exe, and only the name tells `ls` from `httpd`.
    # Run through /proc/self/exe, the kernel names it `exe`; its argv[0] names the applet.
    executable = generalise_path(executable)
    name, parent, argv0 = event.get("proc.name"), event.get("proc.pname"), event.get("proc.exe")
    if executable.startswith(_SELF_EXEC) and isinstance(argv0, str) and argv0:
        name = argv0.rsplit("/", 1)[-1][:15]
    name = name if isinstance(name, str) and name else executable.rsplit("/", 1)[-1][:15]
    items: list[tuple[Kind, Item]] = [
        (Kind.PROCESS, (executable, name,
                        parent if isinstance(parent, str) and parent else UNKNOWN_PARENT))]
    user = user_of(event)
    if user is not None:
        items.append((Kind.USER, (executable, name, user)))
    return items


def _open_items(event: Event, sensitive_prefixes: Sequence[str]) -> list[tuple[Kind, Item]]:
    path = event.get("fd.name")
    if not isinstance(path, str) or not path.startswith("/"):
        return []
    if event.get("evt.is_open_write") is True:
        return [(Kind.FILE_WRITE, (generalise_path(path),))]
    if event.get("evt.is_open_read") is True and path.startswith(tuple(sensitive_prefixes)):
        return [(Kind.FILE_READ, (generalise_path(path),))]
    return []


def _counted_items(event: Event) -> list[tuple[Kind, Item]]:
    items: list[tuple[Kind, Item]] = []
    for kind, key in ((Kind.SYSCALL, "evt.arg.syscalls"), (Kind.CAPABILITY, "evt.arg.capabilities")):
        names = event.get(key)
        if isinstance(names, list):
            items.extend((kind, (str(name),)) for name in names)
    return items
