"""The profile detector on enriched events: learn, then alert per kind; modes, attack tools,
users, server ports, image changes; and the store keeps all of it across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import pytest

from runwatch.config import ProfilesConfig
from runwatch.event import Event
from runwatch.inventory import ContainerRecord, Inventory
from runwatch.profiles.detector import IMAGE_CHANGE_RULE, PROTECT_TAG, ProfileDetector
from runwatch.profiles.model import Kind, Mode
from runwatch.store.sql import SqlStore

IMAGE = "localhost/shop"
WORKLOAD = "web@localhost/shop"


def event(evt_type: str, image_id: str = "1111", **fields: object) -> Event:
    base: Event = {"evt.type": evt_type, "evt.time": time.time_ns(), "container.id": "c0ffee000001",
                   "container.name": "web-1", "container.image": f"{IMAGE}:1",
                   "container.image.repository": IMAGE, "container.image.id": image_id,
                   "container.label": {"app": "web"}, "proc.pname": "sh", "user.name": "app"}
    base.update({key.replace("__", "."): value for key, value in fields.items()})
    return base


def exec_of(path: str, **fields: object) -> Event:
    return event("execve", **{"proc__exepath": path, "proc__name": path.rsplit("/", 1)[-1],
                              "proc__cmdline": path, **fields})


def connect_to(ip: str, port: int, client_port: int = 40000) -> Event:
    return event("connect", fd__sockfamily="ip", fd__l4proto="tcp", fd__sip=ip, fd__sport=port,
                 fd__cip="10.88.0.9", fd__cport=client_port, fd__lip="10.88.0.9",
                 fd__connected=True)


def normal_day() -> list[Event]:
    return [exec_of("/bin/httpd"), exec_of("/bin/date"),
            event("openat", fd__name="/var/log/app.log", evt__is_open_write=True),
            event("openat", fd__name="/etc/passwd", evt__is_open_read=True),
            connect_to("93.184.216.34", 443, client_port=51234),
            event("listen", fd__sockfamily="ip", fd__l4proto="tcp", fd__lport=8080)]


def detector(**settings: object) -> ProfileDetector:
    return ProfileDetector(msgspec.convert(settings, ProfilesConfig), "test-host")


def set_mode(profiles: ProfileDetector, mode: Mode) -> None:
    profiles.states[WORKLOAD].record.mode = mode


def test_learn_mode_records_and_never_alerts() -> None:
    profiles = detector()
    assert profiles.match(normal_day()) == []
    counts = profiles.states[WORKLOAD].profile.count_by_kind()
    assert counts == {"process": 2, "user": 2, "file_write": 1, "file_read": 1, "outbound": 1,
                      "listen": 1}


def test_monitor_mode_alerts_once_per_new_item_with_a_rule_per_kind() -> None:
    profiles = detector()
    profiles.match(normal_day())
    set_mode(profiles, Mode.MONITOR)
    assert profiles.match(normal_day()) == [], "learned behaviour raises nothing"
    deviations = [exec_of("/bin/wget"), event("openat", fd__name="/etc/cron.d/x", evt__is_open_write=True),
                  event("openat", fd__name="/etc/shadow", evt__is_open_read=True),
                  connect_to("203.0.113.5", 4444),
                  event("listen", fd__sockfamily="ip", fd__l4proto="tcp", fd__lport=31337)]
    alerts = profiles.match(deviations)
    assert [a.rule for a in alerts] == ["Profile: new process", "Profile: new file write",
                                        "Profile: new sensitive file read",
                                        "Profile: new outbound connection",
                                        "Profile: new listening port"]
    process = alerts[0]
    assert process.container_id == "c0ffee000001"
    assert process.output_fields["profile.workload"] == WORKLOAD
    assert process.output_fields["profile.item"] == ["/bin/wget", "wget", "sh"]
    assert "profile_monitor" in process.tags and PROTECT_TAG not in process.tags
    assert "/bin/wget (parent sh)" in process.output
    assert profiles.match(deviations) == [], "the same deviation does not alert again at once"


def test_the_client_port_is_never_learned() -> None:
    profiles = detector()
    profiles.match([connect_to("93.184.216.34", 443, client_port=50000)])
    set_mode(profiles, Mode.MONITOR)
    assert profiles.match([connect_to("93.184.216.34", 443, client_port=p) for p in (50001, 60000)]) == []


def test_a_multi_call_binary_is_told_apart_by_the_name_it_runs_as() -> None:
    profiles = detector()
    profiles.match([exec_of("/proc/self/exe", proc__name="exe", proc__exe="date")])
    set_mode(profiles, Mode.MONITOR)
    assert profiles.match([exec_of("/proc/self/exe", proc__name="exe", proc__exe="date")]) == []
    [alert] = profiles.match([exec_of("/proc/self/exe", proc__name="exe", proc__exe="ls")])
    assert alert.rule == "Profile: new process" and "/proc/self/exe (ls) (parent sh)" in alert.output


def test_a_process_whose_parent_was_not_known_is_judged_by_its_program() -> None:
    profiles = detector()
    profiles.match([exec_of("/bin/httpd", proc__pname=None)])
    set_mode(profiles, Mode.MONITOR)
    assert profiles.match([exec_of("/bin/httpd", proc__pname="conmon")]) == []
    assert profiles.match([exec_of("/bin/date", proc__pname=None)]) != []


def test_a_known_program_run_by_a_new_user_is_a_deviation() -> None:
    profiles = detector()
    profiles.match([exec_of("/bin/httpd")])
    set_mode(profiles, Mode.MONITOR)
    [alert] = profiles.match([exec_of("/bin/httpd", user__name="root")])
    assert alert.rule == "Profile: new user"
    assert alert.output_fields["profile.item"] == ["/bin/httpd", "httpd", "root"]


def test_attack_tools_are_never_learned_and_always_alert() -> None:
    profiles = detector()
    profiles.match([exec_of("/bin/nc"), exec_of("/usr/bin/nmap")])
    assert profiles.states[WORKLOAD].profile.items(Kind.PROCESS) == []
    set_mode(profiles, Mode.PROTECT)
    [alert] = profiles.match([exec_of("/bin/nc")])
    assert alert.rule == "Profile: new process", "one alert names the program and its user"
    assert alert.output_fields["profile.items"] == [["process", "/bin/nc", "nc", "sh"],
                                                    ["user", "/bin/nc", "nc", "app"]]
    assert {PROTECT_TAG, "attack_tool"} <= set(alert.tags)


def test_the_learning_window_moves_a_quiet_workload_to_monitor() -> None:
    profiles = detector(stable_for_s=0.2)
    profiles.match(normal_day())
    assert profiles.states[WORKLOAD].mode == Mode.LEARN
    profiles.tick(time.time_ns() + int(0.3e9))
    assert profiles.states[WORKLOAD].mode == Mode.MONITOR
    assert profiles.take_changes().modes == {WORKLOAD: (Mode.MONITOR, 0)}


def test_a_new_image_version_is_collected_as_a_diff_then_reported_once() -> None:
    profiles = detector(image_change_learn_s=60)
    profiles.match(normal_day())
    set_mode(profiles, Mode.MONITOR)
    new_version = [exec_of("/bin/migrate", image_id="2222"), connect_to("10.9.9.9", 5432)]
    new_version[1]["container.image.id"] = "2222"
    assert profiles.match(new_version) == []
    state = profiles.states[WORKLOAD]
    assert {kind for kind, _ in state.image_diff} == {Kind.PROCESS, Kind.USER, Kind.OUTBOUND}
    assert profiles.match([exec_of("/bin/wget")]) != [], "the old version still alerts"
    assert state.record.image_change is not None
    [report] = profiles.tick(state.record.image_change.until_ns)
    assert report.rule == IMAGE_CHANGE_RULE
    assert report.output_fields["profile.diff"] == {"outbound": 1, "process": 1, "user": 1}
    assert profiles.tick(state.record.image_change.until_ns + 1) == []
    assert profiles.match(new_version) == [], "diff items wait for a decision"


def test_profiles_survive_a_restart_and_admin_changes_reach_the_detector(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'runwatch.db'}")
    profiles = ProfileDetector(ProfilesConfig(), "test-host", None, store.profiles.load())
    profiles.match(normal_day())
    store.profiles.apply(profiles.take_changes())

    restarted = ProfileDetector(ProfilesConfig(), "test-host", None, store.profiles.load())
    assert len(restarted.states[WORKLOAD].profile) == len(profiles.states[WORKLOAD].profile) == 8
    assert store.profiles.set_mode(WORKLOAD, Mode.MONITOR, time.time_ns()) is not None
    wget = exec_of("/bin/wget")
    assert store.profiles.accept(WORKLOAD, [(Kind.PROCESS, ("/bin/wget", "wget", "sh"))], time.time_ns())
    stale = [name for name, rev in store.profiles.revisions().items()
             if restarted.revisions().get(name) != rev]
    assert stale == [WORKLOAD]
    restarted.reload(store.profiles.load(stale))
    assert restarted.states[WORKLOAD].mode == Mode.MONITOR
    assert [a.rule for a in restarted.match([wget])] == ["Profile: new user"], \
        "the accepted process is known; its user is still new"
    assert store.profiles.get("nope@nothing") is None
    assert store.profiles.set_mode("nope@nothing", Mode.LEARN, 0) is None

    forgotten = (Kind.PROCESS, ("/bin/wget", "wget", "sh"))
    assert store.profiles.forget(WORKLOAD, [forgotten], time.time_ns()) == 1
    assert store.profiles.forget("nope@nothing", [forgotten], 0) is None
    restarted.reload(store.profiles.load([WORKLOAD]))
    assert "Profile: new process" in [a.rule for a in restarted.match([exec_of("/bin/wget")])], \
        "a forgotten item alerts again"
    store.close()


def test_a_new_containers_first_events_wait_for_the_engine_and_are_counted_if_it_never_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    inventory = Inventory()
    profiles = ProfileDetector(ProfilesConfig(), "test-host", inventory)
    bare = {key: value for key, value in exec_of("/bin/httpd").items()
            if not key.startswith("container.") or key == "container.id"}
    assert profiles.match([dict(bare)]) == [] and profiles.states == {}
    inventory.put(ContainerRecord(
        id="c0ffee000001", full_id="c0ffee000001" * 5, name="web-1", image=f"{IMAGE}:1",
        image_id="1111", image_repository=IMAGE, image_tag="1", image_digest=None,
        labels={"app": "web"}, privileged=False, mounts=[], networks=[], state="running", pid=1,
        started_ns=0, finished_ns=0, exit_code=None, runtime="runc"))
    profiles.match([])
    assert profiles.states[WORKLOAD].profile.items(Kind.PROCESS) == [("/bin/httpd", "httpd", "sh")]
    stranger = {**bare, "container.id": "deadbeef0001"}
    profiles.match([stranger])
    profiles._release_held(time.time_ns() + 31 * 10**9)
    assert profiles.events_unattributed == 1
    assert "the engine never described a container" in caplog.text
