"""`manage.py calibrate_patterns`: fit the calibrated pattern score from stored outcomes."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from analysis import services
from analysis.calibration import MIN_FIT, MODEL_LOGISTIC


class Command(BaseCommand):
    help = (
        "Fit the calibrated pattern score - the probability that a pattern reaches its target, "
        "per pattern type x timeframe - from every resolved outcome stored by the analysis "
        "(default parameters, this engine version; target = 1, failed or expired = 0), store "
        "it as the next version of the parameter set and re-score every stored pattern with "
        f"it. A cell with {MIN_FIT}+ resolved patterns of both outcomes gets a logistic model "
        "over the pattern's geometry; a thinner one its rate shrunk toward its type's rate, "
        "that toward all patterns' rate and that toward 0.5 (no history: every score is 0.5). "
        "Safe to run again: each run adds a version (docs/analysis-rules.md#calibrated-score)."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        last_shown = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done != total and now - last_shown[0] < 1.0:
                return
            last_shown[0] = now
            elapsed = now - started
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else 0.0
            self.stdout.write(
                f"re-scoring stored patterns: {done}/{total} runs ({100 * done / total:.0f} %), "
                f"{rate:.0f} runs/s, ETA {eta:.0f} s"
            )

        calibration = services.calibration_fit_store(progress=progress)
        params = calibration.params
        if calibration.samples == 0:
            self.stdout.write(self.style.WARNING(services.NO_OUTCOMES))
        overall = params["overall"]
        self.stdout.write(
            f"Calibration v{calibration.version} (engine {calibration.engine_version}): "
            f"{calibration.samples} resolved outcomes, {overall['hits']} reached their target; "
            f"prior {overall['prior']:.3f}"
        )
        for key, cell in params["cells"].items():
            model = "logistic" if cell["model"] == MODEL_LOGISTIC else "rate"
            self.stdout.write(
                f"  {key.replace('|', ' '):<8} {cell['n']:>6} resolved, {cell['hits']:>6} on "
                f"target, {model}, rate {cell['rate']:.3f}"
            )
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s")
