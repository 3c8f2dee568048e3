"""Output templates: `%field`, `%field[arg]`, `<NA>` in text, typed values and null in JSON."""

from __future__ import annotations

import pytest

from runwatch.rules.falco.output import OutputError, parse_output


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
