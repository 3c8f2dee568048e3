"""Behaviour profiles: learn what each workload normally does, flag the rest, export policies."""

from runwatch.profiles.detector import IMAGE_CHANGE_RULE, PROTECT_TAG, ProfileDetector
from runwatch.profiles.keeper import ProfileKeeper
from runwatch.profiles.model import RULE_NAMES, Item, Kind, Mode, Profile
from runwatch.profiles.observe import OBSERVED_EVENT_TYPES
from runwatch.profiles.workload import Workload, workload_for

__all__ = ["IMAGE_CHANGE_RULE", "OBSERVED_EVENT_TYPES", "PROTECT_TAG", "RULE_NAMES", "Item", "Kind",
           "Mode", "Profile", "ProfileDetector", "ProfileKeeper", "Workload", "workload_for"]
