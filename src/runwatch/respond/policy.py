"""Which alerts and containers a response policy acts on."""

from __future__ import annotations

from fnmatch import fnmatchcase

from runwatch.alerts.model import Alert
from runwatch.config import ResponsePolicyConfig
from runwatch.inventory import ContainerRecord
from runwatch.priority import Priority
from runwatch.selectors import container_matches


def alert_matches(policy: ResponsePolicyConfig, alert: Alert) -> bool:
    """The alert side: rule names (globs), any of the tags, and the minimum priority."""
    match = policy.match
    if match.rules and not any(fnmatchcase(alert.rule, pattern) for pattern in match.rules):
        return False
    if match.tags and not set(match.tags) & set(alert.tags):
        return False
    return not match.min_priority or alert.priority.is_at_least(Priority.parse(match.min_priority))


def container_selected(policy: ResponsePolicyConfig, record: ContainerRecord) -> bool:
    """The container side: name and image globs, and exact labels."""
    match = policy.match
    return container_matches(match.name, match.image, match.labels, record.name, record.image,
                             record.labels)
