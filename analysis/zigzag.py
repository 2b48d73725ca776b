"""The zigzag: a strictly alternating peak/valley polyline built from the major swings (pure).

Fixes the original's crash (docs/analysis-rules.md#zigzag): a same-kind gap between two majors
is filled with the best minor point strictly between them (lowest Low between two peaks,
highest High between two valleys) or, when there is none, with the most extreme bar strictly
between; two same-kind majors on adjacent bars keep only the more extreme one. It never raises.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from .detection import MAJOR, MINOR, PEAK, VALLEY, Bars, Extreme

FILL = "fill"  # level of a zigzag point taken from the bars themselves


@dataclass(frozen=True, slots=True)
class ZigzagPoint:
    kind: str  # PEAK | VALLEY
    level: str  # MAJOR | MINOR | FILL
    index: int
    price: float


def _more_extreme(a: ZigzagPoint, b: ZigzagPoint) -> ZigzagPoint:
    if a.kind == PEAK:
        return b if b.price > a.price else a
    return b if b.price < a.price else a


def _fill(
    left: ZigzagPoint,
    right: ZigzagPoint,
    minors: dict[str, tuple[list[int], list[float]]],
    bars: Bars,
) -> ZigzagPoint | None:
    """Opposite-kind point strictly between two same-kind majors, or None if no bar between.
    `minors`: per kind, the minor points' bars (sorted) and prices."""
    want = VALLEY if left.kind == PEAK else PEAK
    indexes, prices = minors[want]
    first, stop = bisect_right(indexes, left.index), bisect_left(indexes, right.index)
    if first < stop:
        between = range(first, stop)
        if want == VALLEY:
            best = min(between, key=lambda k: (prices[k], indexes[k]))
        else:
            best = min(between, key=lambda k: (-prices[k], indexes[k]))
        return ZigzagPoint(want, MINOR, indexes[best], prices[best])
    if right.index - left.index < 2:
        return None
    lo, hi = left.index + 1, right.index
    if want == VALLEY:
        offset = int(np.argmin(bars.low[lo:hi]))
        return ZigzagPoint(want, FILL, lo + offset, float(bars.low[lo + offset]))
    offset = int(np.argmax(bars.high[lo:hi]))
    return ZigzagPoint(want, FILL, lo + offset, float(bars.high[lo + offset]))


def build_zigzag(extremes: list[Extreme], bars: Bars) -> list[ZigzagPoint]:
    """Alternating points (by bar index) from the majors, gaps filled as described above."""
    majors = sorted(
        {(e.index, e.kind): e for e in extremes if e.level == MAJOR}.values(),
        key=lambda e: (e.index, e.kind),
    )
    minors = {}
    for kind in (PEAK, VALLEY):
        points = sorted((e.index, e.price) for e in extremes if e.level == MINOR and e.kind == kind)
        minors[kind] = ([i for i, _ in points], [price for _, price in points])
    out: list[ZigzagPoint] = []
    for major in majors:
        point = ZigzagPoint(major.kind, MAJOR, major.index, major.price)
        if not out:
            out.append(point)
            continue
        last = out[-1]
        if point.index == last.index:
            # A bar that is both a peak and a valley (an outside bar): keep the earlier kind.
            continue
        if point.kind != last.kind:
            out.append(point)
            continue
        filler = _fill(last, point, minors, bars)
        if filler is None:
            out[-1] = _more_extreme(last, point)
        else:
            out.append(filler)
            out.append(point)
    return out
