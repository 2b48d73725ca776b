"""Writes for stored analyses: run the engine on a series and persist it atomically; fit the
calibrated score from stored outcomes and re-score what is stored."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import numpy as np
import pandas as pd
import psycopg
from django.db import connection, models, transaction
from django.utils import timezone

from marketdata.models import Stock, Timeframe
from marketdata.selectors import OHLCV_COLUMNS, candles_frames, series_filter

from .calibration import calibrated_score, calibration_fit, score_pattern_dicts, score_patterns
from .engine import DETECTORS, ENGINE_VERSION, analyze, iso_timestamps, make_detector
from .models import (
    AnalysisRun,
    PatternCalibration,
    PatternInstance,
    PatternStatus,
    SwingPoint,
    TrendPeriod,
    default_detector,
    json_bytes,
)
from .selectors.calibration import active_calibration_params
from .signals import series_analysed

logger = logging.getLogger(__name__)

# Newest bars analysed per series (about 20 years daily; a few months of 5-minute bars).
ANALYSIS_MAX_BARS = 5000

NO_CANDLES = "no candles stored for {code} {timeframe}; collect them first (manage.py backfill)"
UNKNOWN_TIMEFRAME = "unknown timeframe {timeframe!r}; expected one of {choices}"


class AnalysisError(Exception):
    """A series cannot be analysed (message is one of this module's constants)."""


def params_for(sensitivity: float | None, detector: str | None = None) -> dict:
    """The parameters a run of `detector` (`default_detector()` when None) is keyed by,
    detector name included. Raises ValueError for an unknown detector or a bad sensitivity
    (`analysis.engine.make_detector`)."""
    swing = make_detector(detector or default_detector(), sensitivity)
    return {**swing.params(), "engine_version": ENGINE_VERSION}


def params_hash(params: dict) -> str:
    """SHA-256 of the key-sorted JSON of `params`."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def bars_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over the bar instants and OHLCV values: changes when any bar changes."""
    digest = hashlib.sha256()
    digest.update(frame.index.asi8.tobytes())
    digest.update(np.ascontiguousarray(frame[OHLCV_COLUMNS].to_numpy(dtype="float64")).tobytes())
    return digest.hexdigest()


def _instant(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso)


def _children(run: AnalysisRun, data: dict) -> tuple[list, list, list]:
    """The run's rows from its `to_dict()`: swing points and trend periods as SWING_COLUMNS and
    PERIOD_COLUMNS tuples (hundreds per run, written by COPY without building model instances),
    patterns as unsaved model instances."""
    common = {
        "run": run,
        "stock_id": run.stock_id,
        "timeframe": run.timeframe,
        "detector": run.detector,
    }
    key = (run.pk, run.stock_id, run.timeframe, run.detector)
    swings = [
        (
            *key,
            e["kind"],
            e["level"],
            e["ts"],
            e["price"],
            e["confirmed_ts"],
            e["strength"],
        )
        for e in data["extremes"]
    ]
    periods = [
        (*key, p["direction"], p["start_ts"], p["end_ts"], p["ongoing"])
        for p in data["trend_periods"]
    ]
    patterns = []
    for p in data["patterns"]:
        neckline = p["neckline"]
        neckline_price = neckline["level"] if "level" in neckline else neckline["end"]["price"]
        patterns.append(
            PatternInstance(
                **common,
                pattern_type=p["type"],
                status=p["status"],
                start_ts=_instant(p["start_ts"]),
                end_ts=_instant(p["end_ts"]),
                detected_ts=_instant(p["detected_ts"]),
                points={
                    role: {"ts": pt["ts"], "price": pt["price"]} for role, pt in p["points"].items()
                },
                neckline=neckline,
                neckline_price=neckline_price,
                target=p["target"],
                score=p["score"],
                features=p.get("features") or {},
                **_outcome_fields(p.get("outcome")),
            )
        )
    return swings, periods, patterns


def _outcome_fields(outcome: dict | None) -> dict:
    """PatternInstance outcome columns from a `to_dict()` outcome (None unless completed)."""
    if outcome is None:
        return {}
    return {
        "outcome": outcome["result"] or "",
        "outcome_ts": _instant(outcome["ts"]) if outcome["result"] else None,
        "bars_to_target": outcome["bars_to_target"],
        "entry_price": outcome["entry"],
        "mfe_pct": outcome["mfe_pct"],
        "mae_pct": outcome["mae_pct"],
    }


OUTCOME_COLUMNS = ("outcome", "outcome_ts", "bars_to_target", "entry_price", "mfe_pct", "mae_pct")


def _keep_set_outcomes(
    run: AnalysisRun, patterns: list[PatternInstance], data: dict, stored_rows: list
) -> bool:
    """An outcome once stored never changes: a re-analysed pattern (same type, start and
    detection bar) whose stored outcome is set (`stored_rows`: the run's stored patterns with
    one) keeps it, in its row and in the run's result, even when corrected earlier bars would
    now give another (logged). True when `data` changed."""
    stored = {(row.pattern_type, row.start_ts, row.detected_ts): row for row in stored_rows}
    if not stored:
        return False
    changed = False
    by_key = {
        (p["type"], _instant(p["start_ts"]), _instant(p["detected_ts"])): p
        for p in data["patterns"]
    }
    for pattern in patterns:
        key = (pattern.pattern_type, pattern.start_ts, pattern.detected_ts)
        old = stored.get(key)
        if old is None:
            continue
        if (pattern.outcome, pattern.outcome_ts) != (old.outcome, old.outcome_ts):
            changed = True
            logger.warning(
                "%s %s %s from %s: keeping the stored outcome %s at %s (now %s)",
                run.stock_id,
                run.timeframe,
                pattern.pattern_type,
                pattern.start_ts,
                old.outcome,
                old.outcome_ts,
                pattern.outcome or "pending",
            )
        for column in OUTCOME_COLUMNS:
            setattr(pattern, column, getattr(old, column))
        pattern.status = PatternStatus.COMPLETED
        entry = by_key.get(key)
        if entry is not None and entry.get("outcome"):
            entry["outcome"].update(
                result=old.outcome,
                ts=old.outcome_ts.astimezone(_instant(entry["start_ts"]).tzinfo).isoformat(),
                bars_to_target=old.bars_to_target,
                entry=old.entry_price,
                mfe_pct=old.mfe_pct,
                mae_pct=old.mae_pct,
            )
    return changed


SWING_COLUMNS = (
    "run_id",
    "stock_id",
    "timeframe",
    "detector",
    "kind",
    "level",
    "ts",
    "price",
    "confirmed_ts",
    "strength",
)


PERIOD_COLUMNS = (
    "run_id",
    "stock_id",
    "timeframe",
    "detector",
    "direction",
    "start_ts",
    "end_ts",
    "ongoing",
)


def _rows_insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Inserts `rows` (values of `columns`, instants as datetimes or ISO strings) into the
    table of `model`: one COPY on PostgreSQL — the ORM's bulk_create spends ten times as long
    preparing the values (README, "Performance") — and bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _instances_insert(model, objs: list) -> None:
    """Inserts unsaved instances of `model` with `_rows_insert` (JSON fields encoded as the
    field would)."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=2000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [
        tuple(
            json_bytes(getattr(obj, f.attname)).decode()
            if isinstance(f, models.JSONField)
            else getattr(obj, f.attname)
            for f in fields
        )
        for obj in objs
    ]
    _rows_insert(model, tuple(f.column for f in fields), rows)


@dataclass
class Analysed:
    """One engine run of one series with one detector, ready to store (`_analysed`)."""

    stock: Stock
    timeframe: str
    detector: str
    params: dict
    frame: pd.DataFrame
    fingerprint: str
    data: dict  # the result's to_dict(), scored
    duration_ms: float


# Every AnalysisRun column a re-analysis rewrites (all but the key and the primary key).
RUN_UPDATE_FIELDS = (
    "params",
    "is_default",
    "engine_version",
    "bars",
    "first_bar_ts",
    "last_bar_ts",
    "bars_fingerprint",
    "last_close",
    "trend_state",
    "trend_since_ts",
    "result",
    "analysed_at",
    "duration_ms",
)
RUN_KEY_FIELDS = ("stock", "timeframe", "detector", "params_hash")


def _run_row(item: Analysed) -> AnalysisRun:
    frame, state = item.frame, item.data["trend_state"]
    return AnalysisRun(
        stock=item.stock,
        timeframe=item.timeframe,
        detector=item.detector,
        params_hash=params_hash(item.params),
        params=item.params,
        is_default=item.params == params_for(None, item.detector),
        engine_version=ENGINE_VERSION,
        bars=len(frame),
        first_bar_ts=frame.index[0].to_pydatetime() if len(frame) else None,
        last_bar_ts=frame.index[-1].to_pydatetime() if len(frame) else None,
        bars_fingerprint=item.fingerprint,
        last_close=float(frame["close"].iloc[-1]) if len(frame) else None,
        trend_state=state["state"],
        trend_since_ts=_instant(state["since_ts"]),
        result=item.data,
        analysed_at=timezone.now(),
        duration_ms=item.duration_ms,
    )


def runs_store(items: list[Analysed]) -> list[AnalysisRun]:
    """Creates or replaces the run of each item's (stock, timeframe, detector, params) and all
    its rows, in one transaction for all of them (a fixed number of statements, however many
    series: one upsert of the runs, one delete and one COPY per kind of row — README,
    "Performance"). The other detectors' runs of a series stay. Returns the runs in the order
    of `items`, each with `recomputed` True; each sends `analysis.signals.series_analysed`
    once committed.

    Runs of the same series made by another engine version are deleted with their rows, so
    the scanner never mixes results of two engine versions. Stored outcomes are kept
    (`_keep_set_outcomes`). The commit does not wait for the disk (`synchronous_commit` off):
    what a database crash could lose is derived from stored bars and is recomputed by the next
    analysis of the series, since its fingerprint no longer matches."""
    if not items:
        return []
    runs = [_run_row(item) for item in items]
    # One lock order for every writer (a batch and a single series may overlap).
    rows = sorted(runs, key=_key_of)
    series = {(row.stock_id, row.timeframe) for row in rows}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        AnalysisRun.objects.filter(series_filter(series)).exclude(
            engine_version=ENGINE_VERSION
        ).delete()
        _runs_upsert(rows, series)
        run_ids = [row.pk for row in rows]
        kept: dict[int, list] = {}
        for stored in (
            PatternInstance.objects.filter(run_id__in=run_ids)
            .exclude(outcome="")
            .only("run_id", "pattern_type", "start_ts", "detected_ts", *OUTCOME_COLUMNS)
        ):
            kept.setdefault(stored.run_id, []).append(stored)
        swings, periods, patterns = [], [], []
        for run in rows:
            run_swings, run_periods, run_patterns = _children(run, run.result)
            if _keep_set_outcomes(run, run_patterns, run.result, kept.get(run.pk, [])):
                AnalysisRun.objects.filter(pk=run.pk).update(result=run.result)
            swings += run_swings
            periods += run_periods
            patterns += run_patterns
        SwingPoint.objects.filter(run_id__in=run_ids).delete()
        TrendPeriod.objects.filter(run_id__in=run_ids).delete()
        # Labels keep their copy of a detection; their link to the old row is cleared.
        PatternInstance.objects.filter(run_id__in=run_ids).only("pk").delete()
        _rows_insert(SwingPoint, SWING_COLUMNS, swings)
        _rows_insert(TrendPeriod, PERIOD_COLUMNS, periods)
        _instances_insert(PatternInstance, patterns)
        for run in rows:
            run.recomputed = True
            transaction.on_commit(partial(_send_analysed, run))
    return runs


def _runs_upsert(rows: list[AnalysisRun], series: set) -> None:
    """Inserts or updates `rows` by their unique key (stock, timeframe, detector, params hash)
    in one statement and sets their primary keys. On PostgreSQL a plain multi-row INSERT ... ON
    CONFLICT DO UPDATE: Django's bulk_create sends its rows as arrays, whose client-side
    quoting of the ~100 KB results took 13 ms per run (README, "Performance")."""
    if connection.vendor != "postgresql":
        AnalysisRun.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=RUN_KEY_FIELDS,
            update_fields=RUN_UPDATE_FIELDS,
        )
        keys = {_key_of(row): row for row in rows}
        for pk, *key in AnalysisRun.objects.filter(series_filter(series)).values_list(
            "pk", "stock_id", "timeframe", "detector", "params_hash"
        ):
            if tuple(key) in keys:
                keys[tuple(key)].pk = pk
        return
    meta = AnalysisRun._meta
    fields = [meta.get_field(name) for name in (*RUN_KEY_FIELDS, *RUN_UPDATE_FIELDS)]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields]
    key_columns = columns[: len(RUN_KEY_FIELDS)]
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Names from the model's own metadata; every value is a bound parameter.
    sql = " ".join(
        (
            "INSERT INTO",
            f"{quote(meta.db_table)} ({', '.join(columns)})",
            "VALUES",
            ", ".join([row_sql] * len(rows)),
            "ON CONFLICT",
            f"({', '.join(key_columns)})",
            "DO UPDATE SET",
            ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[len(RUN_KEY_FIELDS) :]),
            "RETURNING",
            ", ".join([quote(meta.pk.column), *key_columns]),
        )
    )
    params = [
        f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields
    ]
    # Server-side binding: the ~100 KB results travel as parameters instead of being quoted
    # into the statement's text (Django's cursors bind on the client).
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        returned = {tuple(key): pk for pk, *key in cursor.fetchall()}
    for row in rows:
        row.pk = returned[_key_of(row)]


def _key_of(run: AnalysisRun) -> tuple:
    return (run.stock_id, run.timeframe, run.detector, run.params_hash)


def _send_analysed(run: AnalysisRun) -> None:
    series_analysed.send_robust(
        sender=AnalysisRun,
        run_id=run.pk,
        stock_id=run.stock_id,
        timeframe=run.timeframe,
        detector=run.detector,
        is_default=run.is_default,
    )


def _timeframe_check(timeframe: str) -> None:
    if timeframe not in Timeframe.values:
        raise AnalysisError(
            UNKNOWN_TIMEFRAME.format(timeframe=timeframe, choices=", ".join(Timeframe.values))
        )


def _final(frame: pd.DataFrame, stock: Stock, timeframe: str) -> pd.DataFrame:
    """The final bars of `frame`. Raises AnalysisError(NO_CANDLES) when there are none."""
    frame = frame[frame["is_final"]]
    if frame.empty:
        raise AnalysisError(NO_CANDLES.format(code=stock.code, timeframe=timeframe))
    return frame


def _analysed(
    *,
    stock: Stock,
    timeframe: str,
    detector: str,
    params: dict,
    sensitivity: float | None,
    frame: pd.DataFrame,
    fingerprint: str,
    calibration: dict | None,
    iso: list[str] | None = None,
) -> Analysed:
    """Runs the engine on `frame` and scores its patterns with `calibration`. `iso`: the bars'
    `iso_timestamps`, when several detectors' results of the frame share them."""
    started = time.perf_counter()
    result = analyze(frame, sensitivity=sensitivity, detector=detector)
    duration_ms = (time.perf_counter() - started) * 1000
    score_patterns(result.patterns, calibration, timeframe)
    if iso is not None and len(iso) == result.bars:
        result._iso = iso
    logger.info(
        "Analysed %s %s (%s): %d bars, %d patterns in %.1f ms",
        stock.code,
        timeframe,
        detector,
        len(frame),
        len(result.patterns),
        duration_ms,
    )
    return Analysed(
        stock, timeframe, detector, params, frame, fingerprint, result.to_dict(), duration_ms
    )


def series_analyze(
    *,
    stock: Stock,
    timeframe: str,
    detector: str | None = None,
    sensitivity: float | None = None,
    force: bool = False,
) -> AnalysisRun:
    """Analyses the newest `ANALYSIS_MAX_BARS` final bars of one series with one detector
    (`default_detector()` when None) and stores the result as that detector's run.

    Loads candles with `marketdata.selectors.candles_frames` and leaves out bars still forming
    (`is_final` False), so nothing stored rests on a price that can still change (the Radar
    analyses the live bar on the fly). When the stored run of these
    parameters already covers exactly the same bars (fingerprint) nothing is recomputed unless
    `force`. A recomputed run sends `analysis.signals.series_analysed` once committed. The
    returned run carries `recomputed` (bool, not a database field). Raises
    AnalysisError(NO_CANDLES | UNKNOWN_TIMEFRAME) and ValueError for an unknown detector or a
    bad sensitivity (`sensitivity` scales the atr detector only).
    """
    _timeframe_check(timeframe)
    (run,) = series_analyze_detectors(
        stock=stock,
        timeframe=timeframe,
        detectors=[detector or default_detector()],
        sensitivity=sensitivity,
        force=force,
    )
    return run


def series_analyze_detectors(
    *,
    stock: Stock,
    timeframe: str,
    detectors: list[str] | None = None,
    sensitivity: float | None = None,
    force: bool = False,
) -> list[AnalysisRun]:
    """`series_analyze_many` of one series: its runs, in the order of `detectors`. Raises
    AnalysisError(NO_CANDLES | UNKNOWN_TIMEFRAME) and ValueError (unknown detector, bad
    sensitivity)."""
    (outcome,) = series_analyze_many(
        series=[(stock, timeframe)], detectors=detectors, sensitivity=sensitivity, force=force
    )
    if isinstance(outcome, AnalysisError):
        raise outcome
    return outcome


def series_analyze_many(
    *,
    series: list[tuple[Stock, str]],
    detectors: list[str] | None = None,
    sensitivity: float | None = None,
    force: bool = False,
) -> list[list[AnalysisRun] | AnalysisError]:
    """Analyses each (stock, timeframe) of `series` with each of `detectors` (default: every
    name in `DETECTORS`, so the Radar, the Scanner and the review can show either) and their
    default parameters (`sensitivity` scales the atr detector only), reading each series' bars
    once and storing every recomputed run in one transaction (`runs_store`).

    Returns, per series in order, its runs in the order of `detectors` (`recomputed` False for
    one whose stored run already covers the same bars, unless `force`), or the AnalysisError
    (NO_CANDLES | UNKNOWN_TIMEFRAME) that series met; the others are still analysed. Raises
    ValueError for an unknown detector or a bad sensitivity before any work."""
    names = list(detectors or DETECTORS)
    params = {name: params_for(sensitivity, name) for name in names}
    stocks_keyed = {(stock.pk, timeframe): (stock, timeframe) for stock, timeframe in series}
    frames: dict[tuple[int, str], tuple[pd.DataFrame, str] | AnalysisError] = {}
    known = []
    for key, (_, timeframe) in stocks_keyed.items():
        try:
            _timeframe_check(timeframe)
        except AnalysisError as exc:
            frames[key] = exc
        else:
            known.append(key)
    read = candles_frames(series=[stocks_keyed[key] for key in known], limit=ANALYSIS_MAX_BARS)
    for key, frame in zip(known, read, strict=True):
        try:
            frame = _final(frame, *stocks_keyed[key])
        except AnalysisError as exc:
            frames[key] = exc
        else:
            frames[key] = (frame, bars_fingerprint(frame))
    loaded = [key for key, value in frames.items() if not isinstance(value, AnalysisError)]
    stored: dict[tuple, AnalysisRun] = {}
    if loaded and not force:
        for run in (
            AnalysisRun.objects.filter(series_filter(loaded))
            .filter(detector__in=names, params_hash__in=[params_hash(p) for p in params.values()])
            .defer("result")
        ):
            run.recomputed = False
            stored[_key_of(run)] = run
    calibration = active_calibration_params() if loaded else None
    items: list[Analysed] = []
    for (stock_id, timeframe), value in frames.items():  # each series once
        if isinstance(value, AnalysisError):
            continue
        stock = stocks_keyed[stock_id, timeframe][0]
        frame, fingerprint = value
        stale = []
        for name in names:
            run = stored.get((stock_id, timeframe, name, params_hash(params[name])))
            if run is None or run.bars_fingerprint != fingerprint:
                stale.append(name)
        # The bars' stamps, once for every detector's result (none when all are up to date).
        iso = iso_timestamps(frame.index) if stale and frame.index.is_monotonic_increasing else None
        for name in stale:
            items.append(
                _analysed(
                    stock=stock,
                    timeframe=timeframe,
                    detector=name,
                    params=params[name],
                    sensitivity=sensitivity,
                    frame=frame,
                    fingerprint=fingerprint,
                    calibration=calibration,
                    iso=iso,
                )
            )
    for run in runs_store(items):
        stored[_key_of(run)] = run
    out: list[list[AnalysisRun] | AnalysisError] = []
    for stock, timeframe in series:
        value = frames[stock.pk, timeframe]
        if isinstance(value, AnalysisError):
            out.append(value)
            continue
        out.append([stored[stock.pk, timeframe, name, params_hash(params[name])] for name in names])
    return out


NO_OUTCOMES = (
    "no resolved pattern outcomes stored yet (analyse series first: manage.py analyze --all); "
    "scores stay at the prior"
)


def calibration_fit_store(*, progress=None) -> PatternCalibration:
    """Fits the calibrated score on every resolved outcome of the default detector's
    default-parameter runs of this engine version (the other detector finds many of the same
    patterns; counting them twice would weigh them double), stores it as the next
    `PatternCalibration` version and re-scores every stored pattern (rows and run results) with
    it. `progress(done, total)` is called while re-scoring. Returns the new version (with
    `samples` = 0 and the prior when nothing is resolved yet)."""
    rows = (
        PatternInstance.objects.shown()
        .filter(run__engine_version=ENGINE_VERSION)
        .exclude(outcome="")
    )
    samples = [
        (t, tf, features, outcome == "target")
        for t, tf, features, outcome in rows.values_list(
            "pattern_type", "timeframe", "features", "outcome"
        ).iterator(chunk_size=5000)
    ]
    params = calibration_fit(samples)
    with transaction.atomic():
        last = PatternCalibration.objects.select_for_update().order_by("-version").first()
        calibration = PatternCalibration.objects.create(
            version=(last.version + 1) if last else 1,
            fitted_at=timezone.now(),
            engine_version=ENGINE_VERSION,
            samples=len(samples),
            params=params,
        )
    patterns_rescore(params=params, progress=progress)
    return calibration


def patterns_rescore(*, params: dict | None, progress=None) -> int:
    """Re-scores every stored pattern with `params`: the rows and each run's stored result, one
    run per transaction (a run being re-analysed meanwhile is scored by its own analysis).
    Returns the number of runs re-scored."""
    run_ids = list(AnalysisRun.objects.order_by("pk").values_list("pk", flat=True))
    for done, run_id in enumerate(run_ids, start=1):
        with transaction.atomic():
            run = AnalysisRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None:
                continue
            score_pattern_dicts(run.result["patterns"], params, run.timeframe)
            AnalysisRun.objects.filter(pk=run.pk).update(result=run.result)
            rows = list(
                PatternInstance.objects.filter(run=run).only("pk", "pattern_type", "features")
            )
            for row in rows:
                row.score = calibrated_score(params, row.pattern_type, run.timeframe, row.features)
            PatternInstance.objects.bulk_update(rows, ["score"], batch_size=2000)
        if progress is not None:
            progress(done, len(run_ids))
    return len(run_ids)
