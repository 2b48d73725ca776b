"""The original product's structural swing detector, bar by bar and causal (pure; no ORM).

The rules are written out in `docs/analysis-rules.md`, section "Structural detector"; this is a
summary. No indicator and no threshold decides a swing: every decision compares the current bar
with the previous bar and with a *reference band* (High/Low of the latest bar that was not an
inside bar).

- **Inside bar**: High <= band High and Low >= band Low (inclusive). It never moves the band and
  freezes states 1-3.
- **States**: 0 watching, 1 hypothesis, 2 developing, 3 confirmed, each of 1-3 with a direction.
  A breakout of the band opens a hypothesis (0 -> 1, a break of the Low wins on an outside
  bar; on bar 1 the colour of the bar decides); a bar that breaks the band in the hypothesis'
  direction with a close beyond the previous close counts towards it (1 -> 2 -> 3 after
  `n_criteria` such bars, not necessarily consecutive); a close-to-close move larger than the
  previous bar's range, with the bar and the move in the hypothesis' direction, confirms at once
  (1 -> 3); a break of the other side of the band either reverses the hypothesis (close beyond
  the previous open: -> 1 the other way) or cancels it (-> 0).
- **Major points**: in state 3 up the highest High is tracked; a bearish bar closing below the
  band Low registers that High as a major peak (at the bar of the first occurrence), known at
  this bar, and opens a down hypothesis (valleys mirror this).
- **Minor points** (the original's provisional "secondary" points): after a major valley the
  detector tracks 3-bar local peaks (High strictly above both neighbours, known one bar later;
  after a major peak, local valleys). The best so far is the candidate; a local peak that does
  not exceed it promotes the candidate to a minor peak ("live" promotion) and becomes the new
  candidate. When two majors of the same kind follow each other and no minor of the other kind
  lies between them, the candidate of the other kind is promoted when the second major is
  registered ("retro" promotion), if its bar is not after the second major's bar.
- **Trend inputs**: the Dow trend (`trend.trend_periods`) of this detector uses majors and
  minors (`trend_levels`), as the original did.

`strength` of a point: distance from the nearest earlier point of the other kind known at
confirmation (either level), in ATR(14) units of the confirming bar; 0 for the first point.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass

import numpy as np

from .detection import MAJOR, MINOR, PEAK, VALLEY, Bars, Extreme, causal_atr
from .trend import DOWN, UP

STRUCTURAL_N_CRITERIA = 2

# States of the machine (the original called state 2 "forming").
WATCHING, HYPOTHESIS, DEVELOPING, CONFIRMED = 0, 1, 2, 3

BAD_N_CRITERIA = "n_criteria must be an integer >= 2, got {value!r}"


@dataclass(frozen=True, slots=True)
class BarState:
    """The detector's state after bar `index` was processed (the original's state log)."""

    index: int
    state: int  # WATCHING | HYPOTHESIS | DEVELOPING | CONFIRMED
    direction: str | None  # trend.UP | trend.DOWN; None while watching
    reference_high: float  # band after this bar (KRW)
    reference_low: float
    inside: bool  # this bar lay inside the band of the bar before


class StructuralSwingDetector:
    """Reference band, four states, majors and promoted minors (see the module docstring)."""

    name = "structural"
    trend_levels = (MAJOR, MINOR)

    def __init__(self, *, n_criteria: int = STRUCTURAL_N_CRITERIA, atr_period: int = 14):
        if isinstance(n_criteria, bool) or not isinstance(n_criteria, int) or n_criteria < 2:
            raise ValueError(BAD_N_CRITERIA.format(value=n_criteria))
        self.n_criteria = n_criteria
        self.atr_period = atr_period

    def params(self) -> dict:
        return {"detector": self.name, "n_criteria": self.n_criteria}

    def reversal_atr_series(self, bars: Bars) -> np.ndarray:
        return causal_atr(bars, self.atr_period)

    def detect(self, bars: Bars) -> list[Extreme]:
        """Majors and minors sorted by (confirmed_index, index); empty for fewer than 2 bars."""
        return self._run(bars, None)

    def states(self, bars: Bars) -> list[BarState]:
        """One `BarState` per bar (bar 0: watching, band = bar 0, not inside)."""
        trace: list[BarState] = []
        self._run(bars, trace)
        return trace

    def _run(self, bars: Bars, trace: list[BarState] | None) -> list[Extreme]:
        n = len(bars)
        if n == 0:
            return []
        o, h, lo, c = (a.tolist() for a in (bars.open, bars.high, bars.low, bars.close))
        ref_hi, ref_lo = h[0], lo[0]
        if trace is not None:
            trace.append(BarState(0, WATCHING, None, ref_hi, ref_lo, False))
        if n < 2:
            return []
        atr = causal_atr(bars, self.atr_period).tolist()
        need = self.n_criteria
        out: list[Extreme] = []
        # Every point emitted so far, per kind, sorted by bar: (index, price) for `strength`.
        known: dict[str, list[tuple[int, float]]] = {PEAK: [], VALLEY: []}
        # Bars of the minors per kind. (The original also dropped a minor from its list when a
        # major of the same kind landed on its bar; that changes no later decision here, and
        # `trend.trend_periods` counts such a bar once.)
        minors: dict[str, list[int]] = {PEAK: [], VALLEY: []}
        majors: dict[str, set[int]] = {PEAK: set(), VALLEY: set()}
        last_major = {PEAK: -1, VALLEY: -1}
        tracking: str | None = None  # which kind of minor is being searched for
        cand_kind: str | None = None  # candidate for promotion: kind, bar, price
        cand_index = -1
        cand_price = 0.0

        def emit(kind: str, level: str, index: int, price: float, at: int) -> None:
            other = known[VALLEY if kind == PEAK else PEAK]
            pos = bisect_left(other, (index,))
            unit = atr[at]
            swing = abs(price - other[pos - 1][1]) if pos else 0.0
            strength = round(swing / unit, 6) if unit > 0 else 0.0
            out.append(Extreme(kind, level, index, price, at, strength))
            insort(known[kind], (index, price))

        def promote(kind: str, index: int, price: float, at: int) -> None:
            bars_of_kind = minors[kind]
            pos = bisect_left(bars_of_kind, index)
            if pos < len(bars_of_kind) and bars_of_kind[pos] == index:
                return
            bars_of_kind.insert(pos, index)
            emit(kind, MINOR, index, price, at)

        def register(kind: str, index: int, price: float, at: int) -> None:
            nonlocal tracking, cand_kind
            other = VALLEY if kind == PEAK else PEAK
            # Two majors of one kind in a row: make sure a point of the other kind sits between.
            if tracking == other and cand_kind is not None:
                between = minors[other]
                pos = bisect_right(between, last_major[kind])
                empty = pos == len(between) or between[pos] >= index
                if empty and cand_index <= index:
                    promote(other, cand_index, cand_price, at)
            if index not in majors[kind]:
                majors[kind].add(index)
                emit(kind, MAJOR, index, price, at)
            last_major[kind] = max(last_major[kind], index)
            tracking = other
            if cand_kind != other:
                cand_kind = None

        state, direction, count = WATCHING, None, -1
        extreme_price, extreme_index = 0.0, -1  # running High (up) or Low (down) in state 3
        for i in range(1, n):
            hi, low, close, prev_close = h[i], lo[i], c[i], c[i - 1]
            # 1. The 3-bar window [i-2, i] may show a local extreme at bar i-1.
            if tracking is not None and i >= 2:
                j = i - 1
                if tracking == PEAK:
                    found = h[j] > h[j - 1] and h[j] > hi
                    price = h[j]
                else:
                    found = lo[j] < lo[j - 1] and lo[j] < low
                    price = lo[j]
                if found:
                    better = cand_kind is None or (
                        price > cand_price if tracking == PEAK else price < cand_price
                    )
                    if not better:
                        promote(tracking, cand_index, cand_price, i)
                    cand_kind, cand_index, cand_price = tracking, j, price
            # 2. Inside bars hold states 1-3 and keep the band.
            inside = hi <= ref_hi and low >= ref_lo
            # 3. One state step.
            if state == WATCHING:
                if i == 1:
                    if close > o[i]:
                        state, direction, count = HYPOTHESIS, UP, 0
                    elif close < o[i]:
                        state, direction, count = HYPOTHESIS, DOWN, 0
                elif not inside:
                    direction = DOWN if low < ref_lo else UP
                    state, count = HYPOTHESIS, 0
            elif inside:
                pass
            elif state == CONFIRMED:
                if direction == UP:
                    if close < ref_lo and close < o[i]:
                        if hi > extreme_price:
                            extreme_price, extreme_index = hi, i
                        register(PEAK, extreme_index, extreme_price, i)
                        state, direction, count = HYPOTHESIS, DOWN, 0
                    elif hi > extreme_price:
                        extreme_price, extreme_index = hi, i
                elif close > ref_hi and close > o[i]:
                    if low < extreme_price:
                        extreme_price, extreme_index = low, i
                    register(VALLEY, extreme_index, extreme_price, i)
                    state, direction, count = HYPOTHESIS, UP, 0
                elif low < extreme_price:
                    extreme_price, extreme_index = low, i
            else:
                prev_range = h[i - 1] - lo[i - 1]
                if (
                    state == HYPOTHESIS
                    and prev_range > 0
                    and abs(close - prev_close) > prev_range
                    and (
                        (direction == UP and close > o[i] and close > prev_close)
                        or (direction == DOWN and close < o[i] and close < prev_close)
                    )
                ):
                    state, count = CONFIRMED, need
                    extreme_price, extreme_index = (hi if direction == UP else low), i
                elif (direction == UP and hi > ref_hi and close > prev_close) or (
                    direction == DOWN and low < ref_lo and close < prev_close
                ):
                    if state == HYPOTHESIS:
                        state, count = DEVELOPING, 1
                    else:
                        count += 1
                        if count >= need:
                            state = CONFIRMED
                            extreme_price, extreme_index = (hi if direction == UP else low), i
                elif direction == UP and low < ref_lo:
                    if close < o[i - 1]:
                        state, direction, count = HYPOTHESIS, DOWN, 0
                    else:
                        state, direction, count = WATCHING, None, -1
                elif direction == DOWN and hi > ref_hi:
                    if close > o[i - 1]:
                        state, direction, count = HYPOTHESIS, UP, 0
                    else:
                        state, direction, count = WATCHING, None, -1
            # 4. A bar that is not inside becomes the band.
            if not inside:
                ref_hi, ref_lo = hi, low
            if trace is not None:
                trace.append(BarState(i, state, direction, ref_hi, ref_lo, inside))
        out.sort(key=lambda p: (p.confirmed_index, p.index, p.kind, p.level))
        return out
