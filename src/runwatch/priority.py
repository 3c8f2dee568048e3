"""Falco's eight alert priorities, shared by config, rules and alerts."""

from __future__ import annotations

import enum


class Priority(enum.IntEnum):
    """Falco's eight priorities; a lower number is more severe, so `<=` means 'at least as bad'."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def label(self) -> str:
        """Falco's spelling in JSON alerts: 'Warning', 'Informational'."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Read a priority case-insensitively, accepting Falco's `info` alias.

        Raises ValueError naming the accepted values.
        """
        key = text.strip().upper()
        key = {"INFO": "INFORMATIONAL", "WARN": "WARNING", "CRIT": "CRITICAL"}.get(key, key)
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"unknown priority {text!r}, expected one of {names}") from None

    def is_at_least(self, minimum: Priority) -> bool:
        """True when this priority is as severe as `minimum` or more."""
        return self <= minimum
