"""Chart patterns: double top/bottom and (inverse) head-and-shoulders, bar by bar (pure).

The rules, their sources (Bulkowski, *Encyclopedia of Chart Patterns*; Lo, Mamaysky & Wang
2000) and the reasoning behind every threshold are written out in `docs/analysis-rules.md`
("Chart patterns"); this docstring summarises them for the code. Bottoms and inverse H&S run the
top / H&S logic on mirrored prices (every price negated, High and Low swapped), so each rule
exists once. Distances are in bars, prices in KRW; "ATR" is the detector's causal ATR(14) at the
pattern's last named top, floored at 0.1 % of price.

**Named points come from the bars.** A peak reported by the swing detector (major or minor)
proposes where a top may be; the valleys, the head and the start of the trend are then read off
the bars as the true extremes of their stretches, so every named point is the highest High or
lowest Low between its neighbours.

**Double top** (P1, V1, P2), proposed when a peak P2 is confirmed: P1 is an earlier known peak,

- tops level: |P1 - P2| <= min(3 % of price, 1 ATR);
- separation: 10 <= P2 - P1 <= 60 bars;
- V1 = lowest Low strictly between the tops, at least a tenth of P2 - P1 from either top;
  depth min(P1, P2) - V1 >= 3 ATR;
- prior trend: the lowest Low of the max(10, 2 x (P2 - P1)) bars before P1 lies at least one
  pattern height (highest top - V1) below P1;
- P1 is the highest High from that trend low to V1; P2 the highest High from V1 on.

**Head and shoulders** (V1, P1, V2, P2, V3, P3), proposed when a peak P3 is confirmed: P1 is an
earlier known peak, the head P2 the highest High strictly between P1 and P3, V2 / V3 the lowest
Lows between P1-P2 / P2-P3, the neckline the line through V2 and V3 (extended by bar index),
height = head - neckline under the head, V1 the trend low before P1;

- each shoulder 5+ bars from the head, neither distance more than 2x the other, P3 - P1 <= 120;
  each valley at least a tenth of its leg from either neighbouring peak;
- head >= both shoulders + 1 ATR; height >= 3 ATR;
- shoulders level: |P1 - P3| <= 0.3 height; each shoulder >= 0.3 height above the neckline;
- neckline drift |V3 - V2| <= 0.4 height;
- prior trend as for the double top (lookback max(10, 2 x (P3 - P1)) bars, one height);
- P1 is the highest High from V1 to V2, the head the highest from V1 on, P3 the highest from V3 on.

**Life cycle.** A candidate that passes is kept (not shown) until the close has come back at
least halfway from its last top to the neckline: from that bar (`detected_index`) it is reported
**forming** (this stage replaces the original's early trigger - a retest of the first top
followed by a reversal bar - which fired before the pattern existed). It is **completed** at the
first close beyond the neckline, if that comes within the confirmation window: one top-to-top
leg (P2 - P1, or (P3 - P1) / 2), at least 5 bars, after the last top (`confirm_by_index`). It is
**invalidated** when a High goes beyond its last top (that top was not the top; a close beyond
the pattern's extreme is such a High) or when the window runs out. A candidate already broken,
surpassed or out of time when its last top is confirmed is dropped.

**One pattern per structure.** Of the candidates proposed by one confirmed top, the one with the
best quality is kept. A candidate is reported only if none of its tops (DT: P1, P2; H&S: the
head) was used by an earlier report of its type and it does not overlap (first top to end) a
forming or completed pattern of its type; first reported wins, which is causal.

**Target and outcome.** Target = neckline at the completion bar - height (measured move). From
the bars after completion only: **target** reached (first Low at or beyond it), **failed** (a
close beyond the pattern's extreme first; a bar that does both counts as target, the close being
the bar's last word), or **expired** after max(10, 2 x width) bars (width = P2 - P1 or P3 - P1);
maximum favourable / adverse excursion in % of the completion close up to that bar. An outcome
once set never changes; until then it is pending (`result` None, excursions so far).

`score` (0..1) is the geometric quality (mean of the normalised margins by which the pattern
passes its rules), until `analysis.calibration` replaces it by the estimated probability of
reaching the target; `features` holds the raw geometry and the quality.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from .detection import PEAK, Bars, Extreme

DT, DB, HS, IHS = "DT", "DB", "HS", "IHS"
FORMING, COMPLETED, INVALIDATED = "forming", "completed", "invalidated"
TARGET, FAILED, EXPIRED = "target", "failed", "expired"

# docs/analysis-rules.md gives the source and the reasoning of each constant.
TOP_TOLERANCE_FRACTION = 0.03
TOP_TOLERANCE_ATR = 1.0
MIN_HEIGHT_ATR = 3.0
MIN_TOP_SEPARATION = 10
MAX_TOP_SEPARATION = 60
HS_MIN_LEG = 5
HS_MAX_WIDTH = 120
HS_MAX_LEG_RATIO = 2.0
HS_MIN_HEAD_EXCESS_ATR = 1.0
HS_MAX_SHOULDER_GAP = 0.3
HS_MIN_SHOULDER_RISE = 0.3
HS_MAX_NECK_TILT = 0.4
VALLEY_MIN_LEG_FRACTION = 0.1
PRIOR_TREND_HEIGHTS = 1.0
PRIOR_TREND_MIN_BARS = 10
PRIOR_TREND_WIDTHS = 2.0
CONFIRM_WINDOW_LEGS = 1.0
MIN_CONFIRM_WINDOW = 5
FORMING_RETREAT = 0.5
OUTCOME_HORIZON_WIDTHS = 2.0
MIN_OUTCOME_HORIZON = 10
ATR_FLOOR_FRACTION = 0.001


@dataclass(slots=True)
class PatternOutcome:
    """What happened after completion (prices KRW, excursions % of `entry`)."""

    result: str | None  # TARGET | FAILED | EXPIRED; None while pending
    index: int | None  # bar at which the result was set
    horizon_index: int  # last bar of the horizon (may lie beyond the analysed bars)
    entry: float  # close of the completion bar
    bars_to_target: int | None
    mfe_pct: float  # maximum favourable excursion after completion, up to `index`
    mae_pct: float  # maximum adverse excursion after completion, up to `index`


@dataclass(slots=True)
class Pattern:
    """A pattern instance. Prices in KRW; indexes are bar positions in the analysed frame.

    `points`: role -> (index, price). `neckline`: ("level", price) for DT/DB, or
    ("line", (index_a, price_a), (index_b, price_b)) for HS/IHS. `extreme`: the highest top
    (lowest bottom); `confirm_by_index`: last bar on which the neckline break still counts.
    """

    type: str
    status: str
    points: dict[str, tuple[int, float]]
    start_index: int
    end_index: int
    detected_index: int
    neckline: tuple
    target: float
    score: float
    extreme: float = 0.0
    confirm_by_index: int = 0
    features: dict[str, float] = field(default_factory=dict)
    outcome: PatternOutcome | None = None
    mirrored: bool = field(default=False, repr=False)

    def neckline_at(self, j: int) -> float:
        """Neckline price at bar `j` (a constant for DT/DB)."""
        if self.neckline[0] == "level":
            return self.neckline[1]
        (ia, pa), (ib, pb) = self.neckline[1], self.neckline[2]
        return pa + (j - ia) * ((pb - pa) / (ib - ia))


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


# Range queries ("lowest Low between two bars") answered from sparse tables in O(1) instead of a
# NumPy slice per query, which cost more in call overhead than in work (README, "Performance").
# Levels up to spans of 2**RANGE_TABLE_LEVELS bars (ranges up to twice that): every range a
# rule reads is far shorter, and longer ones fall back to NumPy.
RANGE_TABLE_LEVELS = 9


def _range_table(values: np.ndarray, keeps) -> list[array]:
    """Level k holds, for each bar a, the bar of the best value in [a, a + 2**k): the one that
    `keeps(values[left], values[right])` prefers to the later one (ties: the earliest)."""
    n = len(values)
    level = np.arange(n, dtype=np.int64)
    levels = [array("q", level.tobytes())]
    span = 1
    while 2 * span <= n and len(levels) <= RANGE_TABLE_LEVELS:
        left, right = level[: n - 2 * span + 1], level[span : n - span + 1]
        level = np.where(keeps(values[left], values[right]), left, right)
        levels.append(array("q", level.tobytes()))
        span *= 2
    return levels


class _Candidate:
    """A pattern that passed its rules, followed bar by bar until it completes or ends."""

    __slots__ = (
        "scan",
        "type",
        "points",
        "keys",
        "first",
        "last",
        "last_price",
        "neck_a",
        "neck_b",
        "neck_slope",
        "height",
        "extreme",
        "confirm_by",
        "quality",
        "features",
        "pattern",
    )

    def neck(self, j: int) -> float:
        return self.neck_b + (j - self.neck_a) * self.neck_slope

    def step(self, j: int) -> bool:
        """Sees bar `j`; False when the candidate is finished (reported or dropped)."""
        s = self.scan
        if s.h[j] > self.last_price:
            self._end(INVALIDATED, j)
            return False
        close = s.c[j]
        if close < self.neck(j):
            if self.pattern is None and not s.claim(self, j):
                return False
            self._end(COMPLETED, j)
            return False
        if j >= self.confirm_by:
            self._end(INVALIDATED, j)
            return False
        if self.pattern is None and self.is_firm(j):
            s.claim(self, j)
        return True

    def is_firm(self, j: int) -> bool:
        return self.scan.c[j] <= self.last_price - FORMING_RETREAT * (
            self.last_price - self.neck(j)
        )

    def _end(self, status: str, j: int) -> None:
        if self.pattern is not None:
            self.pattern.status = status
            self.pattern.end_index = j


class _Scan:
    """One oriented pass: double tops and head-and-shoulders (bottoms/IHS when mirrored)."""

    def __init__(self, bars: Bars, extremes: list[Extreme], atr: np.ndarray, mirrored: bool):
        self.n = len(bars)
        self.h_np, self.l_np, self.c_np = bars.high, bars.low, bars.close
        self.h = bars.high.tolist()
        self.l = bars.low.tolist()
        self.c = bars.close.tolist()
        self.unit = np.maximum(atr, ATR_FLOOR_FRACTION * np.abs(bars.close)).tolist()
        # Highest High / lowest Low of the windows ending at each bar, for cheap early exits:
        # no head can stand above a right shoulder, no valley can be deep enough under a top.
        self.highest = maximum_filter1d(
            bars.high, HS_MAX_WIDTH, mode="nearest", origin=(HS_MAX_WIDTH - 1) // 2
        ).tolist()
        self.lowest = minimum_filter1d(
            bars.low, MAX_TOP_SEPARATION, mode="nearest", origin=(MAX_TOP_SEPARATION - 1) // 2
        ).tolist()
        self.lowest_at = _range_table(bars.low, np.less_equal)
        self.highest_at = _range_table(bars.high, np.greater_equal)
        self.mirrored = mirrored
        self.dt_type, self.hs_type = (DB, IHS) if mirrored else (DT, HS)
        self.events: dict[int, list[int]] = {}
        for e in extremes:
            if e.kind == PEAK:
                self.events.setdefault(e.confirmed_index, []).append(e.index)
        self.known: list[int] = []  # indexes of the peaks known so far, sorted
        self.known_set: set[int] = set()
        self.active: list[_Candidate] = []  # reported, still forming
        self.pending: list[_Candidate] = []  # not reported yet, best quality first
        self.used: set[tuple[str, int]] = set()
        self.reported: list[_Candidate] = []
        self.found: list[Pattern] = []

    def run(self) -> list[Pattern]:
        event_bars = sorted(self.events)
        pos = 0
        i = event_bars[0] if event_bars else self.n
        while i < self.n:
            if self.active:
                self.active = [d for d in self.active if d.step(i)]
            if self.pending:
                waiting = []
                for d in self.pending:
                    if d.step(i):
                        (waiting if d.pattern is None else self.active).append(d)
                self.pending = waiting
            if pos < len(event_bars) and event_bars[pos] == i:
                self._register(i, self.events[i])
                pos += 1
            if self.active or self.pending:
                i += 1
            else:
                i = event_bars[pos] if pos < len(event_bars) else self.n
        for pattern in self.found:
            if pattern.status == FORMING:
                pattern.end_index = self.n - 1
            pattern.target = _target_of(pattern)
            if pattern.status == COMPLETED:
                pattern.outcome = self._outcome(pattern)
        return self.found

    # --- candidates ---------------------------------------------------------------------------

    def _register(self, i: int, peaks: list[int]) -> None:
        new = sorted({p for p in peaks if p not in self.known_set})
        for p in new:
            self.known_set.add(p)
            bisect.insort(self.known, p)
        for p in new:
            for candidate in (self._double_top(p, i), self._head_shoulders(p, i)):
                if candidate is None:
                    continue
                if candidate.is_firm(i):
                    if self.claim(candidate, i):
                        self.active.append(candidate)
                else:
                    at = len(self.pending)
                    while at > 0 and self.pending[at - 1].quality < candidate.quality:
                        at -= 1
                    self.pending.insert(at, candidate)

    def _low_at(self, a: int, b: int) -> int:
        """Bar of the lowest Low in [a, b), b > a (ties: the earliest)."""
        k = (b - a).bit_length() - 1
        if k >= len(self.lowest_at):
            return a + int(np.argmin(self.l_np[a:b]))
        row = self.lowest_at[k]
        x, y = row[a], row[b - (1 << k)]
        return x if self.l[x] <= self.l[y] else y

    def _high_at(self, a: int, b: int) -> int:
        """Bar of the highest High in [a, b), b > a (ties: the earliest)."""
        k = (b - a).bit_length() - 1
        if k >= len(self.highest_at):
            return a + int(np.argmax(self.h_np[a:b]))
        row = self.highest_at[k]
        x, y = row[a], row[b - (1 << k)]
        return x if self.h[x] >= self.h[y] else y

    def _trend_low(self, first_top: int, width: int) -> int:
        """Bar of the lowest Low in the lookback before the first top (ties: the earliest)."""
        lookback = max(PRIOR_TREND_MIN_BARS, int(PRIOR_TREND_WIDTHS * width))
        start = max(0, first_top - lookback)
        if start == first_top:
            return first_top
        return self._low_at(start, first_top)

    def _unbroken(self, last: int, i: int, neck_a: int, neck_b: float, slope: float) -> bool:
        """No close beyond the neckline after the last top up to bar `i`."""
        if i <= last:
            return True
        closes = self.c_np[last + 1 : i + 1]
        line = neck_b + (np.arange(last + 1, i + 1) - neck_a) * slope
        return bool((closes >= line).all())

    def _double_top(self, p2: int, i: int) -> _Candidate | None:
        h, lo = self.h, self.l
        top2 = h[p2]
        unit = self.unit[p2]
        if p2 == 0 or top2 - self.lowest[p2 - 1] < MIN_HEIGHT_ATR * unit:
            return None
        tolerance = min(TOP_TOLERANCE_FRACTION * abs(top2), TOP_TOLERANCE_ATR * unit)
        first = bisect.bisect_left(self.known, p2 - MAX_TOP_SEPARATION)
        stop = bisect.bisect_right(self.known, p2 - MIN_TOP_SEPARATION)
        best = None
        for p1 in self.known[first:stop]:
            top1 = h[p1]
            if abs(top1 - top2) > tolerance or (self.dt_type, p1) in self.used:
                continue
            v1 = self._low_at(p1 + 1, p2)
            if min(v1 - p1, p2 - v1) < VALLEY_MIN_LEG_FRACTION * (p2 - p1):
                continue
            valley = lo[v1]
            depth = min(top1, top2) - valley
            if depth < MIN_HEIGHT_ATR * unit:
                continue
            if h[self._high_at(v1, i + 1)] > top2:
                continue
            height = max(top1, top2) - valley
            width = p2 - p1
            start = self._trend_low(p1, width)
            prior = top1 - lo[start]
            if prior < PRIOR_TREND_HEIGHTS * height or h[self._high_at(start, v1 + 1)] > top1:
                continue
            confirm_by = p2 + max(MIN_CONFIRM_WINDOW, int(CONFIRM_WINDOW_LEGS * width))
            if i >= confirm_by or not self._unbroken(p2, i, v1, valley, 0.0):
                continue
            level = 1 - abs(top1 - top2) / tolerance if tolerance > 0 else 1.0
            symmetry = 1 - abs((v1 - p1) - (p2 - v1)) / width
            quality = (
                _clamp(level)
                + min(1.0, depth / (2 * MIN_HEIGHT_ATR * unit))
                + min(1.0, prior / (2 * PRIOR_TREND_HEIGHTS * height))
                + _clamp(symmetry)
            ) / 4
            if best is not None and quality <= best.quality:
                continue
            d = best = _Candidate()
            d.scan, d.type = self, self.dt_type
            d.points = {"P1": (p1, top1), "V1": (v1, valley), "P2": (p2, top2)}
            d.keys = ((d.type, p1), (d.type, p2))
            d.first, d.last, d.last_price = p1, p2, top2
            d.neck_a, d.neck_b, d.neck_slope = v1, valley, 0.0
            d.height, d.extreme, d.confirm_by = height, max(top1, top2), confirm_by
            d.quality = round(quality, 6)
            d.features = {
                "height_atr": height / unit,
                "height_pct": 100 * height / abs(d.extreme),
                "width_bars": float(width),
                "level_gap": abs(top1 - top2) / height,
                "time_symmetry": _clamp(symmetry),
                "prior_heights": prior / height,
                "neck_tilt": 0.0,
            }
            d.pattern = None
        return best

    def _head_shoulders(self, p3: int, i: int) -> _Candidate | None:
        h, lo = self.h, self.l
        s3 = h[p3]
        unit = self.unit[p3]
        if p3 == 0 or self.highest[p3 - 1] - s3 < HS_MIN_HEAD_EXCESS_ATR * unit:
            return None
        first = bisect.bisect_left(self.known, p3 - HS_MAX_WIDTH)
        stop = bisect.bisect_right(self.known, p3 - 2 * HS_MIN_LEG)
        if first >= stop:
            return None
        best = None
        highest_at, used, hs_type = self.highest_at, self.used, self.hs_type
        excess = HS_MIN_HEAD_EXCESS_ATR * unit
        for p1 in self.known[first:stop]:
            # The head: the highest High strictly between p1 and p3 (ties: the earliest bar),
            # from the range table inline (the hot loop of the pattern scan).
            k = (p3 - p1 - 1).bit_length() - 1
            if k < len(highest_at):
                row = highest_at[k]
                x, y = row[p1 + 1], row[p3 - (1 << k)]
                head_at = x if h[x] >= h[y] else y
            else:
                head_at = self._high_at(p1 + 1, p3)
            left, right = head_at - p1, p3 - head_at
            short, long = (left, right) if left <= right else (right, left)
            if (
                short < HS_MIN_LEG
                or long > HS_MAX_LEG_RATIO * short
                or h[head_at] - max(h[p1], s3) < excess
                or (hs_type, head_at) in used
            ):
                continue
            head = h[head_at]
            s1 = h[p1]
            v2 = self._low_at(p1 + 1, head_at)
            v3 = self._low_at(head_at + 1, p3)
            if (
                min(v2 - p1, head_at - v2) < VALLEY_MIN_LEG_FRACTION * left
                or min(v3 - head_at, p3 - v3) < VALLEY_MIN_LEG_FRACTION * right
            ):
                continue
            n2, n3 = lo[v2], lo[v3]
            slope = (n3 - n2) / (v3 - v2)
            height = head - (n2 + (head_at - v2) * slope)
            if height < MIN_HEIGHT_ATR * unit:
                continue
            if abs(s1 - s3) > HS_MAX_SHOULDER_GAP * height or abs(n3 - n2) > (
                HS_MAX_NECK_TILT * height
            ):
                continue
            rise = min(s1 - (n2 + (p1 - v2) * slope), s3 - (n2 + (p3 - v2) * slope))
            if rise < HS_MIN_SHOULDER_RISE * height:
                continue
            if h[self._high_at(v3, i + 1)] > s3:
                continue
            width = p3 - p1
            start = self._trend_low(p1, width)
            prior = s1 - lo[start]
            if prior < PRIOR_TREND_HEIGHTS * height or h[self._high_at(start, v2 + 1)] > s1:
                continue
            if h[self._high_at(start, i + 1)] > head:
                continue
            confirm_by = p3 + max(MIN_CONFIRM_WINDOW, int(CONFIRM_WINDOW_LEGS * width / 2))
            if i >= confirm_by or not self._unbroken(p3, i, v2, n2, slope):
                continue
            time_symmetry = min(left, right) / max(left, right)
            level = 1 - abs(s1 - s3) / (HS_MAX_SHOULDER_GAP * height)
            flat = 1 - abs(n3 - n2) / (HS_MAX_NECK_TILT * height)
            quality = (
                _clamp(level)
                + time_symmetry
                + _clamp(flat)
                + min(1.0, (head - max(s1, s3)) / (0.5 * height))
                + min(1.0, prior / (2 * PRIOR_TREND_HEIGHTS * height))
            ) / 5
            if best is not None and quality <= best.quality:
                continue
            d = best = _Candidate()
            d.scan, d.type = self, self.hs_type
            d.points = {
                "V1": (start, lo[start]),
                "P1": (p1, s1),
                "V2": (v2, n2),
                "P2": (head_at, head),
                "V3": (v3, n3),
                "P3": (p3, s3),
            }
            d.keys = ((d.type, head_at),)
            d.first, d.last, d.last_price = p1, p3, s3
            d.neck_a, d.neck_b, d.neck_slope = v2, n2, slope
            d.height, d.extreme, d.confirm_by = height, head, confirm_by
            d.quality = round(quality, 6)
            d.features = {
                "height_atr": height / unit,
                "height_pct": 100 * height / abs(head),
                "width_bars": float(width),
                "level_gap": abs(s1 - s3) / height,
                "time_symmetry": time_symmetry,
                "prior_heights": prior / height,
                "neck_tilt": (n3 - n2) / height,
            }
            d.pattern = None
        return best

    # --- reporting ----------------------------------------------------------------------------

    def claim(self, d: _Candidate, j: int) -> bool:
        """Reports `d` as forming at bar `j` unless its structure is taken (module docstring)."""
        if any(key in self.used for key in d.keys):
            return False
        for other in reversed(self.reported):
            if other.type != d.type or other.pattern.status == INVALIDATED:
                continue
            other_end = self.n if other.pattern.status == FORMING else other.pattern.end_index
            if other.first <= d.last and d.first <= other_end:
                return False
        self.used.update(d.keys)
        self.reported.append(d)
        first_point = min(index for index, _ in d.points.values())
        if d.type in (DT, DB):
            neckline = ("level", d.neck_b)
        else:
            (ia, pa), (ib, pb) = d.points["V2"], d.points["V3"]
            neckline = ("line", (ia, pa), (ib, pb))
        d.pattern = Pattern(
            type=d.type,
            status=FORMING,
            points=d.points,
            start_index=first_point,
            end_index=j,
            detected_index=j,
            neckline=neckline,
            target=0.0,
            score=d.quality,
            extreme=d.extreme,
            confirm_by_index=d.confirm_by,
            features={**{k: round(v, 6) for k, v in d.features.items()}, "quality": d.quality},
            mirrored=self.mirrored,
        )
        self.found.append(d.pattern)
        return True

    def _outcome(self, pattern: Pattern) -> PatternOutcome:
        """Target / failed / expired from the bars after the completion bar (oriented prices)."""
        b = pattern.end_index
        tops = [index for role, (index, _) in pattern.points.items() if role[0] == "P"]
        width = max(tops) - min(tops)
        horizon = b + max(MIN_OUTCOME_HORIZON, int(OUTCOME_HORIZON_WIDTHS * width))
        stop = min(self.n - 1, horizon)
        entry = self.c[b]
        lows = self.l_np[b + 1 : stop + 1]
        hits = np.flatnonzero(lows <= pattern.target)
        fails = np.flatnonzero(self.c_np[b + 1 : stop + 1] > pattern.extreme)
        result, index, to_target = None, None, None
        if hits.size and (not fails.size or hits[0] <= fails[0]):
            result, index = TARGET, b + 1 + int(hits[0])
            to_target = index - b
        elif fails.size:
            result, index = FAILED, b + 1 + int(fails[0])
        elif horizon <= self.n - 1:
            result, index = EXPIRED, horizon
        upto = self.n - 1 if index is None else index
        scale = abs(entry) if entry else 1.0
        if upto > b:
            favourable = max(0.0, entry - float(self.l_np[b + 1 : upto + 1].min()))
            adverse = max(0.0, float(self.h_np[b + 1 : upto + 1].max()) - entry)
        else:
            favourable = adverse = 0.0
        return PatternOutcome(
            result=result,
            index=index,
            horizon_index=horizon,
            entry=entry,
            bars_to_target=to_target,
            mfe_pct=round(100 * favourable / scale, 4),
            mae_pct=round(100 * adverse / scale, 4),
        )


def _unmirror(pattern: Pattern) -> Pattern:
    def flip(role: str) -> str:
        return ("V" if role[0] == "P" else "P") + role[1:]

    pattern.points = {flip(r): (idx, -price) for r, (idx, price) in pattern.points.items()}
    if pattern.neckline[0] == "level":
        pattern.neckline = ("level", -pattern.neckline[1])
    else:
        (ia, pa), (ib, pb) = pattern.neckline[1], pattern.neckline[2]
        pattern.neckline = ("line", (ia, -pa), (ib, -pb))
    pattern.target = -pattern.target
    pattern.extreme = -pattern.extreme
    if pattern.outcome is not None:
        pattern.outcome.entry = -pattern.outcome.entry
    return pattern


def detect_patterns(bars: Bars, extremes: list[Extreme], atr: np.ndarray) -> list[Pattern]:
    """DT, DB, HS and IHS instances, ordered by (detected_index, type, start_index)."""
    if len(bars) < 3:
        return []
    tops = _Scan(bars, extremes, atr, mirrored=False).run()
    bottoms = _Scan(bars.mirrored(), [e.mirrored() for e in extremes], atr, mirrored=True).run()
    out = tops + [_unmirror(p) for p in bottoms]
    out.sort(key=lambda p: (p.detected_index, p.type, p.start_index))
    return out


def _target_of(pattern: Pattern) -> float:
    """Measured move from the neckline at the pattern's end bar (oriented prices)."""
    if pattern.neckline[0] == "level":
        height = pattern.extreme - pattern.neckline[1]
        return pattern.neckline[1] - height
    head_index, head = pattern.points["P2"]
    return pattern.neckline_at(pattern.end_index) - (head - pattern.neckline_at(head_index))
