"""`manage.py analyze`: analyse stored series and save the results (the CLI of the task)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from analysis import services
from analysis.detection import AtrSwingDetector
from analysis.engine import DETECTORS, make_detector
from analysis.selectors.runs import analysis_series
from marketdata.models import Candle, Stock, Timeframe

ERROR_NO_SELECTION = "Give --codes 005930,000660, --all-targets or --all"
ERROR_BOTH_SELECTIONS = "Give one of --codes, --all-targets and --all"
ERROR_UNKNOWN_CODES = "Unknown stock codes: {codes} (load the stock master with sync_stocks)"
ERROR_UNKNOWN_TIMEFRAMES = "Unknown timeframes: {timeframes}; expected some of {choices}"
ERROR_NO_SERIES = "No analysis target holds candles on {timeframes}; collect bars first"
ERROR_NOTHING_STORED = "No stock holds candles on {timeframes}; collect bars first"
ERROR_FAILED = "{failed} of {total} runs failed: {errors}"
ERROR_NO_CANDLES = "No candles stored for {codes}; collect them first (manage.py backfill)"
ERROR_UNKNOWN_DETECTOR = "Unknown detector {name!r}; expected one of: {names}"
ALL_DETECTORS = "all"


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Command(BaseCommand):
    help = (
        "Analyse stored candles (swing points, zigzag, trend periods, patterns) and store the "
        "results for the Radar and the scanner, one run per swing detector: by default every "
        f"detector ({', '.join(DETECTORS)}), as the background analysis does; --detector NAME "
        "analyses with one. A series whose bars did not change since its stored analysis is "
        "skipped unless --force. Safe to run again at any time. "
        "After an engine upgrade, `analyze --all` re-analyses every stored series. "
        "Examples: analyze --codes 005930,000660 --timeframes 1d,1w; analyze --all-targets; "
        "analyze --all --timeframes 1d --detector structural."
    )

    def add_arguments(self, parser):
        parser.add_argument("--codes", help="Comma-separated stock codes, e.g. 005930,000660")
        parser.add_argument(
            "--all-targets",
            action="store_true",
            help="Every analysis target (filter zero) that holds candles",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every stored series: every stock holding candles, target or not",
        )
        parser.add_argument(
            "--timeframes",
            help="Comma-separated timeframes of 5m,30m,1h,1d,1w,1mo (default: every timeframe "
            "holding candles; a timeframe named here without candles is an error)",
        )
        parser.add_argument(
            "--detector",
            help=f"Swing detector: one of {', '.join(DETECTORS)}, or {ALL_DETECTORS!r} for every "
            f"one (the default; with --sensitivity the default is atr, the only detector it "
            "scales)",
        )
        parser.add_argument(
            "--sensitivity",
            type=float,
            help="Swing sensitivity of the atr detector, 0.1..10 (default 1; higher marks more "
            "swings). Results with a non-default sensitivity are stored separately and not "
            "shown by the scanner.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Re-analyse even when the bars did not change"
        )

    def handle(self, *args, **options):
        explicit = options["timeframes"] is not None
        timeframes = _split(options["timeframes"]) if explicit else list(Timeframe.values)
        bad = [tf for tf in timeframes if tf not in Timeframe.values]
        if bad or not timeframes:
            raise CommandError(
                ERROR_UNKNOWN_TIMEFRAMES.format(
                    timeframes=", ".join(bad) or "(none)", choices=", ".join(Timeframe.values)
                )
            )
        sensitivity = options["sensitivity"]
        detectors = self._detectors(options["detector"], sensitivity)
        codes = _split(options["codes"])
        if sum((bool(codes), options["all_targets"], options["all"])) > 1:
            raise CommandError(ERROR_BOTH_SELECTIONS)
        if codes:
            known = set(Stock.objects.filter(code__in=codes).values_list("code", flat=True))
            unknown = [code for code in codes if code not in known]
            if unknown:
                raise CommandError(ERROR_UNKNOWN_CODES.format(codes=", ".join(unknown)))
            series = [(code, tf) for tf in timeframes for code in codes]
            if not explicit:
                held = set(
                    Candle.objects.filter(stock__code__in=codes)
                    .values_list("stock__code", "timeframe")
                    .distinct()
                )
                series = [s for s in series if s in held]
                if not series:
                    raise CommandError(ERROR_NO_CANDLES.format(codes=", ".join(codes)))
        elif options["all_targets"]:
            series = analysis_series(timeframes=timeframes)
            if not series:
                raise CommandError(ERROR_NO_SERIES.format(timeframes=", ".join(timeframes)))
        elif options["all"]:
            series = analysis_series(timeframes=timeframes, targets_only=False)
            if not series:
                raise CommandError(ERROR_NOTHING_STORED.format(timeframes=", ".join(timeframes)))
        else:
            raise CommandError(ERROR_NO_SELECTION)
        self._run(series, detectors=detectors, sensitivity=sensitivity, force=options["force"])

    @staticmethod
    def _detectors(name: str | None, sensitivity: float | None) -> list[str]:
        """The detectors to run: every one by default (atr alone with a sensitivity)."""
        if name is None:
            name = AtrSwingDetector.name if sensitivity is not None else ALL_DETECTORS
        if name == ALL_DETECTORS:
            names = list(DETECTORS)
        elif name in DETECTORS:
            names = [name]
        else:
            raise CommandError(
                ERROR_UNKNOWN_DETECTOR.format(
                    name=name, names=", ".join([*DETECTORS, ALL_DETECTORS])
                )
            )
        try:
            for detector in names:
                make_detector(detector, sensitivity)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return names

    def _run(
        self, series: list[tuple[str, str]], *, detectors: list[str], sensitivity, force: bool
    ) -> None:
        stocks = {s.code: s for s in Stock.objects.filter(code__in={c for c, _ in series})}
        work = [(code, tf, detector) for code, tf in series for detector in detectors]
        total = len(work)
        started = time.monotonic()
        bars = analysed = unchanged = patterns = 0
        errors: list[str] = []
        for number, (code, timeframe, detector) in enumerate(work, start=1):
            try:
                run = services.series_analyze(
                    stock=stocks[code],
                    timeframe=timeframe,
                    detector=detector,
                    sensitivity=sensitivity,
                    force=force,
                )
            except services.AnalysisError as exc:
                errors.append(f"{code} {timeframe} {detector}: {exc}")
                outcome = "failed"
            else:
                bars += run.bars
                patterns += len(run.result["patterns"])
                if run.recomputed:
                    analysed += 1
                    outcome = f"{run.bars} bars, {len(run.result['patterns'])} patterns"
                else:
                    unchanged += 1
                    outcome = "unchanged"
            elapsed = time.monotonic() - started
            rate = number / elapsed if elapsed > 0 else 0.0
            eta = (total - number) / rate if rate > 0 else 0.0
            self.stdout.write(
                f"[{number}/{total}] {code} {timeframe} {detector}: {outcome} | "
                f"{number / total:.0%} done, {bars:,} bars, {rate:.1f} runs/s, "
                f"{bars / max(elapsed, 1e-9):,.0f} bars/s, "
                f"ETA {_clock(eta)}"
            )
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Done: {len(series)} series x {len(detectors)} detector(s) "
            f"({', '.join(detectors)}): {total} runs ({analysed} analysed, {unchanged} "
            f"unchanged, {len(errors)} failed), {bars:,} bars, {patterns:,} patterns "
            f"in {elapsed:.1f} s"
        )
        if errors:
            raise CommandError(
                ERROR_FAILED.format(failed=len(errors), total=total, errors="; ".join(errors))
            )
