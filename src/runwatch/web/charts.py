"""Charts as SVG drawn on the server: no chart library, nothing fetched, works air-gapped.

Colours come from the stylesheet through class names (`bar critical`), so the chart and the
priority badges always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from runwatch.priority import Priority
from runwatch.web.views import axis_label, priority_class


@dataclass(frozen=True, slots=True)
class ChartSize:
    width: int = 960
    height: int = 200
    left: int = 40
    bottom: int = 22
    top: int = 8


def stacked_bars(buckets: list[dict[Priority, int]], start_ns: int, bucket_ns: int,
                 size: ChartSize = ChartSize()) -> str:
    """Alerts per interval, stacked by priority (most severe on top), with a y axis and time labels."""
    peak = max((sum(b.values()) for b in buckets), default=0)
    scale_max = _nice_ceiling(peak)
    plot_w = size.width - size.left - 8
    plot_h = size.height - size.bottom - size.top
    slot_w = plot_w / max(1, len(buckets))
    parts = [f'<svg class="chart" viewBox="0 0 {size.width} {size.height}" role="img" '
             f'aria-label="Alerts over time by priority" preserveAspectRatio="none">']
    for step in range(5):
        value = scale_max * step / 4
        y = size.top + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{size.left}" x2="{size.width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{size.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{value:g}</text>')
    for index, counts in enumerate(buckets):
        x = size.left + index * slot_w
        y = size.top + plot_h
        for priority in sorted(counts, reverse=True):  # least severe at the bottom
            height = plot_h * counts[priority] / scale_max if scale_max else 0
            y -= height
            parts.append(f'<rect class="bar {priority_class(priority)}" x="{x + 1:.1f}" y="{y:.1f}" '
                         f'width="{max(1.0, slot_w - 2):.1f}" height="{height:.1f}">'
                         f'<title>{escape(axis_label(start_ns + index * bucket_ns, bucket_ns))}: '
                         f'{counts[priority]} {priority.label}</title></rect>')
    every = max(1, len(buckets) // 6)
    for index in range(0, len(buckets), every):
        x = size.left + index * slot_w
        parts.append(f'<text class="axis" x="{x:.1f}" y="{size.height - 6}">'
                     f'{escape(axis_label(start_ns + index * bucket_ns, bucket_ns))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_ceiling(value: int) -> int:
    """The axis maximum: 4, 8, 20, 40, 100, ... just above the peak (never 0)."""
    if value <= 4:
        return 4
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for factor in (1, 2, 4, 5, 8, 10):
        if magnitude * factor >= value:
            return magnitude * factor
    return magnitude * 10
