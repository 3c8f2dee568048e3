"""User names come from the account files of the event's own root (the host's here)."""

from __future__ import annotations

import pwd

from runwatch.enrich.users import UserNameEnricher


def test_user_group_and_login_names_are_looked_up_and_unknown_ids_stay_absent() -> None:
    nobody = pwd.getpwnam("nobody")
    logged_in = {"user.uid": 0, "group.gid": 0, "user.loginuid": nobody.pw_uid, "container.id": "host"}
    never = {"user.uid": nobody.pw_uid, "user.loginuid": -1, "container.id": "host"}
    stranger = {"user.uid": 4_000_123, "container.id": "host"}
    UserNameEnricher().enrich([logged_in, never, stranger])
    assert logged_in["user.name"] == "root" and logged_in["group.name"] == "root"
    assert logged_in["user.loginname"] == "nobody"
    assert never["user.name"] == "nobody" and "user.loginname" not in never
    assert "user.name" not in stranger
