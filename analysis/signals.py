"""Signals of the analysis app, for the apps above it (analysis imports none of them).

`series_analysed` is sent once the rows of a recomputed run are committed (never for a run whose
bars were unchanged). Keyword arguments: `run_id`, `stock_id`, `timeframe`, `detector` (the
run's swing detector, a name in `analysis.engine.DETECTORS`) and `is_default` (made with that
detector's default parameters; with `detector == analysis.models.default_detector()` it is
what the Radar and the Scanner show by default). Sent with
`send_robust`: a failing receiver is logged and never fails the analysis.
"""

from django.dispatch import Signal

series_analysed = Signal()
