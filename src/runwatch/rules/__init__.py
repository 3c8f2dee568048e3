"""Detection: Falco rules, and later Sigma rules, profiles and anomaly statistics."""

from runwatch.rules.base import Detector

__all__ = ["Detector"]
