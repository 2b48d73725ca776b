"""What other apps add to the Trading Radar, registered at start-up.

`analysis` knows only this hook; an app that builds on it (the labeling app) registers a
`RadarExtension` from its `AppConfig.ready()`, so imports keep pointing one way (marketdata ←
analysis ← labeling) while the Radar still shows that app's parts:

- `overlays(user=, stock=, timeframe=, start=, end=)` → the user's ranges drawn in the figure's
  "labels" layer (or "rejected", by their `layer` key), each `{"id", "pattern_type",
  "start_ts", "end_ts" (ISO, +09:00), "direction", "source", "url", "layer", "key_points"}`
  (the shape `analysis.figures.build_radar_figure` draws);
- `decisions(user=, pattern_ids=)` → `{pattern id: decision}` for stored detected patterns, in a
  bounded number of queries whatever the number of ids; `decision_template` renders one pattern
  row's cell with `pattern` (the Radar's pattern dict) and `decision` (its value, or None) in
  the context, under the column `decision_column`;
- `panel_template`: included under the chart (context: `stock`, `params`);
- `symbol_template` with `symbol_context(user=, stock=)` → dict: a control beside the symbol's
  name in the info line (the watchlist star), rendered with that dict as `ext` (one bounded
  read per page);
- `symbol_sets`: named sets of the user's own stocks (watchlists) that the Scanner filters by,
  `?<param>=<key>` (see `SymbolSet`);
- `stylesheets`, `scripts`: static paths the Radar page loads for those parts.

Without registered extensions the Radar shows bars and analysis only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OverlaysProvider = Callable[..., list[dict]]
DecisionsProvider = Callable[..., dict[int, Any]]
SymbolContextProvider = Callable[..., dict]


class SymbolSetNotFound(Exception):
    """The key names no set of this user (another user's, deleted, or never made)."""


@dataclass(frozen=True)
class SymbolSet:
    """A kind of named stock set of a user's own that the Scanner can filter by.

    `choices(user=)` → [(key, label)] for the filter's select, in the user's order;
    `stock_ids(user=, key=)` → the ids of the stocks in that set, or raises `SymbolSetNotFound`
    when `key` is not one of the user's sets. Both cost one query.
    """

    param: str
    label: str
    choices: Callable[..., list[tuple[str, str]]]
    stock_ids: Callable[..., list[int]]


@dataclass(frozen=True)
class RadarExtension:
    """One app's parts of the Radar; every part is optional."""

    name: str
    overlays: OverlaysProvider | None = None
    decisions: DecisionsProvider | None = None
    decision_template: str = ""
    decision_column: str = ""
    panel_template: str = ""
    symbol_template: str = ""
    symbol_context: SymbolContextProvider | None = None
    symbol_sets: tuple[SymbolSet, ...] = ()
    stylesheets: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()


_extensions: dict[str, RadarExtension] = {}


def register(extension: RadarExtension) -> None:
    """Adds (or, under the same name, replaces) an extension; call from `AppConfig.ready()`."""
    _extensions[extension.name] = extension


def extensions() -> list[RadarExtension]:
    """The registered extensions in registration order."""
    return list(_extensions.values())


def overlays(*, user, stock, timeframe: str, start: datetime, end: datetime) -> list[dict]:
    """Every extension's overlays for one series between `start` and `end` (aware instants)."""
    out: list[dict] = []
    for extension in extensions():
        if extension.overlays is not None:
            out.extend(
                extension.overlays(
                    user=user, stock=stock, timeframe=timeframe, start=start, end=end
                )
            )
    return out


def decision_cells(*, user, pattern_ids: Iterable[int]) -> list[tuple[RadarExtension, dict]]:
    """[(extension, {pattern id: decision})] for the extensions with a decision column; one
    bulk call per extension."""
    ids = sorted({int(i) for i in pattern_ids})
    cells = []
    for extension in extensions():
        if not extension.decision_template:
            continue
        found = (
            extension.decisions(user=user, pattern_ids=ids) if ids and extension.decisions else {}
        )
        cells.append((extension, found))
    return cells


def symbol_controls(*, user, stock) -> list[tuple[str, dict]]:
    """[(template, context)] of the controls beside the symbol on the Radar (the star)."""
    return [
        (e.symbol_template, e.symbol_context(user=user, stock=stock) if e.symbol_context else {})
        for e in extensions()
        if e.symbol_template
    ]


def symbol_sets() -> list[SymbolSet]:
    """Every registered symbol set kind (the Scanner's extra filters)."""
    return [symbol_set for e in extensions() for symbol_set in e.symbol_sets]


def page_assets() -> dict[str, list[str]]:
    """{"panels", "stylesheets", "scripts"}: what the Radar page includes for the extensions."""
    registered = extensions()
    return {
        "panels": [e.panel_template for e in registered if e.panel_template],
        "stylesheets": [path for e in registered for path in e.stylesheets],
        "scripts": [path for e in registered for path in e.scripts],
    }
