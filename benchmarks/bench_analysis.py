"""Analysis engine figures.

(a) `analysis.engine.analyze()` on 1,000, 10,000 and 100,000 synthetic bars (a fat-tailed random
    walk with volatility clustering, tick-rounded like KRX prices): time per bar (median of
    repeats, wall and CPU), peak Python memory (tracemalloc, separate run), the speed-up versus
    the original engine's ~1 ms per bar (1.1 s for 1,187 daily bars), and how the time per bar
    grows from 1,000 to 100,000 bars (1.0 = linear).
(b) The two swing detectors side by side on 1,187 / 10,000 / 100,000 synthetic bars: `detect()`
    alone and the whole `analyze()` per detector, and how the structural detector's time per bar
    grows to 100,000 bars. Then the real daily series of the original product (Kiwoom ka10081
    CSVs in `$BENCH_REAL_SERIES_DIR`, default /work/shared/data/kiwoom-real; skipped with a note
    when absent): the structural detector against `benchmarks/original_structural.py`, a slow
    per-bar pandas re-implementation of the original engine timed in the same run (speed-up,
    and whether both give the same points and trend periods), with the counts, spacing and
    detection lags the rules lead one to expect.
    Then, for both detectors, the chart patterns on those series: completed patterns per type,
    how many pass the independent textbook check of `benchmarks/textbook.py`, reports that reuse
    a top or a head, outcomes, and trend periods per 470 bars.
(c) The simulator universe x all timeframes (ground-truth bars of `marketdata.simulator`,
    stored with COPY) analysed and stored through Celery: `analysis.analyze_all` on a real
    worker (prefork, 2 processes) until every series' run is written, wall time; and the same
    series analysed in this process one after another, for comparison.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from marketdata.krx_calendar import KST, TIMEFRAMES

ORIGINAL_SECONDS_PER_BAR = 1.1 / 1187
SIZES = {1_000: 15, 10_000: 5, 100_000: 2}  # bars -> timed repeats
DETECTOR_SIZES = {1_187: 21, 10_000: 5, 100_000: 3}
REAL_SERIES_DIR = Path(os.environ.get("BENCH_REAL_SERIES_DIR", "/work/shared/data/kiwoom-real"))
ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")
WORKER_CONCURRENCY = 2
UNIVERSE_NOW = datetime.fromisoformat("2025-12-30T18:00:00+09:00")
MINUTE_HISTORY_DAYS = 60
WAIT_SECONDS = 900
FULL_SIZE_SERIES = 2_500
FULL_SIZE_BARS = 1_200
FULL_SIZE_CODE_PREFIX = "9"  # made-up codes 900000..902499, outside the simulator's universe
FULL_SIZE_TARGET_SECONDS = 60


def synthetic_bars(n: int, seed: int = 1) -> pd.DataFrame:
    """A daily-like OHLCV walk: Student-t returns, slowly varying volatility, 10 KRW ticks."""
    rng = np.random.default_rng(seed)
    vol = 0.015 * np.exp(np.clip(np.cumsum(rng.normal(0, 0.05, n)), -1, 1))
    returns = rng.standard_t(4, n) * vol / np.sqrt(2)
    close = np.round(50_000 * np.exp(np.cumsum(returns)) / 10) * 10
    open_ = np.round(np.concatenate([[close[0]], close[:-1]]) * (1 + rng.normal(0, 0.002, n)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.006, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.006, n)))
    index = pd.date_range("2000-01-03 09:00", periods=n, freq="5min", tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e5}, index=index
    )


def bench_engine() -> None:
    from analysis.engine import analyze

    print("analyze() on synthetic bars (original engine: ~1,000 µs/bar)")
    print(
        f"  {'bars':>9}  {'µs/bar wall':>11}  {'µs/bar CPU':>10}  {'speed-up wall/CPU':>17}  "
        f"{'peak MiB':>8}  {'points':>7}  {'patterns':>8}"
    )
    per_bar = {}
    for n, repeats in SIZES.items():
        frame = synthetic_bars(n)
        analyze(frame.iloc[:300])  # imports and first-call costs out of the way
        walls, cpus = [], []
        for _ in range(repeats):
            result = None
            gc.collect()  # the previous result's garbage is not this run's cost
            wall, cpu = time.perf_counter(), time.process_time()
            result = analyze(frame)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        wall = statistics.median(walls) / n
        cpu = statistics.median(cpus) / n
        per_bar[n] = cpu
        tracemalloc.start()
        analyze(frame)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  {n:>9,}  {wall * 1e6:>11.2f}  {cpu * 1e6:>10.2f}  "
            f"{ORIGINAL_SECONDS_PER_BAR / wall:>12.0f}×/{ORIGINAL_SECONDS_PER_BAR / cpu:.0f}×    "
            f"{peak / 2**20:>8.1f}  {len(result.extremes):>7,}  {len(result.patterns):>8,}"
        )
    growth = per_bar[100_000] / per_bar[1_000]
    print(f"  CPU time per bar, 100,000 vs 1,000 bars: {growth:.2f} (1.00 = linear)")
    frame = synthetic_bars(10_000)
    result = analyze(frame)
    started = time.perf_counter()
    result.to_dict()
    print(f"  to_dict() of 10,000 bars: {(time.perf_counter() - started) * 1000:.1f} ms")


def _timed(repeats: int, function, *args, **kwargs) -> tuple[float, object]:
    """Median CPU seconds of `function(*args, **kwargs)` over `repeats` calls, and its result."""
    times = []
    result = None
    for _ in range(repeats):
        result = None
        gc.collect()
        started = time.process_time()
        result = function(*args, **kwargs)
        times.append(time.process_time() - started)
    return statistics.median(times), result


def bench_detectors() -> None:
    from analysis.engine import analyze, bars_from_frame, make_detector

    print("\nswing detectors side by side on synthetic bars (CPU µs per bar, median of repeats)")
    print(
        f"  {'bars':>9}  {'atr detect':>10}  {'structural detect':>17}  "
        f"{'analyze atr':>11}  {'analyze structural':>18}  {'majors / minors (structural)':>28}"
    )
    per_bar = {}
    for n, repeats in DETECTOR_SIZES.items():
        frame = synthetic_bars(n)
        bars = bars_from_frame(frame)[1]
        row = {}
        for name in ("atr", "structural"):
            detector = make_detector(name)
            detector.detect(bars)
            row[name] = _timed(repeats, detector.detect, bars)[0] / n
            row[f"analyze {name}"] = _timed(repeats, analyze, frame, detector=name)[0] / n
        per_bar[n] = row["structural"]
        points = make_detector("structural").detect(bars)
        majors = sum(p.level == "major" for p in points)
        print(
            f"  {n:>9,}  {row['atr'] * 1e6:>10.2f}  {row['structural'] * 1e6:>17.2f}  "
            f"{row['analyze atr'] * 1e6:>11.2f}  {row['analyze structural'] * 1e6:>18.2f}  "
            f"{majors:>14,} / {len(points) - majors:,}"
        )
    growth = per_bar[100_000] / per_bar[1_187]
    print(f"  structural detect() per bar, 100,000 vs 1,187 bars: {growth:.2f} (1.00 = linear)")


def real_series(path: Path) -> pd.DataFrame:
    """A Kiwoom daily-chart CSV (ka10081 rows) as an OHLCV frame in KST."""
    import csv

    from marketdata.kiwoom import parse_bar

    with path.open(encoding="utf-8-sig", newline="") as handle:
        bars = [parse_bar(row, timeframe="1d") for row in csv.DictReader(handle)]
    index = pd.DatetimeIndex([b.ts for b in bars]).tz_convert(KST)
    columns = ("open", "high", "low", "close", "volume")
    return pd.DataFrame(
        {c: [float(getattr(b, c)) for b in bars] for c in columns}, index=index
    ).sort_index()


def _same_as_baseline(frame: pd.DataFrame, result, baseline) -> bool:
    """Same majors, same minors (the baseline drops a minor whose bar became a major) and the
    same trend periods, each at the same detection bar."""
    where = frame.index.get_loc

    def key(point: dict, level: str) -> tuple:
        kind = "peak" if "peak" in point["type"] else "valley"
        return (kind, level, point["index"], float(point["value"]), where(point["detected_date"]))

    theirs = sorted(
        [key(p, "major") for p in baseline.js_peaks + baseline.js_valleys]
        + [key(p, "minor") for p in baseline.sec_peaks + baseline.sec_valleys]
    )
    majors = {(e.kind, e.index) for e in result.extremes if e.level == "major"}
    ours = sorted(
        (e.kind, e.level, e.index, e.price, e.confirmed_index)
        for e in result.extremes
        if e.level == "major" or (e.kind, e.index) not in majors
    )
    their_periods = [(p["type"], p["start"], p["end"]) for p in baseline.periods]
    our_periods = [
        ("Uptrend" if p.direction == "up" else "Downtrend", p.start_index, p.end_index)
        for p in result.trend_periods
    ]
    return theirs == ours and their_periods == our_periods


def bench_real_series() -> None:
    from analysis.engine import analyze, bars_from_frame, make_detector
    from benchmarks.original_structural import original_structural

    paths = sorted(REAL_SERIES_DIR.glob("ka10081_*.csv"))
    print(f"\nstructural detector on the real daily series in {REAL_SERIES_DIR}")
    if not paths:
        print("  (no ka10081_*.csv there: set BENCH_REAL_SERIES_DIR; real-series figures skipped)")
        return
    logging.getLogger("benchmarks.original_structural").setLevel(logging.INFO)
    for path in paths:
        frame = real_series(path)
        n = len(frame)
        bars = bars_from_frame(frame)[1]
        slow, baseline = _timed(3, original_structural, frame)
        fast = _timed(21, make_detector("structural").detect, bars)[0]
        whole, result = _timed(21, analyze, frame, detector="structural")
        atr = analyze(frame)
        majors = [e for e in result.extremes if e.level == "major"]
        minors = [e for e in result.extremes if e.level == "minor"]
        zigzag = result.zigzag
        same = _same_as_baseline(frame, result, baseline)
        print(f"  {path.name}: {n:,} daily bars")
        print(
            f"    per-bar pandas baseline {slow * 1e3:,.0f} ms; structural detect() "
            f"{fast * 1e3:.2f} ms ({slow / fast:,.0f}×); whole analyze(detector='structural') "
            f"{whole * 1e3:.1f} ms ({ORIGINAL_SECONDS_PER_BAR * n / whole:,.0f}× the original "
            f"engine's ~1 ms/bar; {slow / whole:,.0f}× even this baseline, which has no patterns)"
        )
        print(f"    same points and trend periods as the baseline: {'yes' if same else 'NO'}")
        lags = [e.confirmed_index - e.index for e in majors]
        minor_lags = [e.confirmed_index - e.index for e in minors]
        print(
            f"    majors {len(majors)} (median spacing "
            f"{statistics.median(np.diff([e.index for e in majors])):.0f} bars, lag median "
            f"{statistics.median(lags):.0f} max {max(lags)}), minors {len(minors)} (lag median "
            f"{statistics.median(minor_lags):.0f}, {min(minor_lags)}-{max(minor_lags)})"
        )
        print(
            f"    zigzag {len(zigzag)} points (median spacing "
            f"{statistics.median(np.diff([z.index for z in zigzag])):.0f} bars, "
            f"{sum(z.level == 'fill' for z in zigzag)} gaps filled where the original raised), "
            f"trend periods {len(result.trend_periods)}, patterns {len(result.patterns)}"
        )
        atr_majors = {(e.kind, e.index) for e in atr.extremes if e.level == "major"}
        atr_points = {(e.kind, e.index) for e in atr.extremes}
        ours = {(e.kind, e.index) for e in majors}
        print(
            f"    vs the atr detector: {len(atr_majors)} atr majors; "
            f"{len(ours & atr_majors) / len(ours):.0%} of structural majors are atr majors, "
            f"{len(ours & atr_points) / len(ours):.0%} are atr majors or minors"
        )


def bench_patterns_real_series() -> None:
    from collections import Counter

    from analysis.engine import analyze
    from benchmarks.textbook import duplicate_structures, textbook_failures, wilder_atr

    paths = sorted(REAL_SERIES_DIR.glob("ka10081_*.csv"))
    print(f"\nchart patterns on the real daily series in {REAL_SERIES_DIR}")
    if not paths:
        print("  (no ka10081_*.csv there: set BENCH_REAL_SERIES_DIR; real-series figures skipped)")
        return
    for path in paths:
        frame = real_series(path)
        atr = wilder_atr(frame)
        for detector in ("atr", "structural"):
            data = analyze(frame, detector=detector).to_dict()
            completed = [p for p in data["patterns"] if p["status"] == "completed"]
            failures = [textbook_failures(frame, p, atr) for p in completed]
            passed = sum(1 for f in failures if not f)
            types = Counter(p["type"] for p in completed)
            outcomes = Counter(p["outcome"]["result"] or "pending" for p in completed)
            print(
                f"  {path.name.split('_')[1]} {detector:>10}: {len(frame):,} bars, "
                f"{len(completed)} completed "
                f"({', '.join(f'{t} {c}' for t, c in sorted(types.items())) or 'none'}), "
                f"{passed}/{len(completed)} pass the textbook check, "
                f"{duplicate_structures(data['patterns'])} reuse a top or head; outcomes "
                f"{dict(sorted(outcomes.items()))}; "
                f"{len(data['trend_periods']) * 470 / len(frame):.1f} trend periods per 470 bars"
            )
            for reason, count in Counter(r for f in failures for r in f).most_common():
                print(f"      {count} × {reason}")


def _load_universe() -> list[tuple[str, str]]:
    """Stores the simulator's universe x timeframes (analysis targets); returns the series."""
    from marketdata.models import Candle, Stock
    from marketdata.simulator.market import SimulatedMarket

    market = SimulatedMarket(now=UNIVERSE_NOW, minute_history_days=MINUTE_HISTORY_DAYS)
    specs = market.universe()
    stocks = {}
    for spec in specs:
        stocks[spec.code], _ = Stock.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "market": spec.market,
                "is_active": True,
                "is_analysis_target": True,
            },
        )
    timeframes = list(TIMEFRAMES)
    Candle.objects.filter(stock__in=stocks.values()).delete()
    now = timezone.now()
    columns = (
        "stock_id, timeframe, ts, open, high, low, close, volume, traded_value, is_final, "
        "fetched_at"
    )
    rows = 0
    copy_sql = f"COPY marketdata_candle ({columns}) FROM STDIN"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(copy_sql) as copy,
    ):
        for spec in specs:
            for timeframe in timeframes:
                frame = market.bars(spec.code, timeframe)
                values = zip(
                    frame.index.to_pydatetime(),
                    frame["open"].tolist(),
                    frame["high"].tolist(),
                    frame["low"].tolist(),
                    frame["close"].tolist(),
                    frame["volume"].tolist(),
                    frame["traded_value"].tolist(),
                    frame["is_final"].tolist(),
                    strict=True,
                )
                for ts, o, h, lo, c, v, tv, final in values:
                    copy.write_row(
                        (stocks[spec.code].pk, timeframe, ts, o, h, lo, c, v, tv, final, now)
                    )
                    rows += 1
    print(f"  stored {rows:,} simulator candles for {len(specs)} stocks × {len(timeframes)} TFs")
    return [(spec.code, tf) for tf in timeframes for spec in specs]


def _start_worker() -> subprocess.Popen:
    # Connections kept for the whole run, so the PostgreSQL backends' CPU can be read at the end;
    # DEBUG off as in production (DEBUG records every statement and its SQL text).
    env = {
        **os.environ,
        "CONN_MAX_AGE": "3600",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "") + "-bench-worker-" + "x" * 40,
    }
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "chartinsight",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"bench-analysis-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(*, pid: int, database: str) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by process `pid` with its live children (the
    prefork pool), and by PostgreSQL: its live backends serving `database` plus every backend
    that has exited (the postmaster's reaped children — Celery closes a task's connection when
    it ends, so most backends of a run are gone before it is measured; backends of other
    databases count too, so measure on an otherwise quiet server), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    worker = postgres = 0.0
    postmasters = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            worker += seconds
        elif cmdline.startswith(b"postgres: "):
            postmasters.add(int(fields[1]))
            if f" {database} ".encode() in cmdline:
                postgres += seconds
    for postmaster in postmasters:
        try:
            fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        postgres += (int(fields[13]) + int(fields[14])) / tick
    return worker, postgres


def _stop_worker(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def bench_universe_through_celery() -> None:
    from analysis.models import AnalysisRun
    from analysis.selectors.runs import analysis_series
    from analysis.services import series_analyze
    from chartinsight.celery import app
    from marketdata.models import Candle, Stock

    print("\nsimulator universe × all timeframes through Celery")
    ours = _load_universe()
    series = analysis_series()
    if set(ours) - set(series):
        print("  (some simulator series hold no bars and are skipped)")
    bars = Candle.objects.filter(stock__is_analysis_target=True, stock__is_active=True).count()
    worker = _start_worker()
    try:
        app.send_task("chartinsight.add", args=(1, 1)).get(timeout=120)  # worker is up
        started_at = timezone.now()
        started = time.perf_counter()
        app.send_task("analysis.analyze_all", kwargs={"force": True}).get(timeout=120)
        done = 0
        while time.perf_counter() - started < WAIT_SECONDS:
            done = AnalysisRun.objects.filter(analysed_at__gte=started_at).count()
            if done >= len(series):
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
    finally:
        _stop_worker(worker)
    print(
        f"  {done}/{len(series)} series ({bars:,} stored bars, newest ≤ 5,000 per series "
        f"analysed) in {wall:.1f} s wall with {WORKER_CONCURRENCY} worker processes: "
        f"{done / wall:.1f} series/s"
    )
    stocks = {s.code: s for s in Stock.objects.filter(code__in={c for c, _ in series})}
    started = time.perf_counter()
    analysed_bars = 0
    for code, timeframe in series:
        run = series_analyze(stock=stocks[code], timeframe=timeframe, force=True)
        analysed_bars += run.bars
    inline = time.perf_counter() - started
    print(
        f"  same series in this process, one by one: {inline:.1f} s "
        f"({analysed_bars / inline:,.0f} bars/s analysed and stored)"
    )


def _full_size_specs() -> list:
    """FULL_SIZE_SERIES made-up stocks for the simulator's market model: each borrows the
    volatility, beta, turnover and price levels of one universe stock (in turn) under its own
    code, so its path (seeded by the code) is its own."""
    from dataclasses import replace
    from datetime import date

    from marketdata.simulator.universe import UNIVERSE

    base = [spec for spec in UNIVERSE if spec.listed_on <= date(2020, 1, 1)]
    return [
        replace(
            base[i % len(base)],
            code=f"{FULL_SIZE_CODE_PREFIX}{i:05d}",
            name=f"벤치마크 {i:04d}",
            listed_on=date(2012, 1, 2),
        )
        for i in range(FULL_SIZE_SERIES)
    ]


def _load_full_size_universe() -> list:
    """Stores FULL_SIZE_BARS daily bars (ending at UNIVERSE_NOW) of each made-up stock with COPY,
    as the only analysis targets; regenerates only when the stored bars are not those. Returns
    the stocks."""
    from marketdata.models import Candle, Stock
    from marketdata.simulator.market import daily_bars_for

    specs = _full_size_specs()
    Stock.objects.exclude(code__in=[s.code for s in specs]).update(is_analysis_target=False)
    stocks = {}
    for spec in specs:
        stocks[spec.code], _ = Stock.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "market": spec.market,
                "is_active": True,
                "is_analysis_target": True,
            },
        )
    stored = Candle.objects.filter(stock__in=stocks.values(), timeframe="1d")
    expected = FULL_SIZE_SERIES * FULL_SIZE_BARS
    if stored.count() == expected:
        print(f"  {expected:,} daily candles of {FULL_SIZE_SERIES:,} made-up stocks already stored")
        return list(stocks.values())
    Candle.objects.filter(stock__in=stocks.values()).delete()
    now = timezone.now()
    columns = (
        "stock_id, timeframe, ts, open, high, low, close, volume, traded_value, is_final, "
        "fetched_at"
    )
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY marketdata_candle ({columns}) FROM STDIN") as copy,
    ):
        for number, spec in enumerate(specs, start=1):
            frame = daily_bars_for(spec, until=UNIVERSE_NOW.date()).iloc[-FULL_SIZE_BARS:]
            pk = stocks[spec.code].pk
            for ts, o, h, lo, c, v, tv in zip(
                frame.index.to_pydatetime(),
                frame["open"].tolist(),
                frame["high"].tolist(),
                frame["low"].tolist(),
                frame["close"].tolist(),
                frame["volume"].tolist(),
                frame["traded_value"].tolist(),
                strict=True,
            ):
                copy.write_row((pk, "1d", ts, o, h, lo, c, v, tv, True, now))
            if number % 250 == 0:
                elapsed = time.perf_counter() - started
                print(
                    f"  generated and copied {number:,}/{len(specs):,} series "
                    f"({number / len(specs):.0%}, {number / elapsed:.0f} series/s)",
                    flush=True,
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_candle")
    print(f"  stored {expected:,} daily candles in {time.perf_counter() - started:.0f} s (COPY)")
    return list(stocks.values())


def bench_full_size_universe() -> None:
    """FULL_SIZE_SERIES daily series x FULL_SIZE_BARS bars of the simulator's market model,
    analysed and stored through a real Celery worker (`analysis.analyze_all`, forced), with
    the engine's own time per bar (from the stored runs' duration_ms) beside the wall time."""
    from django.db.models import Sum

    from analysis.engine import DETECTORS, analyze
    from analysis.models import AnalysisRun
    from chartinsight.celery import app
    from marketdata.selectors import candles_frame

    print(
        f"\nfull-size universe: {FULL_SIZE_SERIES:,} daily series × {FULL_SIZE_BARS:,} bars "
        f"(simulator market model) through Celery"
    )
    stocks = _load_full_size_universe()
    AnalysisRun.objects.filter(stock__in=stocks).delete()  # every run written in the timed part
    # What autovacuum would do between two such runs (it is off on this machine's server): the
    # deleted rows of the previous run would otherwise double PostgreSQL's time per insert.
    with connection.cursor() as cursor:
        for table in ("analysisrun", "swingpoint", "trendperiod", "patterninstance"):
            cursor.execute(f"VACUUM ANALYZE analysis_{table}")
    runs_expected = FULL_SIZE_SERIES * len(DETECTORS)  # one run per series and swing detector
    app.control.purge()  # tasks left queued by an interrupted earlier run
    worker = _start_worker()
    try:
        app.send_task("chartinsight.add", args=(1, 1)).get(timeout=120)  # worker is up
        started_at = timezone.now()
        started = time.perf_counter()
        database = connection.settings_dict["NAME"]
        cpu_before = _cpu_seconds(pid=worker.pid, database=database)
        app.send_task("analysis.analyze_all", kwargs={"timeframes": ["1d"], "force": True}).get(
            timeout=120
        )
        done = 0
        while time.perf_counter() - started < WAIT_SECONDS:
            done = AnalysisRun.objects.filter(analysed_at__gte=started_at).count()
            if done >= runs_expected:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        cpu_after = _cpu_seconds(pid=worker.pid, database=database)
        worker_cpu, postgres_cpu = (b - a for a, b in zip(cpu_before, cpu_after, strict=True))
    finally:
        _stop_worker(worker)
        app.control.purge()  # the alert evaluations each analysis queued (no rules here)
    runs = AnalysisRun.objects.filter(stock__in=stocks, analysed_at__gte=started_at)
    totals = runs.aggregate(bars=Sum("bars"), engine_ms=Sum("duration_ms"))
    bars, engine = totals["bars"] or 0, (totals["engine_ms"] or 0) / 1000
    verdict = "under" if wall < FULL_SIZE_TARGET_SECONDS else "OVER"
    print(
        f"  {done:,}/{runs_expected:,} runs ({FULL_SIZE_SERIES:,} series × detectors "
        f"{', '.join(DETECTORS)}), {bars:,} bars analysed and stored in {wall:.1f} s wall "
        f"({verdict} the {FULL_SIZE_TARGET_SECONDS} s target) with {WORKER_CONCURRENCY} worker "
        f"processes on {os.cpu_count()} cores: {FULL_SIZE_SERIES / wall:.0f} series/s, "
        f"{bars / wall:,.0f} bars/s"
    )
    sample = [candles_frame(stock=stock, timeframe="1d") for stock in stocks[:100]]
    per_bar = {}
    for name in DETECTORS:
        analyze(sample[0], detector=name)
        cpu = time.process_time()
        for frame in sample:
            analyze(frame, detector=name)
        per_bar[name] = (time.process_time() - cpu) / sum(len(f) for f in sample)
    print(
        "  engine alone (analyze(), CPU, 100 of these series in this process): "
        + ", ".join(f"{name} {seconds * 1e6:.1f} µs per bar" for name, seconds in per_bar.items())
        + f"; in the workers (wall, under this load) {engine * 1e6 / max(bars, 1):.1f} µs per bar"
    )
    cores = os.cpu_count() or 1
    print(
        f"  CPU: workers {worker_cpu:.1f} s (engine {sum(per_bar.values()) * bars / 2:.1f} s, "
        f"the rest loading, scoring, storing and Celery), PostgreSQL {postgres_cpu:.1f} s; "
        f"{(worker_cpu + postgres_cpu) / cores:.1f} s of CPU per core, what the wall time would "
        f"be on {cores} otherwise idle cores (load average now {os.getloadavg()[0]:.1f})"
    )


def _calibration_line(label: str, scores: list[float], reached: list[bool]) -> str:
    from analysis.calibration import brier_score, roc_auc

    hits = sum(reached)
    rate = hits / len(reached) if reached else float("nan")
    return (
        f"  {label}: {len(reached):,} resolved ({hits:,} reached the target, {rate:.0%}); "
        f"Brier {brier_score(scores, reached):.3f} (always the base rate: "
        f"{brier_score([rate] * len(reached), reached):.3f}), AUC {roc_auc(scores, reached):.3f}"
    )


def bench_calibration() -> None:
    """Does the score predict outcomes? The calibration (`analysis.calibration`, what
    `manage.py calibrate_patterns` fits) is fitted on the stored outcomes of the even-numbered
    half of the full-size universe and measured on the other half (out of sample), then fitted
    on all of it and measured on the two real daily series, with their textbook pass counts."""
    from collections import Counter

    from analysis.calibration import calibrated_score, calibration_fit, score_pattern_dicts
    from analysis.engine import ENGINE_VERSION, analyze
    from analysis.models import PatternInstance, default_detector
    from benchmarks.textbook import textbook_failures, wilder_atr

    print("\ncalibration of the pattern score (Brier: lower is better; AUC: 0.5 is chance)")
    codes = [spec.code for spec in _full_size_specs()]
    rows = list(
        PatternInstance.objects.filter(
            stock__code__in=codes,
            run__engine_version=ENGINE_VERSION,
            run__is_default=True,
            run__detector=default_detector(),
        )
        .exclude(outcome="")
        .values_list("stock__code", "pattern_type", "timeframe", "features", "outcome")
    )
    if not rows:
        print("  (no stored outcomes: run bench_full_size_universe first)")
        return
    samples = [(t, tf, f, outcome == "target") for _, t, tf, f, outcome in rows]
    train = [s for (code, *_), s in zip(rows, samples, strict=True) if int(code) % 2 == 0]
    test = [s for (code, *_), s in zip(rows, samples, strict=True) if int(code) % 2 == 1]
    params = calibration_fit(train)
    models = Counter(cell["model"] for cell in params["cells"].values())
    print(
        f"  fitted on {len(train):,} outcomes of {len(codes) // 2:,} simulated stocks "
        f"({dict(models)} cells), measured on the other {len(codes) - len(codes) // 2:,}:"
    )
    print(
        _calibration_line(
            "simulator, out of sample, calibrated score",
            [calibrated_score(params, t, tf, f) for t, tf, f, _ in test],
            [y for *_, y in test],
        )
    )
    print(
        _calibration_line(
            "simulator, out of sample, raw geometric quality",
            [f.get("quality", 0.5) for _, _, f, _ in test],
            [y for *_, y in test],
        )
    )
    for pattern_type in ("DT", "DB", "HS", "IHS"):
        cell = [s for s in test if s[0] == pattern_type]
        if cell:
            print(
                _calibration_line(
                    f"  {pattern_type}",
                    [calibrated_score(params, t, tf, f) for t, tf, f, _ in cell],
                    [y for *_, y in cell],
                )
            )
    params = calibration_fit(samples)
    paths = sorted(REAL_SERIES_DIR.glob("ka10081_*.csv"))
    if not paths:
        print(f"  (no ka10081_*.csv in {REAL_SERIES_DIR}: real-series figures skipped)")
        return
    print(f"  fitted on all {len(samples):,} simulator outcomes, on the real daily series:")
    scores, reached = [], []
    for path in paths:
        frame = real_series(path)
        patterns = analyze(frame).to_dict()["patterns"]
        score_pattern_dicts(patterns, params, "1d")
        completed = [p for p in patterns if p["status"] == "completed"]
        atr = wilder_atr(frame)
        passed = sum(1 for p in completed if not textbook_failures(frame, p, atr))
        resolved = [p for p in completed if p["outcome"]["result"]]
        series_scores = [p["score"] for p in resolved]
        series_reached = [p["outcome"]["result"] == "target" for p in resolved]
        scores += series_scores
        reached += series_reached
        print(
            f"  {path.name.split('_')[1]}: {len(frame):,} bars, {len(completed)} completed "
            f"patterns, {passed}/{len(completed)} pass the textbook check"
        )
        print(_calibration_line(f"  {path.name.split('_')[1]}", series_scores, series_reached))
    print(_calibration_line("both real series", scores, reached))


def main() -> None:
    logging.getLogger("analysis.services").setLevel(logging.WARNING)  # one line per series
    bench_engine()
    bench_detectors()
    bench_real_series()
    bench_patterns_real_series()
    bench_universe_through_celery()
    bench_full_size_universe()
    bench_calibration()
