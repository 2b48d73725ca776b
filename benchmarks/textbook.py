"""An independent textbook check of reported chart patterns (used by `bench_analysis`).

This is deliberately **not** the detector's code path: it reads the `to_dict()` output of any
engine version, recomputes everything it needs from the bars with its own arithmetic (its own
Wilder ATR, its own range scans) and holds each completed pattern to the rules written in
`docs/analysis-rules.md` (Bulkowski, *Encyclopedia of Chart Patterns*; Lo, Mamaysky & Wang 2000),
with its own copy of the thresholds, so that a detector bug or a changed detector constant shows
up here instead of being agreed with.

`textbook_failures(frame, pattern)` returns the names of the rules a completed DT/DB/HS/IHS
breaks (empty list: it passes); `duplicate_structures(patterns)` counts reported patterns that
reuse a top (DT), a bottom (DB) or a head (HS/IHS) of an earlier report of the same type.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# The textbook thresholds (docs/analysis-rules.md gives the source and reasoning of each).
ATR_BARS = 14
MAX_TOP_GAP_FRACTION = 0.03  # Bulkowski: tops within 3 % of each other ...
MAX_TOP_GAP_ATR = 1.0  # ... and within one average bar range, so 3 % means less on a 5m chart
MIN_HEIGHT_ATR = 3.0  # a valley (DT) or head (HS) at least three average bar ranges deep
TOP_GAP_BARS = (10, 60)  # DT: tops two weeks to three months apart on a daily chart
LEG_BARS = 5  # HS: each shoulder at least a week from the head
MAX_HS_WIDTH_BARS = 120
MAX_LEG_RATIO = 2.0  # HS: shoulders at similar distances from the head
MIN_HEAD_EXCESS_ATR = 1.0  # the head stands clear of both shoulders
MAX_SHOULDER_GAP_HEIGHT = 0.3  # shoulders at about the same price
MIN_SHOULDER_RISE_HEIGHT = 0.3  # each shoulder is a real rise above the neckline
MAX_NECK_TILT_HEIGHT = 0.4  # neckline drift V2 -> V3 at most 40 % of the head's height
MIN_SWING_SHARE = 0.1  # a valley sits at least a tenth of its leg away from either peak
PRIOR_MOVE_HEIGHTS = 1.0  # the trend into the pattern at least as big as the pattern
PRIOR_MIN_BARS = 10
PRIOR_LOOKBACK_WIDTHS = 2  # ... looked for within twice the pattern's width before it
CONFIRM_LEGS = 1.0  # the neckline breaks within one top-to-top leg after the last top
MIN_CONFIRM_BARS = 5


def wilder_atr(frame: pd.DataFrame) -> np.ndarray:
    """Wilder's ATR; before the first full period, the mean of the true ranges so far."""
    high = frame["high"].to_numpy(float)
    low = frame["low"].to_numpy(float)
    close = frame["close"].to_numpy(float)
    prev = np.concatenate([[close[0]], close[:-1]])
    tr = np.maximum.reduce([high - low, np.abs(high - prev), np.abs(low - prev)])
    tr[0] = high[0] - low[0]
    out = np.empty_like(tr)
    running = 0.0
    for i, value in enumerate(tr):
        if i < ATR_BARS:
            running += value
            out[i] = running / (i + 1)
        else:
            out[i] = (out[i - 1] * (ATR_BARS - 1) + value) / ATR_BARS
    return out


def _oriented(frame: pd.DataFrame, bottoms: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High, Low, Close with bottoms turned into tops (prices negated, High and Low swapped)."""
    high = frame["high"].to_numpy(float)
    low = frame["low"].to_numpy(float)
    close = frame["close"].to_numpy(float)
    if bottoms:
        return -low, -high, -close
    return high, low, close


def _point(pattern: dict, role: str, sign: float) -> tuple[int, float]:
    point = pattern["points"][role]
    return point["index"], sign * point["price"]


def textbook_failures(
    frame: pd.DataFrame, pattern: dict, atr: np.ndarray | None = None
) -> list[str]:
    """Rules the completed `pattern` (a `to_dict()` pattern over `frame`'s bars) breaks."""
    kind = pattern["type"]
    bottoms = kind in ("DB", "IHS")
    sign = -1.0 if bottoms else 1.0
    high, low, close = _oriented(frame, bottoms)
    atr = wilder_atr(frame) if atr is None else atr
    flip = {"P": "V", "V": "P"}
    role = (lambda r: flip[r[0]] + r[1:]) if bottoms else (lambda r: r)
    end = pattern["end_index"]
    failures: list[str] = []
    if kind in ("DT", "DB"):
        p1, top1 = _point(pattern, role("P1"), sign)
        v1, valley = _point(pattern, role("V1"), sign)
        p2, top2 = _point(pattern, role("P2"), sign)
        first, last = p1, p2
        leg = p2 - p1
        unit = atr[p2]
        extreme = max(top1, top2)
        height = extreme - valley
        neck = np.full(len(close), valley)
        if abs(top1 - top2) > min(MAX_TOP_GAP_FRACTION * abs(extreme), MAX_TOP_GAP_ATR * unit):
            failures.append("tops not level")
        if not TOP_GAP_BARS[0] <= leg <= TOP_GAP_BARS[1]:
            failures.append("tops too close or too far apart")
        if min(v1 - p1, p2 - v1) < MIN_SWING_SHARE * leg:
            failures.append("a top is a one-sided spike")
        if min(top1, top2) - valley < MIN_HEIGHT_ATR * unit:
            failures.append("valley too shallow")
        if not (p1 < v1 < p2 and low[v1] == valley and low[p1 + 1 : p2].min() == valley):
            failures.append("V1 not the low between the tops")
        if high[p1] != top1 or high[p2] != top2:
            failures.append("tops not on their bars' highs")
        if high[v1 : end + 1].max() > top2:
            failures.append("P2 not the high from the valley to the breakout")
        trend_from = _prior_low(low, p1, max(PRIOR_MIN_BARS, PRIOR_LOOKBACK_WIDTHS * (p2 - p1)))
        if high[trend_from : v1 + 1].max() > top1:
            failures.append("P1 not the high of the rise and the fall to the valley")
        prior = top1 - low[trend_from]
    else:
        pts = {r: _point(pattern, role(r), sign) for r in ("V1", "P1", "V2", "P2", "V3", "P3")}
        (i_v1, _), (p1, s1), (v2, n2), (p2, head), (v3, n3), (p3, s3) = (
            pts[r] for r in ("V1", "P1", "V2", "P2", "V3", "P3")
        )
        first, last = p1, p3
        leg = (p3 - p1) / 2
        unit = atr[p3]
        extreme = head
        slope = (n3 - n2) / (v3 - v2) if v3 != v2 else math.inf
        neck = n2 + (np.arange(len(close)) - v2) * slope
        height = head - neck[p2]
        if not (i_v1 < p1 < v2 < p2 < v3 < p3):
            failures.append("points out of order")
            return failures
        if head - max(s1, s3) < MIN_HEAD_EXCESS_ATR * unit:
            failures.append("head not clear of the shoulders")
        if height < MIN_HEIGHT_ATR * unit:
            failures.append("head too low above the neckline")
        if abs(s1 - s3) > MAX_SHOULDER_GAP_HEIGHT * height:
            failures.append("shoulders not level")
        if min(s1 - neck[p1], s3 - neck[p3]) < MIN_SHOULDER_RISE_HEIGHT * height:
            failures.append("shoulder too low above the neckline")
        if abs(n3 - n2) > MAX_NECK_TILT_HEIGHT * height:
            failures.append("neckline too steep")
        left, right = p2 - p1, p3 - p2
        if min(left, right) < LEG_BARS or max(left, right) > MAX_LEG_RATIO * min(left, right):
            failures.append("shoulders not time-symmetric")
        if (
            min(v2 - p1, p2 - v2) < MIN_SWING_SHARE * left
            or min(v3 - p2, p3 - v3) < MIN_SWING_SHARE * right
        ):
            failures.append("a shoulder or the head is a one-sided spike")
        if p3 - p1 > MAX_HS_WIDTH_BARS:
            failures.append("too wide")
        if (
            low[p1 + 1 : p2].min() != n2
            or low[v2] != n2
            or low[p2 + 1 : p3].min() != n3
            or low[v3] != n3
        ):
            failures.append("neckline valleys not the lows between the peaks")
        if high[p1] != s1 or high[p2] != head or high[p3] != s3:
            failures.append("peaks not on their bars' highs")
        trend_from = _prior_low(low, p1, max(PRIOR_MIN_BARS, PRIOR_LOOKBACK_WIDTHS * (p3 - p1)))
        if high[trend_from : v2 + 1].max() > s1:
            failures.append("left shoulder not the high of its stretch")
        if high[trend_from : end + 1].max() > head:
            failures.append("head not the high of the pattern")
        if high[v3 : end + 1].max() > s3:
            failures.append("right shoulder not the high from V3 to the breakout")
        prior = s1 - low[trend_from]
    if prior < PRIOR_MOVE_HEIGHTS * height:
        failures.append("no prior trend into the pattern")
    after = np.arange(last + 1, len(close))
    broken = after[close[last + 1 :] < neck[last + 1 :]]
    window = max(MIN_CONFIRM_BARS, CONFIRM_LEGS * leg)
    if broken.size == 0 or broken[0] != end:
        failures.append("completion is not the first close beyond the neckline")
    elif end - last > window:
        failures.append("neckline broken after the confirmation window")
    if close[first : end + 1].max() > extreme:
        failures.append("closed beyond the extreme before completion")
    return failures


def _prior_low(low: np.ndarray, first_top: int, lookback: int) -> int:
    """Bar of the lowest Low in the `lookback` bars before the first top (where the trend into
    the pattern starts)."""
    start = max(0, first_top - int(lookback))
    if start == first_top:
        return first_top
    return start + int(np.argmin(low[start:first_top]))


def duplicate_structures(patterns: list[dict]) -> int:
    """Reported patterns that reuse a top/bottom (DT/DB) or a head (HS/IHS) already reported."""
    seen: set[tuple[str, int]] = set()
    duplicates = 0
    for p in sorted(patterns, key=lambda p: p["detected_index"]):
        roles = {"DT": ("P1", "P2"), "DB": ("V1", "V2"), "HS": ("P2",), "IHS": ("V2",)}[p["type"]]
        keys = {(p["type"], p["points"][r]["index"]) for r in roles}
        if keys & seen:
            duplicates += 1
        seen |= keys
    return duplicates
