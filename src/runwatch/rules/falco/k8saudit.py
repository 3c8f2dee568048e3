"""The fields of Kubernetes audit events: Falco's k8saudit plugin's (`ka.*`, here) and json
plugin's (`jevt.*`, `json.*`, in json_fields.py), read from the event's `k8s_audit.object` when
a rule or an output asks.

Reading on demand keeps events small (the audit object is stored once) and serves fields with an
argument (`jevt.value[/json/pointer]`, `ka.uri.param[command]`) the same way as the others.
Semantics are the plugins' own, quirks included, because Falco's rules were written against them
(falcosecurity/plugins: plugins/k8saudit/pkg/k8saudit/extract.go of k8saudit 0.18.0,
plugins/json/pkg/json/json.go of json 0.7.4):
- a value that is not a JSON string reads as its compact JSON (`201`, `true`, `{"a":1}`);
- `ka.*` fields are absent on an object without `auditID`; a failed or empty extraction is
  absent, as libsinsp has it (userspace/libsinsp/plugin_filtercheck.cpp);
- list fields hold a `FieldList`; `[N]` on them picks the Nth item of each array on the path
  (the Nth container, the Nth role rule), not the Nth value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote_plus

from runwatch.rules.falco.json_fields import JSON_FIELDS, MISSING, Absent, ObjectReader, Reader, \
    Value, child_of, get, json_reader, text
from runwatch.rules.falco.runtime import FieldList

PREFIXES = ("ka.", "jevt.", "json.")
"""Fields served here; they exist only on events of source `k8s_audit`."""

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def reader(name: str, arg: str | None) -> Reader:
    """The reader of field `name` given its bracket argument (None when not written).

    Raises ValueError when the field is not one of these or the argument is not what it takes
    (an index must be a decimal number without leading zeros, as libsinsp requires).
    """
    if name in JSON_FIELDS:
        return json_reader(name, arg)
    if name in _KEYED:
        if arg is None:
            raise ValueError(f"{name} needs an argument in brackets ({name}[...])")
        keyed = _KEYED[name]
        key = arg
        return ObjectReader(lambda obj: keyed(obj, key), True)
    if name in _INDEXED:
        index: int | None = None
        if arg is not None:
            if not _INDEX.fullmatch(arg):
                raise ValueError(f"the index of {name}[...] must be a number without leading "
                                 f"zeros, got {arg!r}")
            index = int(arg)
        indexed = _INDEXED[name]
        return ObjectReader(lambda obj: indexed(obj, index), True)
    if name in _PLAIN:
        if arg is not None:
            raise ValueError(f"{name} takes no argument")
        return ObjectReader(_PLAIN[name], True)
    raise ValueError(f"{name} is not a field of Kubernetes audit events")


def field_names() -> frozenset[str]:
    """Every field name served here (for sources declaring the fields they provide)."""
    return frozenset({*JSON_FIELDS, *_KEYED, *_INDEXED, *_PLAIN})


def _scalar(*keys: str) -> Callable[[dict[str, Value]], str | None]:
    """extractFromKeys for a string field."""
    def extract(obj: dict[str, Value]) -> str | None:
        value = get(obj, *keys)
        return None if value is MISSING else text(value)
    return extract


def _string_list(*keys: str) -> Callable[[dict[str, Value]], FieldList | None]:
    """extractFromKeys for a list field: the value must be an array."""
    def extract(obj: dict[str, Value]) -> FieldList | None:
        value = get(obj, *keys)
        if not isinstance(value, list):
            return None
        return _listed(text(item) for item in value)
    return extract


def _listed(values: Iterable[str]) -> FieldList | None:
    result = FieldList(values)
    return result or None


def _values(value: Value, index: int | None, keys: tuple[str, ...]) -> list[Value]:
    """getValuesRecursive: follow keys; an array met on the way is walked item by item (or only
    item `index`), an item lacking the rest of the path leaving a MISSING in its place."""
    for position, key in enumerate(keys):
        if isinstance(value, list):
            if index is None:
                found: list[Value] = []
                for item in value:
                    try:
                        found.extend(_values(item, index, keys[position:]))
                    except Absent:
                        found.append(MISSING)
                return found
            if index >= len(value):
                raise Absent
            value = value[index]
        if key:
            value = child_of(value, key)
        if value is MISSING:
            raise Absent
    return [value]


def _texts_skipping_missing(values: list[Value]) -> FieldList | None:
    """arrayAsStringsSkipNil."""
    return _listed([text(v) for v in values if v is not MISSING])


def _texts_strict(values: list[Value]) -> list[str]:
    """arrayAsStrings: a missing value fails the whole field."""
    if any(v is MISSING for v in values):
        raise Absent
    return [text(v) for v in values]


# ka.*: the k8saudit plugin

def _uri_param(obj: dict[str, Value], key: str) -> str | None:
    """The first value of a query parameter, as Go's url.ParseQuery gives it."""
    if "requestURI" not in obj:
        return None
    query = text(obj["requestURI"]).partition("#")[0].partition("?")[2]
    for pair in query.split("&") if query else ():
        if ";" in pair or _BAD_ESCAPE.search(pair):
            return None  # Go's ParseQuery fails the whole query here
        name, _, value = pair.partition("=")
        if unquote_plus(name) == key:
            return unquote_plus(value)
    return None


def _target_pod_name(obj: dict[str, Value]) -> str | None:
    reference = obj.get("objectRef")
    if not isinstance(reference, dict) or reference.get("resource") != "pods" \
            or reference.get("subresource"):
        return None
    return _scalar("responseObject", "metadata", "name")(obj)


def _subject_names(kind: str, with_namespace: bool = False
                   ) -> Callable[[dict[str, Value]], FieldList | None]:
    """The names of the binding's subjects of one kind (`ns:name` for service accounts)."""
    def extract(obj: dict[str, Value]) -> FieldList | None:
        subjects = get(obj, "requestObject", "subjects")
        if subjects is MISSING:
            return None
        if not isinstance(subjects, list):
            raise Absent
        names = []
        for subject in subjects:
            if not isinstance(subject, dict) or "kind" not in subject or "name" not in subject:
                continue
            if text(subject["kind"]) != kind:
                continue
            name = text(subject["name"])
            if with_namespace:
                if "namespace" not in subject:
                    continue
                name = f"{text(subject['namespace'])}:{name}"
            names.append(name)
        return _listed(names)
    return extract


def _container_values(obj: dict[str, Value], container_list: str, index: int | None,
                      *keys: str) -> list[Value]:
    return _values(obj, index, ("requestObject", "spec", container_list, *keys))


def _joined_arrays(obj: dict[str, Value], container_list: str, index: int | None,
                   key: str) -> FieldList | None:
    """command and args: each container's array joined with spaces; a non-string fails."""
    joined = []
    for value in _container_values(obj, container_list, index, key):
        if value is MISSING:
            continue
        if not isinstance(value, list):
            raise Absent
        words = [v for v in value if isinstance(v, str)]
        if len(words) != len(value):
            raise Absent
        joined.append(" ".join(words))
    return _listed(joined)


def _images(obj: dict[str, Value], container_list: str, index: int | None) -> list[str]:
    return _texts_strict(_container_values(obj, container_list, index, "image"))


def _repository(image: str) -> str:
    """The plugin cuts at the first ':' then the first '@' (so `host:5000/x` gives `host`)."""
    return image.split(":")[0].split("@")[0]


def _host_ports(obj: dict[str, Value], container_list: str, index: int | None
                ) -> FieldList | None:
    ports = []
    for value in _container_values(obj, container_list, index, "ports"):
        if value is MISSING:
            continue
        if not isinstance(value, list):
            raise Absent
        for port in value:
            if isinstance(port, dict) and "hostPort" in port:
                ports.append(text(port["hostPort"]))
            elif isinstance(port, dict) and "containerPort" in port:
                ports.append(text(port["containerPort"]))  # with hostNetwork, the host port
    return _listed(ports)


def _effective(obj: dict[str, Value], container_list: str, index: int | None,
               key: str) -> FieldList | None:
    """eff_run_as_user/group: each container's value, else the pod's, else "0". The plugin
    reads `spec.<key>` and `containers[].<key>`, outside securityContext: kept as it does."""
    pod_value = get(obj, "requestObject", "spec", key)
    default = "0" if pod_value is MISSING else text(pod_value)
    values = _container_values(obj, container_list, index, key)
    return _listed([default if v is MISSING else text(v) for v in values])


def _container_field(container_list: str, field: str
                     ) -> Callable[[dict[str, Value], int | None], FieldList | None]:
    security = {"privileged": ("securityContext", "privileged"),
                "allow_privilege_escalation": ("securityContext", "allowPrivilegeEscalation"),
                "read_only_fs": ("securityContext", "readOnlyRootFilesystem"),
                "run_as_user": ("securityContext", "runAsUser"),
                "run_as_group": ("securityContext", "runAsGroup"),
                "proc_mount": ("securityContext", "procMount"),
                "add_capabilities": ("securityContext", "capabilities", "add")}

    def extract(obj: dict[str, Value], index: int | None) -> FieldList | None:
        if field in ("command", "args"):
            return _joined_arrays(obj, container_list, index, field)
        if field == "name":
            return _listed(_texts_strict(_container_values(obj, container_list, index, "name")))
        if field == "image":
            return _listed(_images(obj, container_list, index))
        if field == "image.repository":
            return _listed([_repository(i) for i in _images(obj, container_list, index)])
        if field == "host_port":
            return _host_ports(obj, container_list, index)
        if field == "eff_run_as_user":
            return _effective(obj, container_list, index, "runAsUser")
        if field == "eff_run_as_group":
            return _effective(obj, container_list, index, "runAsGroup")
        return _texts_skipping_missing(
            _container_values(obj, container_list, index, *security[field]))
    return extract


CONTAINER_FIELDS = ("name", "image", "image.repository", "command", "args", "privileged",
                    "allow_privilege_escalation", "read_only_fs", "run_as_user",
                    "eff_run_as_user", "run_as_group", "eff_run_as_group", "proc_mount",
                    "add_capabilities", "host_port")
"""The per-container fields of `ka.req.pod.<list>.*` (ephemeral containers have no host_port)."""


def _first_container(read: Callable[[dict[str, Value], str, int | None], list[str]]
                     ) -> Callable[[dict[str, Value]], str | None]:
    return lambda obj: read(obj, "containers", 0)[0]


def _any_privileged(obj: dict[str, Value]) -> str:
    values = _container_values(obj, "containers", None, "securityContext", "privileged")
    return "true" if any(v is True for v in values) else "false"


def _rules_field(*keys: str) -> Callable[[dict[str, Value], int | None], FieldList | None]:
    """extractRulesField: the arrays found under requestObject.rules[].<keys>, flattened."""
    def extract(obj: dict[str, Value], index: int | None) -> FieldList | None:
        found = _values(obj, index, ("requestObject", "rules", *keys))
        return _listed([text(item) for value in found if isinstance(value, list)
                        for item in value if item is not MISSING])
    return extract


def _walked(*keys: str) -> Callable[[dict[str, Value], int | None], FieldList | None]:
    return lambda obj, index: _texts_skipping_missing(_values(obj, index, keys))


def _volume_types(obj: dict[str, Value], index: int | None) -> FieldList | None:
    names: list[str] = []
    for volume in _values(obj, index, ("requestObject", "spec", "volumes", "")):
        if isinstance(volume, dict):
            names.extend(str(key) for key in volume if key != "name")
    return _listed(names)


def _volume_hostpath(obj: dict[str, Value], path: str) -> str:
    """Deprecated `ka.req.volume.hostpath[/etc]`, `[/proc*]` for a prefix. The plugin passes the
    field's index (0 for a key argument) along, so only the first volume is looked at."""
    found = _values(obj, 0, ("requestObject", "spec", "volumes", "hostPath", "path"))
    for value in _texts_skipping_missing(found) or ():
        if (path.endswith("*") and value.startswith(path[:-1])) or value == path:
            return "true"
    return "false"


_PLAIN: dict[str, Callable[[dict[str, Value]], object]] = {
    "ka.auditid": _scalar("auditID"),
    "ka.stage": _scalar("stage"),
    "ka.auth.decision": _scalar("annotations", "authorization.k8s.io/decision"),
    "ka.auth.reason": _scalar("annotations", "authorization.k8s.io/reason"),
    "ka.auth.openshift.decision": _scalar("annotations", "authentication.openshift.io/decision"),
    "ka.auth.openshift.username": _scalar("annotations", "authentication.openshift.io/username"),
    "ka.validations.admission.policy.failure":
        _scalar("annotations", "validation.policy.admission.k8s.io/validation_failure"),
    "ka.security.pod.violations": _scalar("annotations",
                                          "pod-security.kubernetes.io/audit-violations"),
    "ka.user.name": _scalar("user", "username"),
    "ka.user.groups": _string_list("user", "groups"),
    "ka.impuser.name": _scalar("impersonatedUser", "username"),
    "ka.verb": _scalar("verb"),
    "ka.uri": _scalar("requestURI"),
    "ka.target.name": _scalar("objectRef", "name"),
    "ka.target.namespace": _scalar("objectRef", "namespace"),
    "ka.target.resource": _scalar("objectRef", "resource"),
    "ka.target.subresource": _scalar("objectRef", "subresource"),
    "ka.target.pod.name": _target_pod_name,
    "ka.req.binding.subjects": _string_list("requestObject", "subjects"),
    "ka.req.binding.subjects.user_names": _subject_names("User"),
    "ka.req.binding.subjects.serviceaccount_names": _subject_names("ServiceAccount"),
    "ka.req.binding.subjects.serviceaccount_ns_names": _subject_names("ServiceAccount", True),
    "ka.req.binding.subjects.group_names": _subject_names("Group"),
    "ka.req.binding.role": _scalar("requestObject", "roleRef", "name"),
    "ka.req.configmap.name": _scalar("objectRef", "name"),
    "ka.req.configmap.obj": _scalar("requestObject", "data"),
    "ka.req.container.image": _first_container(_images),
    "ka.req.container.image.repository":
        lambda obj: _repository(_images(obj, "containers", 0)[0]),
    "ka.req.pod.host_ipc": _scalar("requestObject", "spec", "hostIPC"),
    "ka.req.pod.host_network": _scalar("requestObject", "spec", "hostNetwork"),
    "ka.req.container.host_network": _scalar("requestObject", "spec", "hostNetwork"),
    "ka.req.pod.host_pid": _scalar("requestObject", "spec", "hostPID"),
    "ka.req.container.privileged": _any_privileged,
    "ka.req.pod.run_as_user": _scalar("requestObject", "spec", "securityContext", "runAsUser"),
    "ka.req.pod.run_as_group": _scalar("requestObject", "spec", "securityContext", "runAsGroup"),
    "ka.req.role.rules": _string_list("requestObject", "rules"),
    "ka.req.pod.fs_group": _scalar("requestObject", "spec", "securityContext", "fsGroup"),
    "ka.req.pod.supplemental_groups": _string_list("requestObject", "spec", "securityContext",
                                                   "supplementalGroups"),
    "ka.req.service.type": _scalar("requestObject", "spec", "type"),
    "ka.resp.name": _scalar("responseObject", "metadata", "name"),
    "ka.response.code": _scalar("responseStatus", "code"),
    "ka.response.reason": _scalar("responseStatus", "reason"),
    "ka.useragent": _scalar("userAgent"),
    "ka.cluster.name": _scalar("annotations", "cluster_name"),
}

_INDEXED: dict[str, Callable[[dict[str, Value], int | None], object]] = {
    "ka.req.role.rules.apiGroups": _rules_field("apiGroups"),
    "ka.req.role.rules.nonResourceURLs": _rules_field("nonResourceURLs"),
    "ka.req.role.rules.verbs": _rules_field("verbs"),
    "ka.req.role.rules.resources": _rules_field("resources"),
    # The plugin reads requestObject.rules[].sourceIPs (its extractRulesField), so the field is
    # absent on real events: kept so, because Falco's rules see it so.
    "ka.sourceips": _rules_field("sourceIPs"),
    # The whole ports array is one value: the path ends at it, so it is never walked.
    "ka.req.service.ports": _walked("requestObject", "spec", "ports"),
    "ka.req.pod.volumes.hostpath": _walked("requestObject", "spec", "volumes", "hostPath", "path"),
    "ka.req.pod.volumes.flexvolume_driver": _walked("requestObject", "spec", "volumes",
                                                    "flexVolume", "driver"),
    "ka.req.pod.volumes.volume_type": _volume_types,
    **{f"ka.req.pod.{container_list}.{field}": _container_field(container_list, field)
       for container_list in _CONTAINER_LISTS for field in CONTAINER_FIELDS
       if not (container_list == "ephemeralContainers" and field == "host_port")},
}

_KEYED: dict[str, Callable[[dict[str, Value], str], object]] = {
    "ka.uri.param": _uri_param,
    # Documented as N/A, but the plugin (like the original implementation) answers "true".
    "ka.req.binding.subject.has_name": lambda obj, key: "true",
    "ka.req.volume.hostpath": _volume_hostpath,
}
