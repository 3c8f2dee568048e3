"""The profile detector: learns each workload's behaviour, and flags what is new outside `learn`.

It runs in the detect stage like any detector (`match(batch) -> alerts`), holding every profile
in memory. What it learns is gathered as `ProfileChanges` for the keeper (keeper.py) to write;
changes made from the CLI or API come back through `reload`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable

from runwatch.alerts.model import Alert
from runwatch.config import ProfilesConfig
from runwatch.event import Event
from runwatch.graph.map import ConnectivityMap
from runwatch.inventory import Inventory
from runwatch.priority import Priority
from runwatch.profiles.model import (RULE_NAMES, Item, Kind, Mode, Profile, describe_item,
                                     item_covers)
from runwatch.profiles.observe import OBSERVED_EVENT_TYPES, SYSCALL_COUNTS, observe
from runwatch.profiles.state import (ImageChange, Origin, ProfileChanges, StoredItem, StoredProfile,
                                     WorkloadRecord, WorkloadState)
from runwatch.profiles.workload import Workload, workload_for, workload_of_event
from runwatch.rules.base import ListedRule, ListedRuleset

log = logging.getLogger(__name__)

IMAGE_CHANGE_RULE = "Profile: image change"
PROTECT_TAG = "profile_protect"
_TICK_NS = 1_000_000_000
_MAX_IMAGES = 10
_LEARNED_EVENT_TYPES = OBSERVED_EVENT_TYPES | {SYSCALL_COUNTS}
_MAX_HELD_EVENTS = 1000
_MAX_CACHED_CONTAINERS = 10_000
_HOLD_NS = 30 * 1_000_000_000
_CONTEXT_FIELDS = ("evt.type", "container.id", "container.name", "container.image",
                   "container.image.repository", "k8s.ns.name", "k8s.pod.name", "proc.name",
                   "proc.exepath", "proc.cmdline", "proc.pname", "user.name", "user.uid", "fd.name")


def image_version(event: Event) -> str | None:
    """The image a container runs, as `repository:tag@<12 hex of the image id>`."""
    image, image_id = event.get("container.image"), event.get("container.image.id")
    if not isinstance(image, str) or not image:
        return None
    if isinstance(image_id, str) and image_id:
        return f"{image}@{image_id.removeprefix('sha256:')[:12]}"
    return image


class ProfileDetector:
    """Profiles of every workload; alerts on deviations in monitor and protect mode."""

    name = "profiles"

    def __init__(self, config: ProfilesConfig, hostname: str, inventory: Inventory | None = None,
                 stored: Iterable[StoredProfile] = ()) -> None:
        self.config = config
        self.hostname = hostname
        self.inventory = inventory
        self.priority = Priority.parse(config.priority)
        self.states: dict[str, WorkloadState] = {}
        self.graph = ConnectivityMap()
        self.changes = ProfileChanges()
        self.ruleset = ListedRuleset(tuple(
            ListedRule(name, f"a workload does what its profile lacks ({kind})", self.priority,
                       tags=("profile",))
            for kind, name in RULE_NAMES.items()) + (
            ListedRule(IMAGE_CHANGE_RULE, "a new image version of a workload behaves differently",
                       self.priority, tags=("profile",)),))
        self._attack_tools = frozenset(config.attack_tools)
        self._prefixes = tuple(config.sensitive_read_prefixes)
        self._alerted: dict[tuple[str, Kind, Item], int] = {}
        self._addresses: dict[str, str] = {}
        self._inventory_version = -1
        self._next_tick_ns = 0
        self._held: dict[str, tuple[int, list[Event]]] = {}
        self._workloads: dict[str, Workload] = {}
        self.events_unattributed = 0  # events of containers the engine never described
        for profile in stored:
            self._install(profile)

    # -- detection -----------------------------------------------------------------------------

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        now = time.time_ns()
        if now >= self._next_tick_ns:
            self._next_tick_ns = now + _TICK_NS
            alerts.extend(self.tick(now))
        if self._held:
            alerts.extend(self._release_held(now))
        for event in batch:
            container_id = event.get("container.id")
            if not isinstance(container_id, str) or container_id == "host" \
                    or event.get("evt.type") not in _LEARNED_EVENT_TYPES:
                continue
            workload = self._workloads.get(container_id)
            if workload is None:
                workload = workload_of_event(event)
                if workload is not None:
                    if len(self._workloads) > _MAX_CACHED_CONTAINERS:
                        self._workloads.clear()
                    self._workloads[container_id] = workload  # a container's labels never change
            if workload is None:
                self._hold(container_id, event, now)
                continue
            alerts.extend(self._process(event, workload, now))
        return alerts

    def _process(self, event: Event, workload: Workload, now: int) -> list[Alert]:
        alerts: list[Alert] = []
        state = self._state(workload, now)
        self._note_local_address(event, workload)
        version = image_version(event)
        if version is not None and version not in state.record.images:
            self._new_image(state, version, now)
        observed = observe(event, self.name_peer, self._prefixes)
        while observed:
            kind, item = observed.pop(0)
            # A new program's user is part of the same deviation: one alert, both items.
            also = observed[:1] if kind == Kind.PROCESS and observed[:1] and \
                observed[0][0] == Kind.USER else []
            alert, deviated = self._check(state, kind, item, event, version, now, also)
            if deviated and also:
                observed.pop(0)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _hold(self, container_id: str, event: Event, now: int) -> None:
        """Keep a new container's first events until the engine has described it: a container
        runs (execs its entrypoint, listens) before the engine answers questions about it."""
        if self.inventory is None or "container.image" in event \
                or event.get("evt.type") not in _LEARNED_EVENT_TYPES:
            return
        held = self._held.setdefault(container_id, (now, []))[1]
        if len(held) < _MAX_HELD_EVENTS:
            held.append(event)
        else:
            self.events_unattributed += 1

    def _release_held(self, now: int) -> list[Alert]:
        """Process held events of containers the inventory now knows; drop those held too long."""
        assert self.inventory is not None
        alerts: list[Alert] = []
        for container_id, (since, events) in list(self._held.items()):
            record = self.inventory.get(container_id)
            if record is not None and record.image_repository:
                del self._held[container_id]
                workload = workload_for(record.image_repository, record.labels)
                for event in events:
                    for key, value in record.falco_fields().items():
                        event.setdefault(key, value)
                    alerts.extend(self._process(event, workload, now))
            elif now - since > _HOLD_NS:
                del self._held[container_id]
                if self.events_unattributed == 0:  # say it once; the counter tells the rest
                    log.warning("profiles: the engine never described a container; its events "
                                "are not learned", extra={"container_id": container_id})
                self.events_unattributed += len(events)
        return alerts

    def _check(self, state: WorkloadState, kind: Kind, item: Item, event: Event,
               version: str | None, now: int, also: list[tuple[Kind, Item]]
               ) -> tuple[Alert | None, bool]:
        """Learn the item, or put it in the image diff, or alert (naming `also` as part of the
        same deviation); records the connection edge. Returns the alert and whether the item
        was outside the profile."""
        name = state.workload.name
        alert: Alert | None = None
        is_attack_tool = kind in (Kind.PROCESS, Kind.USER) and self._is_attack_tool(event, item)
        deviates = is_attack_tool or not state.profile.covers(kind, item)
        if deviates and any(item_covers(kind, diff_item, item)
                            for diff_kind, diff_item in state.image_diff if diff_kind == kind):
            deviates = False  # waiting in the image diff for an admin's decision
        if deviates and state.mode == Mode.LEARN:
            if not is_attack_tool:
                self._learn(state, kind, item, Origin.LEARNED, now)
            deviates = False
        elif deviates and self._collecting_image_diff(state, version, now):
            for diff_kind, diff_item in [(kind, item), *also]:
                state.image_diff.add((diff_kind, diff_item))
                self.changes.added.append(StoredItem(workload=name, kind=diff_kind, item=diff_item,
                                                     origin=Origin.IMAGE_DIFF, first_ns=now))
        elif deviates:
            key = (name, kind, item)
            last = self._alerted.get(key)
            if last is None or now - last >= self.config.realert_after_s * 1e9:
                self._alerted[key] = now
                alert = self._alert(state, [(kind, item), *also], event, is_attack_tool)
        if kind in (Kind.OUTBOUND, Kind.INBOUND):
            abnormal = deviates and not self._collecting_image_diff(state, version, now)
            self._record_edge(state.workload, kind, item, event, now, abnormal, alert)
        return alert, deviates

    def _is_attack_tool(self, event: Event, item: Item) -> bool:
        names = {item[0].rsplit("/", 1)[-1], item[1]}
        return bool(names & self._attack_tools)

    def _collecting_image_diff(self, state: WorkloadState, version: str | None, now: int) -> bool:
        change = state.record.image_change
        return change is not None and not change.reported and version == change.current \
            and now < change.until_ns

    def _learn(self, state: WorkloadState, kind: Kind, item: Item, origin: Origin, now: int) -> None:
        added, removed = state.profile.learn(kind, item)
        name = state.workload.name
        self.changes.added.extend(StoredItem(workload=name, kind=kind, item=new, origin=origin,
                                             first_ns=now) for new in added)
        self.changes.removed.extend((name, kind, old) for old in removed)
        if added:
            state.record.updated_ns = now
            self.changes.records[name] = state.record

    def _alert(self, state: WorkloadState, items: list[tuple[Kind, Item]], event: Event,
               is_attack_tool: bool) -> Alert:
        """The alert for one deviation; `profile.items` lists what accepting it adds."""
        kind, item = items[0]
        fields: dict[str, object] = {key: event.get(key) for key in _CONTEXT_FIELDS}
        fields.update({"profile.workload": state.workload.name, "profile.kind": str(kind),
                       "profile.item": list(item), "profile.mode": str(state.mode),
                       "profile.items": [[str(k), *i] for k, i in items]})
        tags = ["profile", f"profile_{kind}", f"profile_{state.mode}"]
        if state.mode == Mode.PROTECT:
            tags.append(PROTECT_TAG)
        if is_attack_tool:
            tags.append("attack_tool")
        what = describe_item(kind, item) + (" (a known attack tool, never learned)"
                                            if is_attack_tool else "")
        return Alert.create(
            rule=RULE_NAMES[kind], priority=self.priority, source="syscall",
            hostname=str(event.get("evt.hostname") or self.hostname),
            output=f"{RULE_NAMES[kind]}: {what} in workload {state.workload.name}, not in its "
                   f"profile (mode={state.mode} command={event.get('proc.cmdline')} "
                   f"user={event.get('user.name') or event.get('user.uid')} "
                   f"container={event.get('container.name')} id={event.get('container.id')} "
                   f"image={event.get('container.image')})",
            output_fields=fields, tags=tags, container_id=str(event.get("container.id")),
            time_ns=int(event.get("evt.time") or 0) or None)  # type: ignore[call-overload]

    def _record_edge(self, workload: Workload, kind: Kind, item: Item, event: Event, now: int,
                     abnormal: bool, alert: Alert | None) -> None:
        """One edge per connection: the client's outbound side, or the inbound side when the
        client is outside every known workload."""
        peer, port, protocol = item[0], int(item[1]), item[2]
        if kind == Kind.OUTBOUND:
            key = (workload.name, peer, port, protocol)
        elif _is_address(peer) or peer == "localhost":
            key = (peer, workload.name, port, protocol)
        else:
            return
        when = int(event.get("evt.time") or now)  # type: ignore[call-overload]
        self.graph.observe(key, when, abnormal, alert.id if alert else None)

    # -- workloads, images, peers ---------------------------------------------------------------

    def _state(self, workload: Workload, now: int) -> WorkloadState:
        state = self.states.get(workload.name)
        if state is None:
            record = WorkloadRecord(workload=workload.name,
                                    image_repository=workload.image_repository,
                                    deployment=workload.deployment, namespace=workload.namespace,
                                    selector=dict(workload.selector),
                                    mode=Mode(self.config.default_mode), created_ns=now,
                                    updated_ns=now, mode_changed_ns=now)
            state = WorkloadState(workload, record, Profile(self.config.collapse_after))
            self.states[workload.name] = state
            self.changes.records[workload.name] = record
        return state

    def _new_image(self, state: WorkloadState, version: str, now: int) -> None:
        record = state.record
        if record.images and state.mode != Mode.LEARN and self.config.image_change_learn_s > 0:
            record.image_change = ImageChange(
                previous=record.images[-1], current=version, started_ns=now,
                until_ns=now + int(self.config.image_change_learn_s * 1e9))
        record.images = [*record.images, version][-_MAX_IMAGES:]
        self.changes.records[state.workload.name] = record

    def name_peer(self, address: str) -> str:
        """The workload an IP belongs to when known, `localhost` for loopback, else the IP."""
        name = self._addresses.get(address)
        if name is None and self.inventory is not None \
                and self.inventory.version != self._inventory_version:
            self._read_inventory_addresses()
            name = self._addresses.get(address)
        if name is not None:
            return name
        try:
            if ipaddress.ip_address(address).is_loopback:
                return "localhost"
        except ValueError:
            pass
        return address

    def remember_address(self, address: str, workload: str) -> None:
        """Name a peer address by its workload (the inventory and local addresses do this too)."""
        self._addresses[address] = workload

    def _read_inventory_addresses(self) -> None:
        assert self.inventory is not None
        self._inventory_version = self.inventory.version
        for record in self.inventory.all():
            if record.image_repository and record.state == "running":
                workload = workload_for(record.image_repository, record.labels)
                for address in record.addresses:
                    self._addresses[address] = workload.name

    def _note_local_address(self, event: Event, workload: Workload) -> None:
        local = event.get("fd.lip")
        if isinstance(local, str) and event.get("evt.type") in ("accept", "accept4", "connect"):
            if local not in ("0.0.0.0", "::") and not local.startswith("127."):
                self._addresses[local] = workload.name

    # -- time, store, admin changes -------------------------------------------------------------

    def tick(self, now: int) -> list[Alert]:
        """Move workloads whose learning window closed to monitor; report finished image diffs."""
        alerts: list[Alert] = []
        learn_ns, stable_ns = self.config.learn_for_s * 1e9, self.config.stable_for_s * 1e9
        for state in self.states.values():
            record = state.record
            if state.mode == Mode.LEARN and (learn_ns or stable_ns) \
                    and (not learn_ns or now - record.mode_changed_ns >= learn_ns) \
                    and (not stable_ns or now - record.updated_ns >= stable_ns):
                record.mode, record.mode_changed_ns = Mode.MONITOR, now
                self.changes.modes[record.workload] = (Mode.MONITOR, record.revision)
                self.changes.records[record.workload] = record
            change = record.image_change
            if change is not None and not change.reported and now >= change.until_ns:
                change.reported = True
                self.changes.records[record.workload] = record
                if state.image_diff:
                    alerts.append(self._image_change_alert(state, change))
        return alerts

    def _image_change_alert(self, state: WorkloadState, change: ImageChange) -> Alert:
        counts: dict[str, int] = {}
        for kind, _ in state.image_diff:
            counts[str(kind)] = counts.get(str(kind), 0) + 1
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        return Alert.create(
            rule=IMAGE_CHANGE_RULE, priority=self.priority, source="syscall", hostname=self.hostname,
            output=f"{IMAGE_CHANGE_RULE}: workload {state.workload.name} moved from {change.previous} "
                   f"to {change.current} and the new version does what its profile lacks: {summary} "
                   f"(runwatch profile diff {state.workload.name})",
            output_fields={"profile.workload": state.workload.name, "profile.mode": str(state.mode),
                           "profile.image.previous": change.previous,
                           "profile.image.current": change.current, "profile.diff": counts},
            tags=["profile", "profile_image_change", f"profile_{state.mode}"])

    def take_changes(self) -> ProfileChanges:
        """What was learned since the last call, for the store; edges included."""
        changes, self.changes = self.changes, ProfileChanges()
        changes.edges = self.graph.take()
        return changes

    def revisions(self) -> dict[str, int]:
        return {name: state.record.revision for name, state in self.states.items()}

    def reload(self, profiles: Iterable[StoredProfile]) -> None:
        """Take profiles changed from outside (mode, accepted or rejected items) as stored, keeping
        what was learned since the last store write."""
        for stored in profiles:
            name = stored.record.workload
            self._install(stored)
            for added in [a for a in self.changes.added if a.workload == name]:
                self._put(self.states[name], added)
            self._alerted = {key: ns for key, ns in self._alerted.items() if key[0] != name}

    def _install(self, stored: StoredProfile) -> None:
        record = stored.record
        workload = Workload(record.image_repository, record.deployment, record.namespace,
                            record.selector)
        state = WorkloadState(workload, record,
                              Profile(self.config.collapse_after))
        for item in stored.items:
            self._put(state, item)
        self.states[record.workload] = state

    @staticmethod
    def _put(state: WorkloadState, stored: StoredItem) -> None:
        if stored.origin == Origin.IMAGE_DIFF:
            state.image_diff.add((stored.kind, stored.item))
        else:
            state.profile.add(stored.kind, stored.item)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
