"""How bad a vulnerability is: a CVSS vector's base score and rating, or the advisory's own word.

OSV puts CVSS vectors in `severity[]` (type CVSS_V2, CVSS_V3 or CVSS_V4; the cvss package
computes the base score), Ubuntu its priority there as type "Ubuntu"; GitHub's advisories say
`database_specific.severity` (LOW, MODERATE, HIGH, CRITICAL) and Debian's an `urgency`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from cvss import CVSS2, CVSS3, CVSS4, CVSSError  # type: ignore[import-untyped]


class Severity(enum.StrEnum):
    """Ratings, lowest first; `rank` orders them for `--fail-on`."""

    UNKNOWN = "unknown"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {severity: rank for rank, severity in enumerate(Severity)}

# Words advisories use, to our ratings. Ubuntu's "negligible" and Debian's "unimportant" are
# below low but still named; "not yet assigned" is unknown.
_WORDS = {"negligible": Severity.LOW, "unimportant": Severity.LOW, "low": Severity.LOW,
          "moderate": Severity.MEDIUM, "medium": Severity.MEDIUM, "important": Severity.HIGH,
          "high": Severity.HIGH, "critical": Severity.CRITICAL}

_CVSS_CLASSES = {"CVSS_V4": CVSS4, "CVSS_V3": CVSS3, "CVSS_V2": CVSS2}


def rating_of_score(score: float, cvss_type: str = "CVSS_V3") -> Severity:
    """The qualitative rating of a base score: CVSS v3/v4's table, or NVD's for v2 (no critical).

    CVSS rates 0.0 "None"; nothing is kept below low, so it is low here.
    """
    if cvss_type != "CVSS_V2" and score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


def cvss_base_score(cvss_type: str, vector: str) -> float | None:
    """The base score of a CVSS vector ("CVSS:3.1/AV:N/..."), or None if it cannot be read."""
    cls = _CVSS_CLASSES.get(cvss_type)
    if cls is None:
        return None
    try:
        calculated = cls(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    score = calculated.base_score if cvss_type == "CVSS_V4" else calculated.scores()[0]
    return float(score)


def rate(severities: Iterable[tuple[str, str]], words: Iterable[object] = ()) -> tuple[Severity, float | None]:
    """A rating and CVSS score from OSV `severity` entries (type, score), newest CVSS first, else
    from the first advisory word that names a rating."""
    by_type = dict(severities)
    for cvss_type in _CVSS_CLASSES:
        if cvss_type in by_type:
            score = cvss_base_score(cvss_type, by_type[cvss_type])
            if score is not None:
                return rating_of_score(score, cvss_type), score
    for candidate in (by_type.get("Ubuntu"), *words):
        if isinstance(candidate, str) and candidate.strip().lower() in _WORDS:
            return _WORDS[candidate.strip().lower()], None
    return Severity.UNKNOWN, None


def severity_words(specific: Mapping[str, object] | None) -> list[object]:
    """The words a `database_specific` or `ecosystem_specific` mapping uses for severity."""
    if not specific:
        return []
    return [specific.get("severity"), specific.get("urgency")]
