"""The event, and the registry of every field it may carry, in Falco's spelling.

An event is a flat dict from field names to values. Using Falco's names lets Falco's own rules,
output templates and users' habits work unchanged. A field that is not known is absent from the
dict, never filled with a made-up value; outputs print it as `<NA>` (text) or `null` (JSON).

How values are held (the rule engine, outputs and sources all rely on this):
- numbers are `int`, booleans `bool`, times `int` nanoseconds (since the epoch for `evt.time`);
- IP addresses are strings (`"10.0.0.1"`, `"::1"`);
- ancestor fields (`proc.aname`, `proc.apid`, `proc.aexe`, `proc.aexepath`, `proc.acmdline`) hold a
  list whose item 0 is the parent, item 1 the grandparent, ...: `proc.aname[N]` (N >= 1) is item N-1
  and `proc.aname[0]` is the process itself, as in Falco;
- `proc.env` holds a list of `NAME=value` strings; `container.mounts` a list of
  `source:dest:mode:rdrw:propagation` strings; `fd.types` a list of fd type names;
- `evt.arg.NAME` is stored under that exact key (`evt.arg.flags`);
- `container.label` and `k8s.pod.label` hold a dict of label name -> value
  (`container.label[app]` is one value).
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass

Event = dict[str, object]
"""One event: Falco field name -> value. The hot path keeps it a plain dict."""


class FieldType(enum.StrEnum):
    """The value types of fields; the rule engine picks operators and comparisons by them."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    IPADDR = "ipaddr"
    IPNET = "ipnet"
    PORT = "port"
    ABSTIME = "abstime"
    RELTIME = "reltime"
    BYTES = "bytes"
    LIST = "list"


class FieldArg(enum.StrEnum):
    """Whether a field takes an argument in brackets (`proc.aname[2]`, `proc.env[HOME]`)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the registry: its name, value type and what it means."""

    name: str
    type: FieldType
    description: str
    arg: FieldArg = FieldArg.NONE
    is_list: bool = False


def _fields(type_: FieldType, *rows: tuple[str, str], arg: FieldArg = FieldArg.NONE,
            is_list: bool = False) -> list[Field]:
    return [Field(name, type_, text, arg, is_list) for name, text in rows]


S, I, B, T = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.ABSTIME

_REGISTRY: list[Field] = [
    # evt.*: the event itself
    *_fields(S, ("evt.type", "syscall or event name: open, execve, connect, container_start, ..."),
             ("evt.source", "which source produced the event: syscall, k8s_audit, log, container, ..."),
             ("evt.dir", "'<' for a syscall exit, '>' for an enter; sources deliver exits"),
             ("evt.hostname", "name of the host the event happened on"),
             ("evt.args", "all arguments of the event as one string"),
             ("evt.category", "event category: process, file, net, ..."),
             ("evt.res", "result: SUCCESS, or the error name (ENOENT)"),
             ("evt.buffer", "data buffer of a read/write event")),
    Field("evt.arg", S, "an argument of the event by name (evt.arg.flags) or number (evt.arg[0])",
          FieldArg.REQUIRED),
    Field("evt.rawarg", S, "an argument of the event by name, unformatted", FieldArg.REQUIRED),
    *_fields(T, ("evt.time", "time of the event, nanoseconds since the epoch"),
             ("evt.rawtime", "same as evt.time")),
    *_fields(I, ("evt.num", "sequence number of the event within its source"),
             ("evt.rawres", "raw result: 0 or a positive fd/pid on success, -errno on failure"),
             ("evt.count", "number of events this one stands for (counted sources)")),
    *_fields(B, ("evt.failed", "true if the syscall returned an error"),
             ("evt.is_open_read", "the open asked for read access"),
             ("evt.is_open_write", "the open asked for write access"),
             ("evt.is_open_exec", "the open created an executable file or opened with exec intent")),
    # proc.*: the process
    *_fields(S, ("proc.name", "process name (comm, up to 15 chars for syscall events)"),
             ("proc.exe", "first command-line argument (argv[0])"),
             ("proc.exepath", "full path of the executable file"),
             ("proc.cmdline", "process name and arguments: 'bash -c id'"),
             ("proc.cwd", "current working directory"),
             ("proc.pname", "parent process name"),
             ("proc.pcmdline", "parent process name and arguments"),
             ("proc.pexe", "parent's argv[0]"),
             ("proc.pexepath", "parent's executable path"),
             ("proc.sname", "name of the session leader"),
             ("proc.vpgid.name", "name of the process group leader"),
             ("proc.vpgid.exe", "argv[0] of the process group leader"),
             ("proc.exe_ino.ctime", "change time of the executable's inode")),
    Field("proc.args", S, "arguments, space-separated, without the name; proc.args[N]: the Nth",
          FieldArg.OPTIONAL),
    Field("proc.env", S, "environment; proc.env[NAME] is one variable's value", FieldArg.OPTIONAL),
    *_fields(S, ("proc.aname", "name of an ancestor: [1] parent, [2] grandparent; no index: any"),
             ("proc.aexe", "argv[0] of an ancestor: [1] parent, [2] grandparent; no index: any"),
             ("proc.aexepath", "executable path of an ancestor; no index: any"),
             ("proc.acmdline", "command line of an ancestor; no index: any"),
             arg=FieldArg.OPTIONAL, is_list=True),
    Field("proc.apid", I, "pid of an ancestor: [1] parent, [2] grandparent; no index: any",
          FieldArg.OPTIONAL, is_list=True),
    *_fields(I, ("proc.pid", "process id (as the host sees it)"),
             ("proc.ppid", "parent process id"),
             ("proc.vpid", "process id as the container sees it"),
             ("proc.pvpid", "parent process id as the container sees it"),
             ("proc.sid", "session id"),
             ("proc.vpgid", "process group id as the container sees it"),
             ("proc.tty", "controlling terminal device number; 0 when there is none"),
             ("proc.exe_ino", "inode of the executable"),
             ("proc.loginshellid", "pid of the outermost shell ancestor")),
    *_fields(FieldType.RELTIME, ("proc.duration", "nanoseconds since the process started"),
             ("proc.ppid.duration", "nanoseconds since the parent started"),
             ("proc.exe_ino.ctime_duration_proc_start",
              "nanoseconds between the executable's inode change and the process start")),
    *_fields(T, ("proc.start_ts", "process start time, nanoseconds since the epoch"),
             ("proc.exe_ino.mtime", "modification time of the executable's inode")),
    *_fields(B, ("proc.is_exe_upper_layer", "the executable lives in the container's writable layer"),
             ("proc.is_exe_from_memfd", "the executable is a memfd (fileless execution)"),
             ("proc.is_exe_writable", "the executable is writable by the process's user"),
             ("proc.is_vpgid_leader", "the process leads its process group"),
             ("proc.is_sid_leader", "the process leads its session")),
    # thread.*
    *_fields(S, ("thread.cap_effective", "effective capabilities: 'CAP_SYS_ADMIN CAP_NET_RAW'"),
             ("thread.cap_permitted", "permitted capabilities"),
             ("thread.cap_inheritable", "inheritable capabilities")),
    *_fields(I, ("thread.tid", "thread id"), ("thread.vtid", "thread id as the container sees it")),
    # user.* and group.*
    *_fields(I, ("user.uid", "user id"), ("user.loginuid", "audit login uid; -1 when not set"),
             ("group.gid", "group id")),
    *_fields(S, ("user.name", "user name, from the container's own /etc/passwd"),
             ("user.loginname", "name of the login user"),
             ("user.homedir", "home directory of the user"),
             ("user.shell", "login shell of the user"),
             ("group.name", "group name, from the container's own /etc/group")),
    # fd.*: the file descriptor the event is about
    *_fields(S, ("fd.name", "full name: file path, or 'sip:sport->dip:dport' for a socket"),
             ("fd.nameraw", "name as passed to the syscall, before resolution"),
             ("fd.directory", "directory of a file path"),
             ("fd.filename", "base name of a file path"),
             ("fd.type", "file, directory, ipv4, ipv6, unix, pipe, event, signalfd, memfd, ..."),
             ("fd.typechar", "type as one character: f file, 4 ipv4, 6 ipv6, u unix, ..."),
             ("fd.l4proto", "transport protocol: tcp, udp, icmp, raw"),
             ("fd.sockfamily", "socket family: ip or unix"),
             ("fd.sip.name", "server IP's domain name"), ("fd.cip.name", "client IP's domain name"),
             ("fd.rip.name", "remote IP's domain name"), ("fd.lip.name", "local IP's domain name")),
    Field("fd.types", FieldType.LIST, "types of all fds of the process; fd.types[N] of fd N",
          FieldArg.OPTIONAL, is_list=True),
    *_fields(I, ("fd.num", "file descriptor number; negative on failure"),
             ("fd.dev", "device number of the file"), ("fd.ino", "inode number of the file")),
    *_fields(FieldType.IPADDR, ("fd.ip", "an IP of the connection: matches client or server"),
             ("fd.sip", "server IP"), ("fd.cip", "client IP"),
             ("fd.lip", "local IP"), ("fd.rip", "remote IP")),
    *_fields(FieldType.PORT, ("fd.port", "a port of the connection: matches client or server"),
             ("fd.sport", "server port"), ("fd.cport", "client port"),
             ("fd.lport", "local port"), ("fd.rport", "remote port"),
             ("fd.dport", "destination port (server port of an outbound connection)")),
    *_fields(FieldType.IPNET, ("fd.net", "matches client or server IP against a CIDR"),
             ("fd.snet", "server IP against a CIDR"), ("fd.cnet", "client IP against a CIDR"),
             ("fd.lnet", "local IP against a CIDR"), ("fd.rnet", "remote IP against a CIDR")),
    *_fields(B, ("fd.connected", "the socket is connected"),
             ("fd.name_changed", "the fd's name changed during the event (connect, bind)"),
             ("fd.is_upper_layer", "the file lives in the container's writable layer")),
    Field("fd.dip", FieldType.IPADDR, "destination IP (server IP of an outbound connection)"),
    # fs.*
    *_fields(S, ("fs.path.name", "path argument of a filesystem syscall"),
             ("fs.path.source", "source path of a rename, link or symlink"),
             ("fs.path.target", "target path of a rename, link or symlink")),
    # container.*
    *_fields(S, ("container.id", "12-character container id, 'host' for the host"),
             ("container.full_id", "full 64-character container id"),
             ("container.name", "container name"),
             ("container.image", "image as the container was started: repository:tag"),
             ("container.image.id", "image id"),
             ("container.image.repository", "image repository: docker.io/library/nginx"),
             ("container.image.tag", "image tag"),
             ("container.image.digest", "image digest"),
             ("container.type", "runtime: docker, podman, containerd, cri-o"),
             ("container.healthcheck", "health check command")),
    *_fields(B, ("container.privileged", "the container runs privileged")),
    *_fields(T, ("container.start_ts", "container start time, nanoseconds since the epoch")),
    *_fields(FieldType.INT, ("container.memory_bytes", "memory in use (without inactive page cache)"),
             ("container.memory_limit_bytes", "memory limit; the host's memory when unlimited"),
             ("container.pids", "number of processes and threads in the container"),
             ("container.net_rx_bytes", "bytes received over all interfaces but loopback"),
             ("container.net_tx_bytes", "bytes sent over all interfaces but loopback")),
    *_fields(FieldType.FLOAT, ("container.cpu_percent", "CPU used since the last reading, % of one CPU"),
             ("container.memory_percent", "memory in use as % of the limit")),
    Field("container.mounts", FieldType.LIST, "mounts as 'source:dest:mode:rdrw:propagation'",
          is_list=True),
    *_fields(S, ("container.mount.dest", "the mount whose destination matches the glob argument"),
             ("container.mount.source", "source of the mount whose destination is the argument"),
             ("container.label", "a container label by name"), arg=FieldArg.REQUIRED),
    # ka.*, jevt.*, json.*: Kubernetes audit events (source k8s_audit), as Falco's k8saudit 0.18
    # and json 0.7 plugins extract them; read from `k8s_audit.object` on demand
    # (rules/falco/k8saudit.py). Values are strings (JSON other than a string as compact JSON);
    # list fields print as (a,b) and take [N]: the Nth container, role rule, volume, ...
    *_fields(S, ("ka.auditid", "unique id of the audit event"),
             ("ka.stage", "stage of the request: RequestReceived, ResponseStarted, ResponseComplete"),
             ("ka.auth.decision", "authorization decision (annotation authorization.k8s.io/decision)"),
             ("ka.auth.reason", "authorization reason (annotation authorization.k8s.io/reason)"),
             ("ka.auth.openshift.decision", "OpenShift authentication decision"),
             ("ka.auth.openshift.username", "user name of the OpenShift authentication"),
             ("ka.validations.admission.policy.failure",
              "failure reason from a Validating Admission Policy"),
             ("ka.security.pod.violations", "Pod Security violations (audit annotation)"),
             ("ka.user.name", "user name performing the request"),
             ("ka.impuser.name", "impersonated user name"),
             ("ka.verb", "action: get, list, create, update, patch, delete, ..."),
             ("ka.uri", "request URI as the client sent it"),
             ("ka.target.name", "name of the target object"),
             ("ka.target.namespace", "namespace of the target object"),
             ("ka.target.resource", "resource of the target object: pods, secrets, ..."),
             ("ka.target.subresource", "subresource of the target object: exec, attach, ..."),
             ("ka.target.pod.name", "for a pod (no subresource): the pod name from the response"),
             ("ka.req.binding.role", "role a (cluster) role binding links"),
             ("ka.req.configmap.name", "name of the configmap the request is about"),
             ("ka.req.configmap.obj", "data of the configmap in the request, as JSON"),
             ("ka.req.container.image", "deprecated: image of the pod's first container"),
             ("ka.req.container.image.repository",
              "deprecated: image repository of the pod's first container"),
             ("ka.req.container.host_network", "deprecated alias of ka.req.pod.host_network"),
             ("ka.req.container.privileged", "deprecated: 'true' if any container is privileged"),
             ("ka.req.pod.host_ipc", "hostIPC of the pod in the request"),
             ("ka.req.pod.host_network", "hostNetwork of the pod in the request"),
             ("ka.req.pod.host_pid", "hostPID of the pod in the request"),
             ("ka.req.pod.run_as_user", "runAsUser of the pod's security context"),
             ("ka.req.pod.run_as_group", "runAsGroup of the pod's security context"),
             ("ka.req.pod.fs_group", "fsGroup of the pod's security context"),
             ("ka.req.service.type", "type of the service in the request: ClusterIP, NodePort, ..."),
             ("ka.resp.name", "name of the response object"),
             ("ka.response.code", "response code: 200, 201, 403, ..."),
             ("ka.response.reason", "response reason (usually only on failures)"),
             ("ka.useragent", "user agent of the client"),
             ("ka.cluster.name", "name of the cluster (annotation cluster_name)")),
    *_fields(S, ("ka.user.groups", "groups the user belongs to"),
             ("ka.req.binding.subjects", "subjects a (cluster) role binding links, as JSON"),
             ("ka.req.binding.subjects.user_names", "user names among the binding's subjects"),
             ("ka.req.binding.subjects.serviceaccount_names",
              "service account names among the binding's subjects"),
             ("ka.req.binding.subjects.serviceaccount_ns_names",
              "service accounts among the binding's subjects as namespace:name"),
             ("ka.req.binding.subjects.group_names", "group names among the binding's subjects"),
             ("ka.req.role.rules", "rules of the (cluster) role in the request, as JSON"),
             ("ka.req.pod.supplemental_groups", "supplementalGroups of the pod's security context"),
             is_list=True),
    *_fields(S, ("ka.req.role.rules.apiGroups", "API groups of the role's rules ([N]: rule N)"),
             ("ka.req.role.rules.nonResourceURLs", "non-resource URLs of the role's rules"),
             ("ka.req.role.rules.verbs", "verbs of the role's rules ([N]: rule N)"),
             ("ka.req.role.rules.resources", "resources of the role's rules ([N]: rule N)"),
             ("ka.req.service.ports", "ports of the service in the request, as one JSON value"),
             ("ka.req.pod.volumes.hostpath", "hostPath paths of the pod's volumes"),
             ("ka.req.pod.volumes.flexvolume_driver", "flexVolume drivers of the pod's volumes"),
             ("ka.req.pod.volumes.volume_type", "types of the pod's volumes: hostPath, secret, ..."),
             ("ka.sourceips", "as the plugin has it: sourceIPs under requestObject.rules (absent "
              "on real events; use jevt.value[/sourceIPs/0])"),
             *((f"ka.req.pod.{kind}.{name}", f"{kind}: {text} ([N]: container N)")
               for kind in ("containers", "initContainers", "ephemeralContainers")
               for name, text in (("name", "names"), ("image", "images"),
                                  ("image.repository", "image repositories (before ':' and '@')"),
                                  ("command", "commands, words joined by spaces"),
                                  ("args", "arguments, joined by spaces"),
                                  ("privileged", "securityContext.privileged"),
                                  ("allow_privilege_escalation",
                                   "securityContext.allowPrivilegeEscalation"),
                                  ("read_only_fs", "securityContext.readOnlyRootFilesystem"),
                                  ("run_as_user", "securityContext.runAsUser"),
                                  ("eff_run_as_user", "runAsUser of the container, else the "
                                   "pod's spec, else 0"),
                                  ("run_as_group", "securityContext.runAsGroup"),
                                  ("eff_run_as_group", "runAsGroup of the container, else the "
                                   "pod's spec, else 0"),
                                  ("proc_mount", "securityContext.procMount"),
                                  ("add_capabilities", "securityContext.capabilities.add, as JSON"),
                                  ("host_port", "hostPort, else containerPort, of each port"))
               if not (kind == "ephemeralContainers" and name == "host_port")),
             arg=FieldArg.OPTIONAL, is_list=True),
    *_fields(S, ("ka.uri.param", "first value of a query parameter of the URI: ka.uri.param[command]"),
             ("ka.req.binding.subject.has_name", "deprecated: always 'true'"),
             ("ka.req.volume.hostpath", "deprecated: 'true' if the first volume's hostPath is the "
              "argument (or starts with it, for '/proc*')"),
             ("jevt.value", "a value of the audit object by JSON pointer: jevt.value[/stage]; JSON "
              "other than a string as compact JSON"),
             ("json.value", "same as jevt.value"), arg=FieldArg.REQUIRED),
    *_fields(S, ("jevt.obj", "the whole audit object as indented JSON"),
             ("jevt.rawtime", "time of the event in ns since the epoch, as a string"),
             ("json.obj", "same as jevt.obj"), ("json.rawtime", "same as jevt.rawtime")),
    # k8s.*: from the labels Kubernetes runtimes put on containers
    *_fields(S, ("k8s.pod.name", "Kubernetes pod name"), ("k8s.ns.name", "Kubernetes namespace"),
             ("k8s.pod.uid", "Kubernetes pod uid"), ("k8s.pod.sandbox_id", "pod sandbox id")),
    Field("k8s.pod.label", S, "a pod label by name", FieldArg.REQUIRED),
    # log.*: lines from log files and containers' stdout/stderr (sources/logs)
    *_fields(S, ("log.line", "the whole line as written to the file"),
             ("log.message", "the message: a syslog line without its header, a container's output"),
             ("log.path", "the file the line was read from"),
             ("log.program", "the program that logged it (syslog tag: sshd, sudo, CRON)"),
             ("log.host", "the host named in the syslog header"),
             ("log.service", "the service the config names the file for (auth, sshd, ...)"),
             ("log.facility", "syslog facility (auth, daemon, local0, ...)"),
             ("log.severity", "syslog severity (err, warning, info, ...)"),
             ("log.stream", "a container's stdout or stderr")),
    *_fields(I, ("log.pid", "the logging process's pid, as the syslog header gives it")),
    Field("log.secrets", FieldType.LIST, "ids of the secret rules (gitleaks') whose secrets were "
          "cut out of the line", is_list=True),
    # audit.*: Linux audit groups read from auditd's log (sources/logs/auditd.py)
    Field("audit.records", FieldType.LIST, "the group's records: raw auditd keys to decoded "
          "values, with 'type' (SYSCALL, EXECVE, PATH, ...)", is_list=True),
    *_fields(I, ("audit.sequence", "the group's serial number (msg=audit(TIME:SERIAL))")),
    *_fields(S, ("audit.type", "the group's main record type: the first record's (USER_LOGIN, "
                 "AVC, ...), SYSCALL when the syscall's own records lead"),
             ("audit.key", "the audit rule's key (-k) that logged the group; several keys "
              "joined by ','")),
]

FIELDS: dict[str, Field] = {field.name: field for field in _REGISTRY}
"""Every field runwatch knows, by name. Rules, outputs and `runwatch fields` read it."""

_DYNAMIC_PREFIXES = ("evt.arg.", "evt.rawarg.")

DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    "fd.ip": ("fd.cip", "fd.sip"), "fd.port": ("fd.cport", "fd.sport"),
    "fd.net": ("fd.cip", "fd.sip"), "fd.snet": ("fd.sip",), "fd.cnet": ("fd.cip",),
    "fd.lnet": ("fd.lip",), "fd.rnet": ("fd.rip",),
}
"""Fields never stored on an event but read from others; a check on several matches any of them
(Falco: `fd.ip = X` is true when the client or the server IP is X)."""

FLAG_ARGUMENTS = frozenset({"flags", "mode", "request", "domain", "type", "prot", "options",
                            "cmd", "how", "op", "mask", "resource", "protocol", "sig"})
"""`evt.arg.NAME` holding flag or enum names joined by '|' (`O_WRONLY|O_TRUNC`): `contains`
tests for set flags, not substrings."""


def resolve_field(name: str) -> tuple[Field, str | None] | None:
    """Split a field reference (`proc.aname[2]`, `evt.arg.flags`) into its field and argument.

    Returns None when the name is not a known field, or its argument is missing/unexpected.
    """
    argument: str | None = None
    base = name
    if name.endswith("]") and "[" in name:
        base, _, argument = name[:-1].partition("[")
    for prefix in _DYNAMIC_PREFIXES:
        if base.startswith(prefix) and argument is None:
            return FIELDS[prefix[:-1]], base[len(prefix):]
    field = FIELDS.get(base)
    if field is None:
        return None
    if argument is None and field.arg is FieldArg.REQUIRED:
        return None
    if argument is not None and field.arg is FieldArg.NONE:
        return None
    return field, argument


def suggest_field(name: str) -> str | None:
    """The closest known field name, for 'did you mean' in error messages."""
    matches = difflib.get_close_matches(name.partition("[")[0], FIELDS, n=1, cutoff=0.75)
    return matches[0] if matches else None
