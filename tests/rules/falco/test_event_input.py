"""Authors' events (`runwatch rules test` input) normalised into runwatch's representation."""

from __future__ import annotations

import pytest

from runwatch.rules.falco.event_input import EventInputError, normalize_event


def test_indexed_ancestors_become_the_list_with_the_parent_first() -> None:
    event = normalize_event({"proc.aname[0]": "sh", "proc.aname[3]": "init",
                             "proc.aname[1]": "bash", "proc.apid[1]": "10"})
    assert event == {"proc.name": "sh", "proc.aname": ["bash", None, "init"], "proc.apid": [10]}


def test_values_are_converted_by_field_type() -> None:
    event = normalize_event({"proc.tty": "34816", "evt.is_open_read": "true",
                             "fd.typechar": 4, "user.uid": 0.0})
    assert event == {"proc.tty": 34816, "evt.is_open_read": True, "fd.typechar": "4",
                     "user.uid": 0}


def test_env_and_labels_by_name() -> None:
    event = normalize_event({"proc.env[HOME]": "/root", "container.label[app]": "web",
                             "evt.arg.flags": "O_RDONLY"})
    assert event == {"proc.env": ["HOME=/root"], "container.label": {"app": "web"},
                     "evt.arg.flags": "O_RDONLY"}


@pytest.mark.parametrize(("raw", "message"), [
    ({"proc.nme": "x"}, "unknown field 'proc.nme'"),
    ({"proc.pid": "abc"}, "'proc.pid' is a number"),
    ({"proc.aname": "bash"}, "holds a list"),
    ({"evt.arg[0]": "x"}, "by name"),
])
def test_bad_keys_and_values_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(EventInputError, match=message):
        normalize_event(raw)
