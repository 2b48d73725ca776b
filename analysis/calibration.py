"""Calibrated pattern scores: the probability that a pattern reaches its target (pure).

A pattern's `score` is meant to be read as "the chance this pattern reaches its measured-move
target", estimated from the stored history of outcomes (docs/analysis-rules.md#calibrated-score).
A resolved outcome counts 1 when the target was reached and 0 when the pattern failed or
expired; pending outcomes are not used.

`calibration_fit(rows)` fits one model per pattern type x timeframe ("cell"):

- a **logistic regression** over the pattern's geometry (`FEATURES`, the skewed ones log-scaled,
  all standardised), L2-regularised (`RIDGE`) and fitted by Newton's method, when the cell holds
  at least `MIN_FIT` resolved patterns with both outcomes present;
- otherwise the cell's **rate shrunk toward a prior** with `PRIOR_WEIGHT` pseudo-observations:
  (hits + w x prior) / (n + w). The prior is the type's rate over all timeframes, itself shrunk
  toward the rate of all patterns, itself shrunk toward one half. With no history at all every
  pattern scores 0.5: "no idea", stated as a probability.

The fitted parameters are a JSON-ready dict (stored by `manage.py calibrate_patterns` as a
versioned parameter set); `calibrated_score(params, ...)` applies them to one pattern,
`score_patterns` / `score_pattern_dicts` to an analysis. `brier_score` and `roc_auc` measure how
well scores predict outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

FEATURES = (
    "height_atr",
    "height_pct",
    "width_bars",
    "level_gap",
    "time_symmetry",
    "prior_heights",
    "neck_tilt",
)
LOG_FEATURES = frozenset({"height_atr", "height_pct", "width_bars", "prior_heights"})
MIN_FIT = 200
PRIOR_WEIGHT = 20.0
RIDGE = 1.0
NEWTON_STEPS = 25
UNINFORMED = 0.5

MODEL_LOGISTIC = "logistic"
MODEL_RATE = "rate"


def cell_key(pattern_type: str, timeframe: str) -> str:
    return f"{pattern_type}|{timeframe}"


def _vector(features: dict) -> list[float]:
    out = []
    for name in FEATURES:
        value = float(features.get(name, 0.0) or 0.0)
        if not math.isfinite(value):
            value = 0.0
        out.append(math.log1p(max(value, 0.0)) if name in LOG_FEATURES else value)
    return out


def _shrunk(hits: float, n: float, prior: float) -> float:
    return (hits + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Ridge logistic regression on standardised columns: (weights, intercept, means, scales)."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0  # a constant column carries no information
    z = np.column_stack([np.ones(len(x)), (x - means) / scales])
    penalty = np.full(z.shape[1], RIDGE)
    penalty[0] = 0.0  # the intercept is not shrunk
    beta = np.zeros(z.shape[1])
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta[0] = math.log(rate / (1 - rate))
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(z @ beta)))
        gradient = z.T @ (p - y) + penalty * beta
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta[1:], float(beta[0]), means, scales


def calibration_fit(rows: Iterable[tuple[str, str, dict, bool]]) -> dict:
    """Parameters from resolved outcomes: rows of (pattern type, timeframe, features, reached).

    Returns {"features": [...], "overall": {...}, "types": {type: {...}},
    "cells": {"TYPE|tf": {"model": "logistic" | "rate", "n", "hits", "rate", ...}}}.
    """
    cells: dict[str, list[tuple[list[float], int]]] = {}
    for pattern_type, timeframe, features, reached in rows:
        cells.setdefault(cell_key(pattern_type, timeframe), []).append(
            (_vector(features), 1 if reached else 0)
        )
    total = sum(len(v) for v in cells.values())
    total_hits = sum(y for v in cells.values() for _, y in v)
    overall = _shrunk(total_hits, total, UNINFORMED)
    by_type: dict[str, list[int]] = {}
    for key, samples in cells.items():
        counts = by_type.setdefault(key.split("|")[0], [0, 0])
        counts[0] += len(samples)
        counts[1] += sum(y for _, y in samples)
    types = {
        t: {"n": n, "hits": hits, "prior": round(_shrunk(hits, n, overall), 6)}
        for t, (n, hits) in sorted(by_type.items())
    }
    fitted = {}
    for key, samples in sorted(cells.items()):
        n = len(samples)
        hits = sum(y for _, y in samples)
        prior = types[key.split("|")[0]]["prior"]
        cell = {"n": n, "hits": hits, "rate": round(_shrunk(hits, n, prior), 6)}
        if n >= MIN_FIT and 0 < hits < n:
            x = np.array([v for v, _ in samples], dtype=float)
            y = np.array([t for _, t in samples], dtype=float)
            weights, intercept, means, scales = _logistic(x, y)
            cell.update(
                model=MODEL_LOGISTIC,
                intercept=round(intercept, 8),
                weights=[round(float(w), 8) for w in weights],
                means=[round(float(m), 8) for m in means],
                scales=[round(float(s), 8) for s in scales],
            )
        else:
            cell["model"] = MODEL_RATE
        fitted[key] = cell
    return {
        "features": list(FEATURES),
        "overall": {"n": total, "hits": total_hits, "prior": round(overall, 6)},
        "types": types,
        "cells": fitted,
    }


def calibrated_score(
    params: dict | None, pattern_type: str, timeframe: str, features: dict
) -> float:
    """P(target reached) in [0, 1] for one pattern, from `calibration_fit` parameters."""
    if not params:
        return UNINFORMED
    cell = params.get("cells", {}).get(cell_key(pattern_type, timeframe))
    if cell is None:
        known = params.get("types", {}).get(pattern_type)
        prior = known["prior"] if known else params.get("overall", {}).get("prior", UNINFORMED)
        return round(float(prior), 6)
    if cell["model"] != MODEL_LOGISTIC:
        return round(float(cell["rate"]), 6)
    x = np.asarray(_vector(features))
    z = (x - np.asarray(cell["means"])) / np.asarray(cell["scales"])
    logit = cell["intercept"] + float(np.dot(cell["weights"], z))
    return round(1 / (1 + math.exp(-max(-50.0, min(50.0, logit)))), 6)


def score_patterns(patterns: Iterable, params: dict | None, timeframe: str) -> None:
    """Sets `score` of engine `Pattern`s to their calibrated probability, in place."""
    for p in patterns:
        p.score = calibrated_score(params, p.type, timeframe, p.features)


def score_pattern_dicts(patterns: Iterable[dict], params: dict | None, timeframe: str) -> None:
    """Sets `score` of `to_dict()` patterns to their calibrated probability, in place."""
    for p in patterns:
        p["score"] = calibrated_score(params, p["type"], timeframe, p.get("features") or {})


def brier_score(scores: Sequence[float], reached: Sequence[bool]) -> float:
    """Mean squared difference between the score and the outcome (0 is perfect; 0.25 is
    what always saying 0.5 earns)."""
    p = np.asarray(scores, dtype=float)
    y = np.asarray(reached, dtype=float)
    return float(np.mean((p - y) ** 2)) if p.size else math.nan


def roc_auc(scores: Sequence[float], reached: Sequence[bool]) -> float:
    """Probability that a pattern that reached its target scores higher than one that did not
    (ties count half): 0.5 is chance. NaN when either outcome is missing."""
    p = np.asarray(scores, dtype=float)
    y = np.asarray(reached, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):  # average ranks of ties
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))
