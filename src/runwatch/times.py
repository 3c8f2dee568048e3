"""RFC 3339 times as engines, Kubernetes and log writers stamp them, to nanoseconds since the epoch.

One strict reader for every source: `2018-10-26T09:51:20.713631Z`, up to nine fraction digits,
`Z` or a `+hh:mm` offset (Go's time.RFC3339Nano, which Docker, Podman, CRI and Kubernetes write).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                      r"(?:[Zz]|([+-])(\d\d):(\d\d))")


def parse_rfc3339_ns(stamp: str) -> int | None:
    """Nanoseconds since the epoch, or None when `stamp` is not an RFC 3339 time."""
    match = _RFC3339.fullmatch(stamp)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    offset = timedelta(0)
    if match[8] is not None:
        offset = timedelta(hours=int(match[9]), minutes=int(match[10]))
        if match[8] == "-":
            offset = -offset
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return None
    seconds = calendar.timegm(moment.utctimetuple())
    return seconds * 1_000_000_000 + int((match[7] or "").ljust(9, "0"))
