"""One typed configuration, read once from `runwatch.yaml`, `RUNWATCH_*` variables and CLI flags.

Precedence, lowest first: defaults, the YAML file, the environment
(`RUNWATCH_SECTION__KEY=value`, e.g. `RUNWATCH_OUTPUTS__WEBHOOK__URL`), then CLI flags. Every key has
a default and a comment in `runwatch.example.yaml`; an unknown key, a wrong type or an out-of-range
value stops start-up with an error that names the key and what was expected.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
import yaml

from runwatch.priority import Priority
from runwatch.errors import ConfigError

ENV_PREFIX = "RUNWATCH_"
CONFIG_PATH_VARIABLE = "RUNWATCH_CONFIG"
DEFAULT_CONFIG_PATHS = (Path("runwatch.yaml"), Path("/etc/runwatch/runwatch.yaml"))

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of every config section: immutable, unknown keys rejected."""


def _check_priority(value: str) -> None:
    try:
        Priority.parse(value)
    except ValueError as err:
        raise ValueError(f"min_priority: {err}") from None


class ProcfsSourceConfig(_Section, frozen=True):
    enabled: bool = True
    interval_s: PositiveFloat = 1.0
    connections: bool = True


class RuntimeSourceConfig(_Section, frozen=True):
    enabled: Literal["auto", "true", "false"] = "auto"
    socket: str = ""
    timeout_s: PositiveFloat = 5.0
    metrics_interval_s: PositiveFloat = 10.0

    def __post_init__(self) -> None:
        if self.socket and not re.match(r"^(unix|tcp|http|https)://|^/", self.socket):
            raise ValueError(f"socket: expected a socket path or unix:// / tcp:// URL, "
                             f"got {self.socket!r}")


_DEFAULT_OPEN_READ_PREFIXES = ["/etc/", "/root/", "/home/", "/dev/", "/proc/", "/host/",
                               "/rootfs/", "/hostfs/", "/run/secrets/", "/var/run/secrets/"]


class EbpfSourceConfig(_Section, frozen=True):
    enabled: Literal["auto", "true", "false"] = "auto"
    bpftrace: str = "bpftrace"
    event_types: list[str] = []
    perf_buffer_pages: PositiveInt = 2048
    filter_open_reads: bool = True
    open_read_prefixes: list[str] = msgspec.field(
        default_factory=lambda: list(_DEFAULT_OPEN_READ_PREFIXES))
    traversal_scan_bytes: Annotated[int, msgspec.Meta(ge=0, le=64)] = 16
    args_max_bytes: Annotated[int, msgspec.Meta(ge=200, le=20_000)] = 1000
    env_max_bytes: Annotated[int, msgspec.Meta(ge=0, le=20_000)] = 600
    raw_syscalls_fallback: bool = False
    ignore_self: bool = True
    startup_timeout_s: PositiveFloat = 60.0
    exit_linger_s: PositiveFloat = 5.0

    def __post_init__(self) -> None:
        if self.event_types:
            self._check_event_types()
        if self.perf_buffer_pages & (self.perf_buffer_pages - 1):
            raise ValueError(f"perf_buffer_pages: expected a power of two, "
                             f"got {self.perf_buffer_pages}")
        relative = [prefix for prefix in self.open_read_prefixes if not prefix.startswith("/")]
        if relative:
            raise ValueError(f"open_read_prefixes: expected absolute paths, got {relative}")

    def _check_event_types(self) -> None:
        from runwatch.sources.ebpf.catalog import SUPPORTED_TYPES  # imported when used: no cycle
        unknown = sorted(set(self.event_types) - SUPPORTED_TYPES)
        if unknown:
            raise ValueError(f"event_types: not traced by the kernel sensor: {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(SUPPORTED_TYPES))})")


LogFormat = Literal["syslog", "auditd", "k8s_audit"]


class LogFileConfig(_Section, frozen=True):
    """One followed file; `service` names it for Sigma rules (`auth`, `sshd`, ...)."""

    path: str
    format: LogFormat
    service: str = ""
    start_at: Literal["end", "beginning"] = "end"

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path: expected an absolute path, got {self.path!r}")


WELL_KNOWN_LOG_FILES = (
    LogFileConfig(path="/var/log/audit/audit.log", format="auditd"),
    LogFileConfig(path="/var/log/auth.log", format="syslog", service="auth"),
    LogFileConfig(path="/var/log/secure", format="syslog", service="auth"),
    LogFileConfig(path="/var/log/syslog", format="syslog"),
    LogFileConfig(path="/var/log/messages", format="syslog"),
)
"""Followed when `well_known_files` is on and they exist at start."""


class LogsSourceConfig(_Section, frozen=True):
    enabled: bool = True
    files: list[LogFileConfig] = []
    well_known_files: bool = True
    poll_interval_s: PositiveFloat = 0.25
    max_line_bytes: Annotated[int, msgspec.Meta(ge=256, le=16 << 20)] = 65_536
    auditd_group_wait_s: PositiveFloat = 2.0
    k8s_audit_webhook: bool = True
    containers: bool = True
    redact_secrets: bool = True
    secret_rules: str = ""

    def __post_init__(self) -> None:
        paths = [entry.path for entry in self.files]
        repeated = sorted({path for path in paths if paths.count(path) > 1})
        if repeated:
            raise ValueError(f"files: each path once, got {', '.join(repeated)} more than once")


class SourcesConfig(_Section, frozen=True):
    ebpf: EbpfSourceConfig = EbpfSourceConfig()
    procfs: ProcfsSourceConfig = ProcfsSourceConfig()
    runtime: RuntimeSourceConfig = RuntimeSourceConfig()
    logs: LogsSourceConfig = LogsSourceConfig()


class ContainerMatchConfig(_Section, frozen=True):
    """Which containers something applies to; every given key must match (globs on name/image)."""

    name: str = "*"
    image: str = "*"
    labels: dict[str, str] = {}


class ThresholdConfig(_Section, frozen=True):
    name: str
    metric: Literal["memory_percent", "memory_bytes", "cpu_percent", "pids", "restarts"]
    above: Annotated[float, msgspec.Meta(ge=0)]
    for_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    window_s: PositiveFloat = 600.0
    priority: str = "warning"
    containers: ContainerMatchConfig = ContainerMatchConfig()

    def __post_init__(self) -> None:
        try:
            Priority.parse(self.priority)
        except ValueError as err:
            raise ValueError(f"priority: {err}") from None


_DEFAULT_THRESHOLDS = [
    ThresholdConfig(name="memory near limit", metric="memory_percent", above=90.0, for_s=60.0),
    ThresholdConfig(name="restart loop", metric="restarts", above=3.0, window_s=600.0),
]


class AppendMatchConfig(_Section, frozen=True):
    """Which rules an append_output entry applies to; every given key must match."""

    source: str = ""
    tags: list[str] = []
    rule: str = ""


class AppendOutputConfig(_Section, frozen=True):
    match: AppendMatchConfig = AppendMatchConfig()
    extra_output: str = ""
    extra_fields: list[str | dict[str, str]] = []


_DEFAULT_APPEND_OUTPUT = (AppendOutputConfig(
    match=AppendMatchConfig(source="syscall"),
    extra_output="container_id=%container.id container_name=%container.name "
                 "container_image=%container.image.repository",
    extra_fields=["container.image.tag", "k8s.ns.name", "k8s.pod.name"]),)


SigmaLevel = Literal["informational", "low", "medium", "high", "critical"]


class SigmaRulesConfig(_Section, frozen=True):
    enabled: bool = True
    files: list[str] = []
    min_level: SigmaLevel = "medium"
    kernel_min_level: SigmaLevel = "high"


class RulesConfig(_Section, frozen=True):
    files: list[str] = []
    rule_matching: Literal["first", "all"] = "first"
    watch: bool = True
    append_output: list[AppendOutputConfig] = msgspec.field(
        default_factory=lambda: list(_DEFAULT_APPEND_OUTPUT))
    thresholds: list[ThresholdConfig] = msgspec.field(default_factory=lambda: list(_DEFAULT_THRESHOLDS))
    sigma: SigmaRulesConfig = SigmaRulesConfig()


class PipelineConfig(_Section, frozen=True):
    queue_size: Annotated[int, msgspec.Meta(ge=16)] = 20_000
    batch_size: PositiveInt = 512
    store_queue_size: Annotated[int, msgspec.Meta(ge=16)] = 100_000
    shutdown_timeout_s: PositiveFloat = 10.0


class RetentionConfig(_Section, frozen=True):
    max_age_days: PositiveFloat = 7.0
    max_size_mb: PositiveInt = 1024
    check_interval_s: PositiveFloat = 60.0


class StoreConfig(_Section, frozen=True):
    url: str = ""
    events: Literal["all", "none"] = "all"
    retention: RetentionConfig = RetentionConfig()

    def __post_init__(self) -> None:
        if self.url and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", self.url):
            raise ValueError(f"url: expected a sqlite:/// or postgresql:// URL, got {self.url!r}")


class StdoutOutputConfig(_Section, frozen=True):
    enabled: bool = True
    min_priority: str = "debug"
    format: Literal["text", "json"] = "text"

    def __post_init__(self) -> None:
        _check_priority(self.min_priority)


class FileOutputConfig(_Section, frozen=True):
    enabled: bool = False
    path: str = ""
    min_priority: str = "debug"
    queue_size: Annotated[int, msgspec.Meta(ge=1)] = 10_000

    def __post_init__(self) -> None:
        _check_priority(self.min_priority)
        if self.enabled and not self.path:
            raise ValueError("path: an enabled file output needs a path")


class WebhookOutputConfig(_Section, frozen=True):
    enabled: bool = False
    url: str = ""
    min_priority: str = "debug"
    headers: dict[str, str] = {}
    timeout_s: PositiveFloat = 5.0
    max_retries: Annotated[int, msgspec.Meta(ge=0)] = 5
    backoff_s: PositiveFloat = 0.5
    queue_size: Annotated[int, msgspec.Meta(ge=1)] = 10_000

    def __post_init__(self) -> None:
        _check_priority(self.min_priority)
        if self.enabled and not re.match(r"^https?://[^/\s]+", self.url):
            raise ValueError(f"url: expected an http:// or https:// URL, got {self.url!r}")


class OutputsConfig(_Section, frozen=True):
    stdout: StdoutOutputConfig = StdoutOutputConfig()
    file: FileOutputConfig = FileOutputConfig()
    webhook: WebhookOutputConfig = WebhookOutputConfig()


class PolicyMatchConfig(_Section, frozen=True):
    """Which alerts and containers a response policy acts on; every given key must match."""

    rules: list[str] = []
    tags: list[str] = []
    min_priority: str = ""
    name: str = "*"
    image: str = "*"
    labels: dict[str, str] = {}

    def __post_init__(self) -> None:
        if self.min_priority:
            try:
                Priority.parse(self.min_priority)
            except ValueError as err:
                raise ValueError(f"min_priority: {err}") from None


class ResponsePolicyConfig(_Section, frozen=True):
    name: str
    action: Literal["pause", "stop", "kill", "restart", "isolate", "exec"]
    match: PolicyMatchConfig = PolicyMatchConfig()
    command: list[str] = []
    timeout_s: PositiveFloat = 30.0

    def __post_init__(self) -> None:
        if self.action == "exec" and not self.command:
            raise ValueError("command: the exec action needs a command, e.g. [/usr/local/bin/x]")


class ResponseConfig(_Section, frozen=True):
    dry_run: bool = True
    cooldown_seconds: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    policies: list[ResponsePolicyConfig] = []


_DEFAULT_ATTACK_TOOLS = ["nc", "ncat", "netcat", "nc.openbsd", "nc.traditional", "nmap", "nping",
                         "socat", "masscan", "zmap", "hping3", "tcpdump", "tshark", "hydra",
                         "sqlmap", "nikto", "msfconsole", "msfvenom", "xmrig", "minerd"]
_DEFAULT_SENSITIVE_PREFIXES = ["/etc/", "/root/", "/home/", "/run/secrets/", "/var/run/secrets/",
                               "/proc/", "/dev/", "/boot/", "/usr/lib/", "/lib/"]


class ProfilesConfig(_Section, frozen=True):
    enabled: bool = True
    default_mode: Literal["learn", "monitor", "protect"] = "learn"
    learn_for_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    stable_for_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    collapse_after: PositiveInt = 5
    sensitive_read_prefixes: list[str] = msgspec.field(
        default_factory=lambda: list(_DEFAULT_SENSITIVE_PREFIXES))
    attack_tools: list[str] = msgspec.field(default_factory=lambda: list(_DEFAULT_ATTACK_TOOLS))
    priority: str = "warning"
    realert_after_s: PositiveFloat = 3600.0
    image_change_learn_s: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    sync_interval_s: PositiveFloat = 1.0
    syscalls: bool = True
    syscall_interval_s: PositiveFloat = 5.0

    def __post_init__(self) -> None:
        try:
            Priority.parse(self.priority)
        except ValueError as err:
            raise ValueError(f"priority: {err}") from None
        relative = [prefix for prefix in self.sensitive_read_prefixes if not prefix.startswith("/")]
        if relative:
            raise ValueError(f"sensitive_read_prefixes: expected absolute paths, got {relative}")


class ApiConfig(_Section, frozen=True):
    session_hours: PositiveFloat = 12.0
    cookie_secure: Literal["auto", "true", "false"] = "auto"
    metrics_auth: bool = False
    stream_queue_size: Annotated[int, msgspec.Meta(ge=16)] = 1000


class RateAnomalyConfig(_Section, frozen=True):
    enabled: bool = True
    window_s: PositiveFloat = 60.0
    warmup_windows: PositiveInt = 30
    sigmas: PositiveFloat = 6.0
    min_count: PositiveInt = 50
    alpha: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05
    priority: str = "warning"
    max_tracked: PositiveInt = 50_000

    def __post_init__(self) -> None:
        try:
            Priority.parse(self.priority)
        except ValueError as err:
            raise ValueError(f"priority: {err}") from None


class AnomalyConfig(_Section, frozen=True):
    rates: RateAnomalyConfig = RateAnomalyConfig()


class AlertsConfig(_Section, frozen=True):
    repeat_window_s: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    max_tracked: PositiveInt = 10_000


class Config(_Section, frozen=True):
    hostname: str = ""
    data_dir: str = ""
    listen: str = "127.0.0.1:8080"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    api: ApiConfig = ApiConfig()
    sources: SourcesConfig = SourcesConfig()
    rules: RulesConfig = RulesConfig()
    pipeline: PipelineConfig = PipelineConfig()
    store: StoreConfig = StoreConfig()
    anomaly: AnomalyConfig = AnomalyConfig()
    alerts: AlertsConfig = AlertsConfig()
    outputs: OutputsConfig = OutputsConfig()
    response: ResponseConfig = ResponseConfig()
    profiles: ProfilesConfig = ProfilesConfig()

    def __post_init__(self) -> None:
        try:
            parse_listen(self.listen)
        except ValueError as err:
            raise ValueError(f"listen: {err}") from None

    @property
    def resolved_hostname(self) -> str:
        return self.hostname or socket.gethostname()

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory: as configured, else /var/lib/runwatch for root, else the user's."""
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        if os.geteuid() == 0:
            return Path("/var/lib/runwatch")
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "runwatch"

    @property
    def resolved_store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.resolved_data_dir / 'runwatch.db'}"


def parse_listen(listen: str) -> tuple[str, int]:
    """Split 'host:port' ('[::1]:8080' for IPv6); raises ValueError saying what is expected."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port such as 127.0.0.1:8080, got {listen!r}")
    return host.strip("[]"), int(port)


def find_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read: the flag, else $RUNWATCH_CONFIG, else the first default that exists."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_PATH_VARIABLE):
        return Path(environ[CONFIG_PATH_VARIABLE])
    return next((path for path in DEFAULT_CONFIG_PATHS if path.is_file()), None)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, object] | None = None) -> Config:
    """Build the Config from the file at `path` (if any), the environment and flag overrides.

    `overrides` maps dotted keys ('rules.files', 'listen') to values from CLI flags.
    """
    environ = os.environ if environ is None else environ
    origin: dict[str, str] = {}
    raw = _read_yaml(path) if path is not None else {}
    for key, value, name in _environment_overrides(environ):
        _set_dotted(raw, key, value)
        origin[key] = f"environment variable {name}"
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
        origin[key] = "command-line flag"
    try:
        return msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as err:
        raise ConfigError(_explain(str(err), raw, origin)) from err


def default_config_text() -> str:
    """The documented example config, every key with its default and a comment."""
    return resources.files("runwatch").joinpath("runwatch.example.yaml").read_text()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    try:
        raw = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from err
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, got {type(raw).__name__}")
    return raw


def _environment_overrides(environ: Mapping[str, str]) -> list[tuple[str, object, str]]:
    """RUNWATCH_OUTPUTS__WEBHOOK__URL=... -> ('outputs.webhook.url', '...', name)."""
    found = []
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_PATH_VARIABLE:
            continue
        key = ".".join(part.lower() for part in name[len(ENV_PREFIX):].split("__"))
        value: object = text
        if text.strip().startswith(("[", "{")):  # lists and mappings are written as YAML flow
            value = yaml.load(text, Loader=yaml.CSafeLoader)
        found.append((key, value, name))
    return found


def _set_dotted(raw: dict[str, Any], key: str, value: object) -> None:
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


_KEYED_MESSAGE = re.compile(r"^(?P<key>[a-z_]+): (?P<text>.*)$", re.DOTALL)


def _explain(message: str, raw: Mapping[str, Any], origin: Mapping[str, str]) -> str:
    """Turn msgspec's 'Expected `int`, got `str` - at `$.a.b`' into "a.b: expected int, got 'x'"."""
    match = _MSGSPEC_PATH.match(message)
    text = match.group("message") if match else message
    path = (match.group("path") or "") if match else ""
    key = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown:
        key = f"{key}.{unknown.group('field')}".lstrip(".")
        known = _known_keys(path)
        text = "unknown key" + (f" (expected one of: {', '.join(known)})" if known else "")
    else:
        keyed = _KEYED_MESSAGE.match(text)  # a __post_init__ check names its own key
        if keyed:
            key, text = f"{key}.{keyed.group('key')}".lstrip("."), keyed.group("text")
        text = text.replace("`", "")
        text = text[:1].lower() + text[1:]
        choices = _literal_choices(key)
        if choices:
            text = f"expected one of {', '.join(choices)}"
        value = _get_dotted(raw, key)
        if value is not _MISSING and repr(value) not in text:
            text = re.sub(r", got \w+$", "", text) + f", got {value!r}"
    where = origin.get(key)
    return f"{key}: {text}" + (f" (from {where})" if where else "")


_MISSING = object()


def _get_dotted(raw: Mapping[str, Any], key: str) -> object:
    node: object = raw
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _annotation(key: str) -> Any:
    """The declared type of a dotted config key, or None when there is no such key."""
    annotation: Any = Config
    for part in [p for p in key.split(".") if p]:
        if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
            return None
        annotation = {f.name: f.type for f in msgspec.structs.fields(annotation)}.get(part)
    return annotation


def _known_keys(path: str) -> list[str]:
    struct = _annotation(path)
    if isinstance(struct, type) and issubclass(struct, msgspec.Struct):
        return [f.name for f in msgspec.structs.fields(struct)]
    return []


def _literal_choices(key: str) -> list[str]:
    annotation = _annotation(key)
    if get_origin(annotation) is Literal:
        return [str(choice) for choice in get_args(annotation)]
    return []
