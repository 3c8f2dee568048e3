"""Output templates: `%field`, `%field[arg]`, `<NA>` in text, typed values and null in JSON."""

from __future__ import annotations

import pytest

from runwatch.config import load_config
from runwatch.errors import ConfigError
from runwatch.rules.falco.append import compile_append_output
from runwatch.rules.falco.detector import FalcoDetector
from runwatch.rules.falco.output import OutputError, parse_output
from runwatch.rules.falco.ruleset import load_rules_texts


def test_fields_render_with_na_for_absent_ones() -> None:
    template = parse_output("shell %proc.name (parent=%proc.pname gparent=%proc.aname[2]) "
                            "tty=%proc.tty flags=%evt.arg.flags")
    text, fields = template.render({"proc.name": "bash", "proc.aname": ["sshd", "systemd"],
                                    "proc.tty": 0, "evt.arg.flags": "O_RDONLY"})
    assert text == "shell bash (parent=<NA> gparent=systemd) tty=0 flags=O_RDONLY"
    assert fields == {"proc.name": "bash", "proc.pname": None, "proc.aname[2]": "systemd",
                      "proc.tty": 0, "evt.arg.flags": "O_RDONLY"}


def test_values_keep_their_types_and_print_as_falco_does() -> None:
    text, fields = parse_output("%container.privileged %user.uid %fd.sip").render(
        {"container.privileged": True, "user.uid": 0})
    assert text == "true 0 <NA>"
    assert fields == {"container.privileged": True, "user.uid": 0, "fd.sip": None}


def test_punctuation_after_a_field_is_text() -> None:
    text, _ = parse_output("user %user.name. done, %proc.name:").render(
        {"user.name": "root", "proc.name": "sh"})
    assert text == "user root. done, sh:"


def test_legacy_container_info_renders_as_nothing() -> None:
    text, fields = parse_output("x %container.info y").render({})
    assert text == "x  y"
    assert fields == {}


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(OutputError, match="unknown field 'proc.nmae'"):
        parse_output("x %proc.nmae")


def test_append_output_adds_text_and_fields_to_the_rules_it_matches() -> None:
    rules = """
- rule: Shadow read
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: read %fd.name by %proc.name
  priority: WARNING
  tags: [filesystem, T1555]
- rule: Shell
  desc: d
  condition: evt.type = execve and proc.name = sh
  output: shell
  priority: NOTICE
  tags: [process]
"""
    ruleset = load_rules_texts([("rules.yaml", rules)], "all").ruleset
    config = load_config(None, {}, {"rules.append_output": [
        {"match": {"source": "syscall"}, "extra_output": "container=%container.name",
         "extra_fields": ["container.image.tag", {"cluster": "prod-eu"}]},
        {"match": {"tags": ["filesystem", "T1555"]}, "extra_output": "user=%user.name"},
        {"match": {"rule": "Shell"}, "extra_fields": ["proc.pname"]}]})
    detector = FalcoDetector(ruleset, "h", compile_append_output(config.rules.append_output))
    [shadow, shell] = detector.match([
        {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "cat", "container.name": "web",
         "user.name": "root"},
        {"evt.type": "execve", "proc.name": "sh", "proc.pname": "httpd"}])
    assert shadow.output == "read /etc/shadow by cat container=web user=root"
    assert shadow.output_fields == {"fd.name": "/etc/shadow", "proc.name": "cat", "container.name": "web",
                                    "container.image.tag": None, "cluster": "prod-eu", "user.name": "root"}
    assert shell.output == "shell container=<NA>"
    assert shell.output_fields["proc.pname"] == "httpd" and shell.output_fields["cluster"] == "prod-eu"
    bad = load_config(None, {}, {"rules.append_output": [{"extra_output": "x=%proc.nope"}]})
    with pytest.raises(ConfigError, match=r"rules.append_output\[0\].extra_output"):
        compile_append_output(bad.rules.append_output)
