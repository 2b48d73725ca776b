"""A slow, per-bar pandas re-implementation of the original product's structural engine, for
`make bench` only: the speed baseline the structural detector is compared with, and a second,
independent reading of the rules (docs/analysis-rules.md, "Structural detector") whose points
and trend periods the bench compares with `analysis.structural`.

It works the way the original did: one pandas row (`iloc`) per bar and per previous bar, a
pandas window for the 3-bar local extremes, dict records, the peak/valley lists re-sorted for
every trend check, a debug log call and a state snapshot per bar. (The original also swapped
log-handler formatters on every message; that is left out, so this baseline is if anything
faster than the original.) Its zigzag is not rebuilt: only the detector and the trend are timed.
"""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)

N_CRITERIA = 2


class OriginalStructural:
    def __init__(self, data: pd.DataFrame):
        """`data`: columns Open, High, Low, Close; a DatetimeIndex."""
        self.data = data
        self.state = 0
        self.direction: str | None = None
        self.count = -1
        self.ref_high = self.ref_low = None
        self.highest_high = self.lowest_low = None
        self.highest_high_index = self.lowest_low_index = None
        self.js_peaks: list[dict] = []
        self.js_valleys: list[dict] = []
        self.sec_peaks: list[dict] = []
        self.sec_valleys: list[dict] = []
        self.search = "IDLE"
        self.candidate: dict | None = None
        self.trend = "Sideways"
        self.trend_start: int | None = None
        self.periods: list[dict] = []
        self.states: list[dict] = []

    def log(self, date: pd.Timestamp, message: str) -> None:
        logger.debug("[%s] %s", date.strftime("%Y-%m-%d"), message)

    # -- secondary points -------------------------------------------------------------------
    def base_extremes(self, i: int, date: pd.Timestamp) -> list[dict]:
        if i < 2:
            return []
        window = self.data.iloc[i - 2 : i + 1]
        centre = self.data.iloc[i - 1]
        found = []
        if centre["High"] == window["High"].max() and (window["High"] == centre["High"]).sum() == 1:
            found.append(
                {
                    "type": "sec_peak",
                    "index": i - 1,
                    "value": centre["High"],
                    "actual_date": self.data.index[i - 1],
                    "detected_date": date,
                }
            )
        if centre["Low"] == window["Low"].min() and (window["Low"] == centre["Low"]).sum() == 1:
            found.append(
                {
                    "type": "sec_valley",
                    "index": i - 1,
                    "value": centre["Low"],
                    "actual_date": self.data.index[i - 1],
                    "detected_date": date,
                }
            )
        return found

    def promoted(self, point: dict, date: pd.Timestamp, how: str) -> dict:
        out = dict(point, confidence="provisional", detected_date=date, promotion=how)
        bar = self.data.loc[out["actual_date"]]
        out.update(open=bar["Open"], high=bar["High"], low=bar["Low"], close=bar["Close"])
        return out

    def handle_base(self, base: dict, date: pd.Timestamp) -> None:
        for mode, kind, store, better in (
            ("TRACKING_PEAK", "sec_peak", self.sec_peaks, lambda a, b: a > b),
            ("TRACKING_VALLEY", "sec_valley", self.sec_valleys, lambda a, b: a < b),
        ):
            if self.search != mode or base["type"] != kind:
                continue
            if self.candidate is None or better(base["value"], self.candidate["value"]):
                self.candidate = base
                self.log(date, f"candidate {kind} {base['value']:.2f}")
                return
            point = self.promoted(self.candidate, date, "live")
            if not any(p["index"] == point["index"] and p["type"] == kind for p in store):
                store.append(point)
                self.log(date, f"provisional {kind} {point['value']:.2f}")
            self.candidate = base

    # -- majors -----------------------------------------------------------------------------
    def register(self, kind: str, index: int, date: pd.Timestamp) -> None:
        peak = kind == "peak"
        majors = self.js_peaks if peak else self.js_valleys
        others = self.sec_valleys if peak else self.sec_peaks
        own = self.sec_peaks if peak else self.sec_valleys
        retro_mode = "TRACKING_VALLEY" if peak else "TRACKING_PEAK"
        if self.search == retro_mode and self.candidate:
            earlier = [m for m in majors if m["index"] < index]
            floor = max(earlier, key=lambda m: m["index"])["index"] if earlier else -1
            between = [p for p in others if floor < p["index"] < index]
            if not between and self.candidate["index"] <= index:
                point = self.promoted(self.candidate, date, "retro")
                if not any(p["index"] == point["index"] for p in others):
                    others.append(point)
        actual = self.data.index[index]
        bar = self.data.loc[actual]
        record = {
            "type": "js_peak" if peak else "js_valley",
            "confidence": "confirmed",
            "index": index,
            "value": bar["High"] if peak else bar["Low"],
            "actual_date": actual,
            "detected_date": date,
            "open": bar["Open"],
            "high": bar["High"],
            "low": bar["Low"],
            "close": bar["Close"],
        }
        if not any(m["index"] == index for m in majors):
            majors.append(record)
        self.search = "TRACKING_VALLEY" if peak else "TRACKING_PEAK"
        keep = "valley" if peak else "peak"
        if not (self.candidate and keep in self.candidate["type"]):
            self.candidate = None
        own[:] = [p for p in own if p["index"] != index]

    # -- state machine ----------------------------------------------------------------------
    def step(self, cur: pd.Series, prev: pd.Series, i: int, date: pd.Timestamp) -> bool:
        inside = cur["High"] <= self.ref_high and cur["Low"] >= self.ref_low
        if self.state == 0:
            if i == 1:
                if cur["Close"] != cur["Open"]:
                    self.state, self.count = 1, 0
                    self.direction = "up" if cur["Close"] > cur["Open"] else "down"
            elif not inside:
                self.state, self.count = 1, 0
                self.direction = "down" if cur["Low"] < self.ref_low else "up"
        elif inside:
            self.log(date, f"state {self.state} held (inside bar)")
        elif self.state == 3:
            self.state_3(cur, i, date)
        else:
            self.state_1_2(cur, prev, i, date)
        return inside

    def state_1_2(self, cur: pd.Series, prev: pd.Series, i: int, date: pd.Timestamp) -> None:
        up = self.direction == "up"
        prev_range = prev["High"] - prev["Low"]
        strong = prev_range > 0 and abs(cur["Close"] - prev["Close"]) > prev_range
        agrees = (up and cur["Close"] > cur["Open"] and cur["Close"] > prev["Close"]) or (
            not up and cur["Close"] < cur["Open"] and cur["Close"] < prev["Close"]
        )
        if self.state == 1 and strong and agrees:
            self.state, self.count = 3, N_CRITERIA
            self.start_extreme(cur, i)
            return
        breaks_on = cur["High"] > self.ref_high if up else cur["Low"] < self.ref_low
        closes_on = cur["Close"] > prev["Close"] if up else cur["Close"] < prev["Close"]
        breaks_off = cur["Low"] < self.ref_low if up else cur["High"] > self.ref_high
        if breaks_on and closes_on:
            if self.state == 1:
                self.state, self.count = 2, 1
            else:
                self.count += 1
                if self.count >= N_CRITERIA:
                    self.state = 3
                    self.start_extreme(cur, i)
        elif breaks_off:
            flips = cur["Close"] < prev["Open"] if up else cur["Close"] > prev["Open"]
            if flips:
                self.state, self.count = 1, 0
                self.direction = "down" if up else "up"
            else:
                self.state, self.count, self.direction = 0, -1, None

    def start_extreme(self, cur: pd.Series, i: int) -> None:
        if self.direction == "up":
            self.highest_high, self.highest_high_index = cur["High"], i
        else:
            self.lowest_low, self.lowest_low_index = cur["Low"], i

    def state_3(self, cur: pd.Series, i: int, date: pd.Timestamp) -> None:
        if self.direction == "up":
            if cur["Close"] < self.ref_low and cur["Close"] < cur["Open"]:
                if cur["High"] > self.highest_high:
                    self.highest_high, self.highest_high_index = cur["High"], i
                window = self.data.iloc[self.highest_high_index : i + 1]
                where = self.data.index.get_loc(window["High"].idxmax())
                self.register("peak", where, date)
                self.state, self.direction, self.count = 1, "down", 0
            elif cur["High"] > self.highest_high:
                self.highest_high, self.highest_high_index = cur["High"], i
        else:
            if cur["Close"] > self.ref_high and cur["Close"] > cur["Open"]:
                if cur["Low"] < self.lowest_low:
                    self.lowest_low, self.lowest_low_index = cur["Low"], i
                window = self.data.iloc[self.lowest_low_index : i + 1]
                where = self.data.index.get_loc(window["Low"].idxmin())
                self.register("valley", where, date)
                self.state, self.direction, self.count = 1, "up", 0
            elif cur["Low"] < self.lowest_low:
                self.lowest_low, self.lowest_low_index = cur["Low"], i

    # -- trend ------------------------------------------------------------------------------
    def update_trend(self, cur: pd.Series, i: int, date: pd.Timestamp) -> None:
        peaks = sorted(self.js_peaks + self.sec_peaks, key=lambda p: p["index"], reverse=True)
        valleys = sorted(self.js_valleys + self.sec_valleys, key=lambda p: p["index"], reverse=True)
        close = cur["Close"]
        if self.trend == "Sideways":
            if (
                len(peaks) >= 2
                and valleys
                and peaks[0]["value"] < peaks[1]["value"]
                and valleys[0]["index"] < i
                and close < valleys[0]["value"]
            ):
                self.trend, self.trend_start = "Downtrend", i
            elif (
                len(valleys) >= 2
                and peaks
                and valleys[0]["value"] > valleys[1]["value"]
                and peaks[0]["index"] < i
                and close > peaks[0]["value"]
            ):
                self.trend, self.trend_start = "Uptrend", i
        elif self.trend == "Uptrend" and close < valleys[0]["value"]:
            self.periods.append({"start": self.trend_start, "end": i, "type": "Uptrend"})
            self.trend, self.trend_start = "Sideways", None
        elif self.trend == "Downtrend" and close > peaks[0]["value"]:
            self.periods.append({"start": self.trend_start, "end": i, "type": "Downtrend"})
            self.trend, self.trend_start = "Sideways", None

    def run(self) -> OriginalStructural:
        first = self.data.iloc[0]
        self.ref_high, self.ref_low = first["High"], first["Low"]
        for i in range(1, len(self.data)):
            date = self.data.index[i]
            cur, prev = self.data.iloc[i], self.data.iloc[i - 1]
            self.log(date, f"O={cur['Open']:.2f} H={cur['High']:.2f} L={cur['Low']:.2f}")
            for base in self.base_extremes(i, date):
                self.handle_base(base, date)
            inside = self.step(cur, prev, i, date)
            if not inside:
                self.ref_high, self.ref_low = cur["High"], cur["Low"]
            self.update_trend(cur, i, date)
            self.states.append(
                {
                    "index": i,
                    "date": date,
                    "state": self.state,
                    "market_trend": self.trend,
                    "count": self.count,
                    "reference_high": self.ref_high,
                    "reference_low": self.ref_low,
                    "is_inside_bar": inside,
                    "close": cur["Close"],
                }
            )
        if self.trend != "Sideways":
            self.periods.append({"start": self.trend_start, "end": len(self.data) - 1})
            self.periods[-1]["type"] = self.trend
        return self


def original_structural(ohlcv: pd.DataFrame) -> OriginalStructural:
    """Runs the baseline on a frame with lower-case open/high/low/close columns."""
    data = ohlcv.rename(columns={c: c.capitalize() for c in ("open", "high", "low", "close")})
    return OriginalStructural(data[["Open", "High", "Low", "Close"]]).run()
