"""Each operator and transformer against Falco's documented semantics, edge cases included."""

from __future__ import annotations

import json

import pytest

from runwatch.rules.falco import load_rules_texts
from runwatch.rules.falco.event_input import normalize_event


def _rules(condition: str, extra: str = "") -> str:
    return (f"{extra}\n- rule: r\n  desc: d\n  condition: {json.dumps(condition)}\n"
            f"  output: o\n  priority: info\n")


def matches(condition: str, event: dict[str, object], extra: str = "") -> bool:
    result = load_rules_texts([("t.yaml", _rules(condition, extra))])
    assert not result.errors, [str(e) for e in result.errors]
    return bool(result.ruleset.match(normalize_event(event)))


def error_of(condition: str, extra: str = "") -> str:
    result = load_rules_texts([("t.yaml", _rules(condition, extra))])
    assert result.errors, "expected the condition to be refused"
    return str(result.errors[0])


# equality and absent fields

def test_equals_compares_whole_strings() -> None:
    assert matches("proc.name = bash", {"proc.name": "bash"})
    assert not matches("proc.name = bash", {"proc.name": "bash2"})
    assert matches("proc.name == bash", {"proc.name": "bash"})


def test_an_absent_field_makes_a_check_false_and_its_negation_true() -> None:
    assert not matches("proc.name = bash", {"proc.pid": 1})
    assert not matches("proc.name != bash", {"proc.pid": 1})
    assert matches("not proc.name = bash", {"proc.pid": 1})
    assert matches("not proc.name in (bash, sh)", {"proc.pid": 1})


def test_not_equal_needs_a_value() -> None:
    assert matches("proc.tty != 0", {"proc.tty": 34816})
    assert not matches("proc.tty != 0", {"proc.tty": 0})


def test_numbers_compare_numerically_including_hex_and_negative() -> None:
    assert matches("proc.duration <= 5000000000", {"proc.duration": 4_999_999_999})
    assert not matches("proc.duration < 5000000000", {"proc.duration": 5_000_000_000})
    assert matches("fd.num = -1", {"fd.num": -1})
    assert matches("user.uid > 0x10", {"user.uid": 17})
    assert not matches("user.uid >= 0x10", {"user.uid": 15})
    assert matches("evt.rawres in (0, 1, 2)", {"evt.rawres": 2})
    assert not matches("evt.rawres in (0, 1, 2)", {"evt.rawres": 3})


def test_booleans_are_true_or_false() -> None:
    assert matches("container.privileged = true", {"container.privileged": True})
    assert not matches("container.privileged = true", {"container.privileged": False})
    assert matches("container.privileged != true", {"container.privileged": False})
    assert "true or false" in error_of("container.privileged = yes")


# string operators

def test_contains_icontains_startswith_endswith() -> None:
    event = {"proc.cmdline": "java -jar App.jar"}
    assert matches("proc.cmdline contains \" -jar\"", event)
    assert not matches("proc.cmdline contains JAR", event)
    assert matches("proc.cmdline icontains APP.JAR", event)
    assert matches("proc.cmdline startswith java", event)
    assert not matches("proc.cmdline startswith -jar", event)
    assert matches("proc.cmdline endswith .jar", event)
    assert not matches("proc.cmdline endswith java", event)


def test_glob_matches_the_whole_string_and_star_crosses_slashes() -> None:
    assert matches("fd.name glob '/home/*/.ssh/*'", {"fd.name": "/home/al/.ssh/id_rsa"})
    assert matches("fd.name glob '/home/*/.ssh/*'", {"fd.name": "/home/a/b/.ssh/keys/x"})
    assert not matches("fd.name glob '/home/*/.ssh'", {"fd.name": "/home/al/.ssh/id_rsa"})
    assert matches("fd.name glob '/tmp/?.[ch]'", {"fd.name": "/tmp/a.c"})
    assert not matches("fd.name glob '/tmp/?.[!ch]'", {"fd.name": "/tmp/a.c"})
    assert not matches("fd.name glob '/TMP/*'", {"fd.name": "/tmp/a"})
    assert matches("fd.name iglob '/TMP/*'", {"fd.name": "/tmp/a"})


def test_regex_is_a_full_re2_match() -> None:
    assert matches("fd.name regex '[a-z]*/proc/[0-9]+/cmdline'", {"fd.name": "/proc/12/cmdline"})
    assert not matches("fd.name regex 'proc/[0-9]+'", {"fd.name": "/proc/12/cmdline"})
    assert matches("fd.name regex '.*proc/[0-9]+.*'", {"fd.name": "/proc/12/cmdline"})
    assert "invalid regular expression" in error_of("fd.name regex '(unclosed'")


def test_bcontains_and_bstartswith_take_hex_bytes() -> None:
    event = {"evt.buffer": "\xca\xfe\xba\xbe rest"}
    assert matches("evt.buffer bcontains 7265", event)  # "re"
    assert matches("evt.buffer bstartswith 7878", {"evt.buffer": "xxyy"})
    assert not matches("evt.buffer bstartswith 7979", {"evt.buffer": "xxyy"})
    assert "hexadecimal" in error_of("evt.buffer bcontains nothex")


def test_string_comparison_operators_order_lexically() -> None:
    assert "expected a number after '<'" in error_of("proc.name < b")  # the grammar says so
    assert matches("proc.name > 1", {"proc.name": "2"})
    assert not matches("proc.name > 1", {"proc.name": "0"})


# list operators

def test_in_on_a_single_value_is_membership() -> None:
    assert matches("proc.name in (bash, sh)", {"proc.name": "sh"})
    assert not matches("proc.name in (bash, sh)", {"proc.name": "zsh"})
    assert not matches("proc.name in ()", {"proc.name": "sh"})


def test_in_on_ancestors_without_index_matches_any_ancestor() -> None:
    event = {"proc.name": "sh", "proc.aname": ["bash", "sshd", "systemd"]}
    assert matches("proc.aname in (sshd)", event)
    assert matches("proc.aname = systemd", event)
    assert not matches("proc.aname in (sh)", event)  # the process itself is not an ancestor
    assert matches("proc.aname startswith ssh", event)


def test_ancestor_index_one_is_the_parent_and_zero_the_process() -> None:
    event = {"proc.name": "sh", "proc.aname[1]": "bash", "proc.aname[2]": "sshd"}
    assert matches("proc.aname[1] = bash", event)
    assert matches("proc.aname[2] = sshd", event)
    assert matches("proc.aname[0] = sh", event)
    assert not matches("proc.aname[3] = sshd", event)
    assert not matches("proc.aname[3] != sshd", event)


def test_in_on_a_list_field_needs_every_item_and_intersects_one() -> None:
    ip_only = {"fd.types": ["ipv4", "ipv6"]}
    mixed = {"fd.types": ["ipv4", "file"]}
    assert matches("fd.types in (ipv4, ipv6)", ip_only)
    assert not matches("fd.types in (ipv4, ipv6)", mixed)
    assert matches("fd.types intersects (ipv4, unix)", mixed)
    assert not matches("fd.types intersects (unix)", mixed)
    assert matches("fd.types[1] = file", mixed)
    assert "not supported on list field" in error_of("fd.types = ipv4")


def test_intersects_on_a_single_value_is_membership() -> None:
    assert matches("proc.args intersects (-V, -l)", {"proc.args": "-l"})
    assert not matches("proc.args intersects (-V, -l)", {"proc.args": "-l -a"})


def test_pmatch_stops_at_path_boundary() -> None:
    condition = "fd.name pmatch (/tmp/hello, /var/run)"
    assert matches(condition, {"fd.name": "/tmp/hello"})
    assert matches(condition, {"fd.name": "/tmp/hello/world"})
    assert not matches(condition, {"fd.name": "/tmp/hello_world"})
    assert matches(condition, {"fd.name": "/var/run/docker.sock"})
    assert not matches(condition, {"fd.name": "/var/running"})


def test_pmatch_prefixes_may_hold_globs_that_stop_at_slashes() -> None:
    condition = "fd.name pmatch (/var/*/*.txt)"
    assert matches(condition, {"fd.name": "/var/log/a.txt"})
    assert matches(condition, {"fd.name": "/var/log/a.txt/more"})
    assert not matches(condition, {"fd.name": "/var/a.txt"})
    assert matches("fd.name pmatch (/var/*)", {"fd.name": "/var/run/file.txt"})
    assert not matches("fd.name glob /var/*/x", {"fd.name": "/var/run"})


def test_exists_is_true_for_present_fields_only() -> None:
    assert matches("proc.pname exists", {"proc.pname": "bash"})
    assert not matches("proc.pname exists", {"proc.name": "bash"})
    assert matches("not proc.pname exists", {"proc.name": "bash"})
    assert not matches("proc.aname exists", {"proc.aname": []})


# flags, dynamic arguments, IPs

def test_contains_on_a_flags_argument_tests_set_flags() -> None:
    event = {"evt.arg.flags": "O_WRONLY|O_CREAT|O_TRUNC"}
    assert matches("evt.arg.flags contains O_TRUNC", event)
    assert matches("evt.arg.flags contains \"O_TRUNC\"", event)
    assert not matches("evt.arg.flags contains O_APPEND", event)
    assert not matches("evt.arg.flags contains O_TRUN", event)  # a flag, not a substring
    assert matches("evt.arg.flags contains O_WRONLY|O_TRUNC", event)


def test_arguments_compare_as_text_or_numbers() -> None:
    assert matches("evt.arg.cmd = 5", {"evt.arg.cmd": 5})
    assert matches("evt.arg.cmd = BPF_PROG_LOAD", {"evt.arg.cmd": "BPF_PROG_LOAD"})
    assert not matches("evt.arg.uid = nobody", {"evt.arg.uid": 65534})
    assert matches("evt.arg.uid > 1000", {"evt.arg.uid": 65534})
    assert matches("evt.arg.path startswith /etc", {"evt.arg.path": "/etc/x"})


def test_ip_fields_compare_addresses_and_networks() -> None:
    connection = {"fd.sip": "52.1.2.3", "fd.cip": "10.0.0.5"}
    assert matches("fd.sip = 52.1.2.3", connection)
    assert matches("fd.ip = 10.0.0.5", connection)  # client or server
    assert not matches("fd.ip = 10.0.0.6", connection)
    assert matches("fd.snet in (\"52.0.0.0/8\")", connection)
    assert not matches("fd.snet in (\"10.0.0.0/8\", \"192.168.0.0/16\")", connection)
    assert matches("fd.net = \"10.0.0.0/8\"", connection)  # the client is in it
    assert matches("fd.net != \"127.0.0.0/8\"", connection)
    assert not matches("fd.net != \"127.0.0.0/8\"", {"fd.sip": "127.0.0.1", "fd.cip": "127.0.0.1"})
    assert matches("fd.sip = \"::1\"", {"fd.sip": "0:0:0:0:0:0:0:1"})
    assert "not a CIDR" in error_of("fd.snet in (\"10.0.0.0/33\")")
    assert "is an IP address" in error_of("fd.sip = example")


def test_port_fields_match_client_or_server() -> None:
    assert matches("fd.port = 443", {"fd.sport": 443, "fd.cport": 50000})
    assert matches("fd.port in (50000)", {"fd.sport": 443, "fd.cport": 50000})
    assert not matches("fd.sport in (80, 8080)", {"fd.sport": 443})


# transformers and val()

def test_transformers_change_the_value_before_the_check() -> None:
    assert matches("tolower(proc.name) = bash", {"proc.name": "BaSh"})
    assert matches("toupper(proc.name) = BASH", {"proc.name": "bash"})
    assert matches("basename(proc.exepath) = cat", {"proc.exepath": "/usr/bin/cat"})
    assert not matches("basename(proc.exepath) = bin", {"proc.exepath": "/usr/bin/"})
    assert matches("basename(proc.exepath) = \"\"", {"proc.exepath": "/usr/bin/"})
    assert matches("b64(proc.args) contains secret", {"proc.args": "dG9wIHNlY3JldA=="})
    assert not matches("b64(proc.args) exists", {"proc.args": "not base64!"})
    assert matches("len(proc.name) = 4", {"proc.name": "bash"})
    assert matches("len(proc.aname) > 2", {"proc.aname": ["a", "b", "c"]})
    assert matches("tolower(toupper(proc.name)) = bash", {"proc.name": "Bash"})


def test_val_compares_two_fields() -> None:
    assert matches("proc.name = val(proc.pname)", {"proc.name": "bash", "proc.pname": "bash"})
    assert not matches("proc.name = val(proc.pname)", {"proc.name": "bash", "proc.pname": "sh"})
    assert not matches("proc.name != val(proc.pname)", {"proc.name": "bash"})
    assert matches("tolower(proc.name) = tolower(proc.pname)",
                   {"proc.name": "BASH", "proc.pname": "bash"})
    assert matches("proc.pid > val(proc.ppid)", {"proc.pid": 10, "proc.ppid": 2})


# event-type index

def test_rules_meet_only_the_event_types_their_conditions_admit() -> None:
    text = _rules("evt.type in (open, openat) and fd.name = /etc/shadow") + \
        "- rule: r2\n  desc: d\n  condition: evt.type != open and proc.name = cat\n" \
        "  output: o\n  priority: info\n"
    ruleset = load_rules_texts([("t.yaml", text)], rule_matching="all").ruleset
    assert ruleset.required_event_types() == frozenset({"open", "openat"})
    assert ruleset.rules_for_every_event_type() == ["r2"]
    both = {"fd.name": "/etc/shadow", "proc.name": "cat"}
    assert ruleset.match({"evt.type": "openat", **both}) == [0, 1]
    assert ruleset.match({"evt.type": "open", **both}) == [0]
    assert ruleset.match({"evt.type": "execve", **both}) == [1]


def test_negated_event_types_are_resolved_with_de_morgan() -> None:
    condition = "not (evt.type = open and proc.name = x)"
    assert matches(condition, {"evt.type": "open", "proc.name": "y"})
    assert not matches(condition, {"evt.type": "open", "proc.name": "x"})
    assert matches(condition, {"evt.type": "execve", "proc.name": "x"})


@pytest.mark.parametrize(("condition", "message"), [
    ("proc.nme = bash", "unknown field 'proc.nme' (did you mean 'proc.name'?)"),
    ("proc.name bogus bash", "expected an operator after proc.name"),
    ("(proc.name = bash", "unbalanced parenthesis"),
    ("proc.name = bash)", "unbalanced parenthesis"),
    ("proc.pid = abc", "proc.pid is a number: 'abc' is not one"),
    ("proc.name < 3 and no_such_macro", "undefined macro 'no_such_macro'"),
    ("proc.pid startswith 1", "operator 'startswith' is not supported on numeric field"),
    ("container.label = x", "needs an argument"),
    ("proc.aname[x] = a", "expected a number in brackets"),
])
def test_broken_conditions_are_refused_with_a_message(condition: str, message: str) -> None:
    assert message in error_of(condition)
