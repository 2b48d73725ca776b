"""Signals of the analysis app, for the apps above it (analysis imports none of them).

`series_analysed` is sent once the rows of a recomputed run are committed (never for a run whose
bars were unchanged). Keyword arguments: `run_id`, `stock_id`, `timeframe` and `is_default`
(made with the default parameters — what the Radar and the Scanner show). Sent with
`send_robust`: a failing receiver is logged and never fails the analysis.
"""

from django.dispatch import Signal

series_analysed = Signal()
