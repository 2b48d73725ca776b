"""Reads of the analysis app, one module per job:

- `runs`: stored analysis runs (the Radar's analysis, stored or computed; the series to analyse);
- `radar`: the Trading Radar's page, figure endpoint and `/api/radar` payload;
- `scanner`: the Scanner's filtered, sorted, paginated pattern query.
"""
