"""Automated response: policies that pause, stop, kill, restart or isolate containers on alerts."""

from runwatch.respond.actions import UNDOABLE, ActionError, undo
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.respond.responder import Responder, own_container_id

__all__ = ["UNDOABLE", "ActionError", "Responder", "ResponseRecord", "ResponseStatus", "own_container_id",
           "undo"]
