"""Chart patterns: double top/bottom and (inverse) head-and-shoulders, bar by bar (pure).

Rules: docs/analysis-rules.md#chart-patterns (bar counts instead of wall-clock time).
Bottoms and inverse H&S are found by running the top / H&S logic on mirrored prices (every
price negated, peaks and valleys swapped), so each rule exists once; the one asymmetry of the
original (a wick-only retest of a double top needs a rising close, a double bottom accepts any
wick) is kept.

Everything is causal. At bar `i`, first every active detector sees bar `i`, then the swing
points confirmed at `i` are registered and may start new detectors (first updated at `i + 1`).

**Double top (DT)**, triggered by a peak P1 confirmed at bar `c` (any level):

1. bar `c` must be bearish and a valley must exist before P1 ("straight valley"), else no detector;
2. band: high = P1's High; low = High - BAND_TOLERANCE x (High - lowest Low of [P1..c]), floored at
   min(Low of P1, Low of c); stage *reentry* if P1's own bar is bearish, else *pullback*;
3. every bar first checks the reset: close above the band high or below the straight valley
   ends the detector;
4. pullback -> reentry on a bearish bar closing below bar `c`'s close;
5. reentry: the band low widens with the lowest Low since P1 (never narrows); a bar whose body
   top reaches the band low (or, wick only, with a close above the previous close on a bullish
   or doji bar) is the second top P2 (at least 2 bars after P1; the band high rises to its High
   if higher). The pattern is now reported as **forming** with points P1, V1 (lowest Low strictly
   between the tops), P2, and `detected_index` = P2's bar;
6. completion: close below the previous close (previous bar bearish) or below the previous open
   (otherwise) -> **completed**; a reset after step 5 -> **invalidated**.

Neckline: the level of V1. Target: V1 - (highest top - V1).
Score (0..1): 0.4 x price symmetry (1 - |P1-P2| / height) + 0.4 x min(1, height / (4 ATR)) +
0.2 x (1 if P1 is a major swing else 0.5).

**Head and shoulders (HS)**, searched whenever a peak is confirmed: the known points (majors and
minors) are made alternating (same-kind neighbours keep the more extreme one), then from the
newest peak backwards V1 P1 V2 P2 V3 P3 are picked, skipping at most 2 same-kind pairs; the
first 15 valid combinations are kept. Valid means all of:

- geometry: P2 > P1, P2 > P3, V2 > V1;
- not already invalidated: no close after V3 (up to the search bar) above max(P1, P3);
- balance: P1 >= (P3+V3)/2 and P3 >= (P1+V2)/2;
- time symmetry in bars: P1->P2 and P2->P3 both > 0 and neither > 2.5 x the other;
- head prominence (P2 - max(P1,P3)) / (P2 - min(V1,V2,V3)) >= 0.20.

Score = 0.45 head prominence + 0.20 time symmetry + 0.15 balance + 0.10 share of majors among
the 6 points + 0.05 recency (V3 bar / search bar) + 0.05 compactness (1 / (1 + span / 50 bars))
- slope penalty (min(0.5, 20 x |neckline slope per bar| / |V2|)) + 0.10 if P3 < P1 (HS only),
clamped to [0, 1]. Per anchor (V3) the best candidate wins; an anchor that already completed is
never re-detected, and only one active detector may start at a given P1. The detector (reported
as **forming** from the search bar) completes when a close reaches the neckline through V2 and
V3 (extended by bar index) and is invalidated by a close above max(P1, P3), or when it has not
completed within max(5, P1->P3 bars) bars after P3 (a time-out the original lacked).
Target: neckline at the end bar - (P2 - neckline under P2).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

import numpy as np

from .detection import MAJOR, PEAK, Bars, Extreme

DT, DB, HS, IHS = "DT", "DB", "HS", "IHS"
FORMING, COMPLETED, INVALIDATED = "forming", "completed", "invalidated"

BAND_TOLERANCE = 0.05
MIN_BARS_BETWEEN_TOPS = 2
DT_DEPTH_ATR_FULL_SCORE = 4.0

HS_MIN_POINTS = 6
HS_MAX_PAIR_SKIPS = 2
HS_MAX_CANDIDATES = 15
HS_MAX_TIME_RATIO = 2.5
HS_MIN_HEAD_PROMINENCE = 0.20
HS_COMPACT_SCALE_BARS = 50.0
HS_SEARCH_TAIL = 24
# A head-and-shoulders that has not broken its neckline within as many bars after the right
# shoulder as the pattern took from shoulder to shoulder is stale: it is invalidated (the
# original had no time-out, so setups stayed "forming" for years while the extended neckline
# ran off to absurd, even negative, prices).
HS_COMPLETION_WINDOW_FACTOR = 1.0
HS_MIN_COMPLETION_WINDOW = 5
# P3 plus 5 earlier roles plus up to 2 skipped pairs need 10 positions; one spare for a trailing
# valley and one for the oldest run, which the tail may cut short.
HS_MIN_SEQUENCE = 13

_PULLBACK, _REENTRY, _CONFIRM = 0, 1, 2


@dataclass(slots=True)
class Pattern:
    """A pattern instance. Prices in KRW; indexes are bar positions in the analysed frame.

    `points`: role -> (index, price). `neckline`: ("level", price) for DT/DB, or
    ("line", (index_a, price_a), (index_b, price_b)) for HS/IHS.
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
    mirrored: bool = field(default=False, repr=False)

    def neckline_at(self, j: int) -> float:
        """Neckline price at bar `j` (a constant for DT/DB)."""
        if self.neckline[0] == "level":
            return self.neckline[1]
        (ia, pa), (ib, pb) = self.neckline[1], self.neckline[2]
        return pa + (j - ia) * ((pb - pa) / (ib - ia))


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


class _Scan:
    """One oriented pass: double tops and head-and-shoulders (bottoms/IHS when mirrored)."""

    def __init__(self, bars: Bars, extremes: list[Extreme], atr: np.ndarray, mirrored: bool):
        self.n = len(bars)
        self.o = bars.open.tolist()
        self.h = bars.high.tolist()
        self.l = bars.low.tolist()
        self.c = bars.close.tolist()
        self.atr = atr.tolist()
        self.mirrored = mirrored
        self.dt_type, self.hs_type = (DB, IHS) if mirrored else (DT, HS)
        self.events: dict[int, list[Extreme]] = {}
        for e in extremes:
            self.events.setdefault(e.confirmed_index, []).append(e)
        self.valleys: list[tuple[int, float]] = []  # known valleys (index, price), by index
        self.keys: list[tuple[int, int]] = []  # known points (index, +1 peak / -1 valley)
        self.points: dict[tuple[int, int], list] = {}  # key -> [index, kind, price, major]
        self.ordered: list[list] = []  # the same points, in `keys` order
        self.active_dt: list[_DoubleTop] = []
        self.active_hs: list[_HeadShoulders] = []
        self.completed_anchors: set[int] = set()
        self.found: list[Pattern] = []

    def run(self) -> list[Pattern]:
        event_bars = sorted(self.events)
        pos = 0
        i = event_bars[0] if event_bars else self.n
        while i < self.n:
            if self.active_dt:
                self.active_dt = [d for d in self.active_dt if d.update(i)]
            if self.active_hs:
                self.active_hs = [d for d in self.active_hs if d.update(i)]
            if pos < len(event_bars) and event_bars[pos] == i:
                self._register(i, self.events[event_bars[pos]])
                pos += 1
            if self.active_dt or self.active_hs:
                i += 1
            else:
                i = event_bars[pos] if pos < len(event_bars) else self.n
        for pattern in self.found:
            if pattern.status == FORMING:
                pattern.end_index = self.n - 1
        return self.found

    def _register(self, i: int, new: list[Extreme]) -> None:
        for e in new:
            kind = 1 if e.kind == PEAK else -1
            key = (e.index, kind)
            if key in self.points:
                if e.level == MAJOR:
                    self.points[key][3] = True
                continue
            point = self.points[key] = [e.index, kind, e.price, e.level == MAJOR]
            at = bisect.bisect_right(self.keys, key)
            self.keys.insert(at, key)
            self.ordered.insert(at, point)
            if kind == -1:
                bisect.insort(self.valleys, (e.index, e.price))
        peaks = [e for e in new if e.kind == PEAK]
        if not peaks:
            return
        self._search_hs(i)
        trigger = max(peaks, key=lambda e: (e.index, e.level == MAJOR))
        if any(d.p1 == trigger.index for d in self.active_dt):
            return
        detector = _DoubleTop.create(self, trigger, i)
        if detector is not None:
            self.active_dt.append(detector)

    # --- head and shoulders -------------------------------------------------------------------

    def _alternating_tail(self) -> list[list]:
        size = HS_SEARCH_TAIL
        while True:
            tail = self.ordered[-size:]
            seq: list[list] = []
            for point in reversed(tail):
                if seq and seq[-1][1] == point[1]:
                    last = seq[-1]
                    if (point[1] == 1 and point[2] > last[2]) or (
                        point[1] == -1 and point[2] < last[2]
                    ):
                        seq[-1] = point
                    continue
                seq.append(point)
            complete = len(tail) == len(self.keys)
            if complete or len(seq) >= HS_MIN_SEQUENCE:
                break
            size *= 2
        if not complete:
            seq.pop()  # the oldest run may be cut short by the tail boundary
        seq.reverse()
        return seq

    def _search_hs(self, i: int) -> None:
        if len(self.keys) < HS_MIN_POINTS:
            return
        seq = self._alternating_tail()
        last_peak = len(seq) - 1 if seq[-1][1] == 1 else len(seq) - 2
        if last_peak < HS_MIN_POINTS - 1:
            return
        valid: list[tuple[float, list[list]]] = []
        closes_after: dict[int, float] = {}  # V3 index -> highest close after it up to i
        c = self.c
        pt3 = seq[last_peak]
        ip3, p3 = pt3[0], pt3[2]
        for s1, s2, s3, s4, s5 in _SKIPS:
            a = last_peak - 1 - 2 * s1
            b = a - 1 - 2 * s2
            d = b - 2 - 2 * s3 - 2 * s4
            e = d - 1 - 2 * s5
            if e < 0:
                continue
            pt2, pt1 = seq[b], seq[d]
            p2, p1 = pt2[2], pt1[2]
            if not (p2 > p3 and p2 > p1):  # rule 1: the head is the highest peak
                continue
            pv1, pv2, pv3 = seq[e], seq[b - 1 - 2 * s3], seq[a]
            v1, v2, v3 = pv1[2], pv2[2], pv3[2]
            if not v2 > v1:  # rule 1: rising context
                continue
            if p1 < (p3 + v3) / 2 or p3 < (p1 + v2) / 2:  # rule 3: balance
                continue
            span_left, span_right = pt2[0] - pt1[0], ip3 - pt2[0]
            if span_left <= 0 or span_right <= 0:  # rule 4: time symmetry in bars
                continue
            if span_left > HS_MAX_TIME_RATIO * span_right or (
                span_right > HS_MAX_TIME_RATIO * span_left
            ):
                continue
            height = p2 - min(v1, v2, v3)
            if height <= 0 or (p2 - max(p1, p3)) / height < HS_MIN_HEAD_PROMINENCE:  # rule 5
                continue
            iv3 = pv3[0]
            if iv3 < i:  # rule 2: not invalidated already
                highest = closes_after.get(iv3)
                if highest is None:
                    highest = closes_after[iv3] = max(c[iv3 + 1 : i + 1])
                if highest > max(p1, p3):
                    continue
            combo = [pv1, pt1, pv2, pt2, pv3, pt3]
            valid.append((self._score_hs(combo, i), combo))
            if len(valid) >= HS_MAX_CANDIDATES:
                break
        winners: dict[int, tuple[float, list[list]]] = {}
        for score, combo in valid:
            anchor = combo[4][0]
            if anchor not in winners or score > winners[anchor][0]:
                winners[anchor] = (score, combo)
        for anchor in sorted(winners):
            score, combo = winners[anchor]
            if anchor in self.completed_anchors:
                continue
            if any(d.p1 == combo[1][0] for d in self.active_hs):
                continue
            self.active_hs.append(_HeadShoulders(self, combo, score, i))

    def _score_hs(self, combo: list[list], i: int) -> float:
        """The weighted score in [0, 1] of a valid [V1, P1, V2, P2, V3, P3] (module docstring)."""
        v1, p1, v2, p2, v3, p3 = (pt[2] for pt in combo)
        i_v1, i_p1, i_v2, i_p2, i_v3, i_p3 = (pt[0] for pt in combo)
        span_left, span_right = i_p2 - i_p1, i_p3 - i_p2
        ratio = max(span_left / span_right, span_right / span_left)
        prominence = (p2 - max(p1, p3)) / (p2 - min(v1, v2, v3))
        left_mid, right_mid = (p1 + v2) / 2, (p3 + v3) / 2
        balance = 1 / (1 + abs(left_mid - right_mid) / max(abs(left_mid), abs(right_mid), 1))
        majors = sum(1 for pt in combo if pt[3]) / 6
        recency = i_v3 / i if i > 0 else 1.0
        compact = 1 / (1 + (i_p3 - i_v1) / HS_COMPACT_SCALE_BARS)
        slope = (v3 - v2) / (i_v3 - i_v2)
        penalty = min(0.5, 20 * abs(slope) / max(abs(v2), 1))
        bonus = 0.10 if (not self.mirrored and p3 < p1) else 0.0
        score = (
            0.45 * prominence
            + 0.20 * (1 / ratio)
            + 0.15 * balance
            + 0.10 * majors
            + 0.05 * recency
            + 0.05 * compact
            - penalty
            + bonus
        )
        return round(_clamp(score), 6)


# Pair skips (s1..s5) for the picks V3, P2, V2, P1, V1 going back from P3, in depth-first
# order (fewest skips first at each step), at most HS_MAX_PAIR_SKIPS in all.
_SKIPS = [
    skips
    for skips in itertools.product(range(HS_MAX_PAIR_SKIPS + 1), repeat=5)
    if sum(skips) <= HS_MAX_PAIR_SKIPS
]


class _DoubleTop:
    __slots__ = (
        "scan",
        "p1",
        "p1_price",
        "p1_major",
        "confirm_close",
        "straight",
        "band_low",
        "band_high",
        "floor",
        "lowest",
        "stage",
        "pattern",
    )

    @classmethod
    def create(cls, scan: _Scan, peak: Extreme, c: int) -> _DoubleTop | None:
        if not scan.c[c] < scan.o[c]:
            return None
        at = bisect.bisect_left(scan.valleys, (peak.index, -np.inf))
        if at == 0:
            return None
        self = cls()
        self.scan = scan
        self.p1, self.p1_price, self.p1_major = peak.index, peak.price, peak.level == MAJOR
        self.confirm_close = scan.c[c]
        self.straight = scan.valleys[at - 1][1]
        self.lowest = min(scan.l[peak.index : c + 1])
        self.floor = min(scan.l[peak.index], scan.l[c])
        self.band_high = peak.price
        self.band_low = self._band_low(self.lowest)
        is_bearish = scan.c[peak.index] < scan.o[peak.index]
        self.stage = _REENTRY if is_bearish else _PULLBACK
        self.pattern = None
        return self

    def _band_low(self, lowest: float) -> float:
        return max(self.p1_price - BAND_TOLERANCE * (self.p1_price - lowest), self.floor)

    def update(self, j: int) -> bool:
        """Sees bar `j`; False when the detector is finished."""
        s = self.scan
        close = s.c[j]
        if close > self.band_high or close < self.straight:
            if self.pattern is not None:
                self.pattern.status = INVALIDATED
                self.pattern.end_index = j
            return False
        if s.l[j] < self.lowest:
            self.lowest = s.l[j]
        if self.stage == _PULLBACK:
            if close < s.o[j] and close < self.confirm_close:
                self.stage = _REENTRY
        elif self.stage == _REENTRY:
            self.band_low = min(self.band_low, self._band_low(self.lowest))
            body_top = max(s.o[j], close)
            touched = body_top >= self.band_low or (
                s.h[j] >= self.band_low and close > s.c[j - 1] and close >= s.o[j]
            )
            if self.scan.mirrored and not touched:
                # Bottoms accept any wick (docs/analysis-rules.md#double-top-and-double-bottom).
                touched = s.h[j] >= self.band_low
            if touched and j - self.p1 >= MIN_BARS_BETWEEN_TOPS:
                self.band_high = max(self.band_high, s.h[j])
                self._report(j)
                self.stage = _CONFIRM
        else:
            prev_bearish = s.c[j - 1] < s.o[j - 1]
            if (prev_bearish and close < s.c[j - 1]) or (not prev_bearish and close < s.o[j - 1]):
                self.pattern.status = COMPLETED
                self.pattern.end_index = j
                return False
        return True

    def _report(self, j: int) -> None:
        s = self.scan
        between = s.l[self.p1 + 1 : j]
        trough = min(between)
        trough_index = self.p1 + 1 + between.index(trough)
        top = max(self.p1_price, s.h[j])
        height = top - trough
        symmetry = 1 - abs(self.p1_price - s.h[j]) / height if height > 0 else 0.0
        unit = s.atr[j]
        depth = min(1.0, height / (DT_DEPTH_ATR_FULL_SCORE * unit)) if unit > 0 else 0.0
        score = 0.4 * _clamp(symmetry) + 0.4 * depth + 0.2 * (1.0 if self.p1_major else 0.5)
        self.pattern = Pattern(
            type=s.dt_type,
            status=FORMING,
            points={
                "P1": (self.p1, self.p1_price),
                "V1": (trough_index, trough),
                "P2": (j, s.h[j]),
            },
            start_index=self.p1,
            end_index=j,
            detected_index=j,
            neckline=("level", trough),
            target=trough - height,
            score=round(_clamp(score), 6),
            mirrored=s.mirrored,
        )
        s.found.append(self.pattern)


class _HeadShoulders:
    __slots__ = ("scan", "p1", "invalid_above", "pattern", "created", "anchor", "neck", "expires")

    def __init__(self, scan: _Scan, combo: list[list], score: float, i: int):
        self.scan = scan
        self.created = i
        roles = ("V1", "P1", "V2", "P2", "V3", "P3")
        points = {role: (pt[0], pt[2]) for role, pt in zip(roles, combo, strict=True)}
        self.p1 = points["P1"][0]
        self.anchor = points["V3"][0]
        self.invalid_above = max(points["P1"][1], points["P3"][1])
        p3 = points["P3"][0]
        window = max(HS_MIN_COMPLETION_WINDOW, HS_COMPLETION_WINDOW_FACTOR * (p3 - self.p1))
        self.expires = p3 + window
        self.pattern = Pattern(
            type=scan.hs_type,
            status=FORMING,
            points=points,
            start_index=points["V1"][0],
            end_index=i,
            detected_index=i,
            neckline=("line", points["V2"], points["V3"]),
            target=0.0,
            score=score,
            mirrored=scan.mirrored,
        )
        scan.found.append(self.pattern)
        (ia, pa), (ib, pb) = points["V2"], points["V3"]
        self.neck = (ia, pa, (pb - pa) / (ib - ia))  # same arithmetic as Pattern.neckline_at

    def update(self, j: int) -> bool:
        close = self.scan.c[j]
        if close > self.invalid_above:
            self.pattern.status = INVALIDATED
            self.pattern.end_index = j
            return False
        ia, pa, slope = self.neck
        if close <= pa + (j - ia) * slope:
            self.pattern.status = COMPLETED
            self.pattern.end_index = j
            self.scan.completed_anchors.add(self.anchor)
            return False
        if j >= self.expires:
            self.pattern.status = INVALIDATED
            self.pattern.end_index = j
            self.scan.completed_anchors.add(self.anchor)  # a stale setup is not found again
            return False
        return True


def _finish_hs_target(pattern: Pattern) -> None:
    head_index, head = pattern.points["P2"]
    pattern.target = pattern.neckline_at(pattern.end_index) - (
        head - pattern.neckline_at(head_index)
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
    return pattern


def detect_patterns(bars: Bars, extremes: list[Extreme], atr: np.ndarray) -> list[Pattern]:
    """DT, DB, HS and IHS instances, ordered by (detected_index, type, start_index)."""
    if len(bars) < 3:
        return []
    tops = _Scan(bars, extremes, atr, mirrored=False).run()
    bottoms = _Scan(bars.mirrored(), [e.mirrored() for e in extremes], atr, mirrored=True).run()
    for pattern in tops + bottoms:
        if pattern.type in (HS, IHS):
            _finish_hs_target(pattern)
    out = tops + [_unmirror(p) for p in bottoms]
    out.sort(key=lambda p: (p.detected_index, p.type, p.start_index))
    return out
