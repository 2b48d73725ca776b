"""The pattern statistics charts: pure functions from `analysis.selectors.stats` rows to Plotly
figure dicts (drawn by static/js/pattern_stats.js). No ORM, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

OUTCOME_SERIES = (
    ("target", "Target reached", "#16a34a"),
    ("failed", "Failed", "#dc2626"),
    ("expired", "Expired", "#9ca3af"),
    ("pending", "Pending", "#f59e0b"),
)
FONT = {"family": "system-ui, sans-serif", "size": 12}


def outcome_histogram_figure(rows: Sequence[dict]) -> dict:
    """Stacked bars of completed patterns by outcome, one bar per pattern type x timeframe
    (markets summed): how often each kind of pattern reached its target, failed or expired."""
    groups: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = groups.setdefault(f"{row['pattern_type']} {row['timeframe']}", {})
        for key, _, _ in OUTCOME_SERIES:
            counts[key] = counts.get(key, 0) + row[key]
    names = list(groups)
    data = [
        {
            "type": "bar",
            "name": label,
            "x": names,
            "y": [groups[name][key] for name in names],
            "marker": {"color": color},
            "hovertemplate": f"%{{x}}: %{{y}} {label.lower()}<extra></extra>",
        }
        for key, label, color in OUTCOME_SERIES
    ]
    return {
        "data": data,
        "layout": {
            "barmode": "stack",
            "title": {"text": "Outcomes of completed patterns", "font": FONT},
            "xaxis": {"title": {"text": "pattern, timeframe"}, "type": "category"},
            "yaxis": {"title": {"text": "patterns"}},
            "legend": {"orientation": "h", "y": -0.25},
            "margin": {"l": 50, "r": 20, "t": 40, "b": 80},
            "font": FONT,
        },
    }


def calibration_curve_figure(bins: Sequence[dict]) -> dict:
    """Observed target rate against the mean score, per score bin (marker size ~ patterns), with
    the diagonal a calibrated score follows."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "calibrated",
                "x": [0, 1],
                "y": [0, 1],
                "line": {"color": "#9ca3af", "dash": "dot"},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "observed",
                "x": [b["mean_score"] for b in bins],
                "y": [b["target_rate"] for b in bins],
                "text": [f"{b['patterns']} patterns" for b in bins],
                "marker": {
                    "color": "#2563eb",
                    "size": [min(24, 6 + b["patterns"] ** 0.5) for b in bins],
                },
                "hovertemplate": "score %{x:.2f}: %{y:.0%} reached the target (%{text})"
                "<extra></extra>",
            },
        ],
        "layout": {
            "title": {"text": "Calibration: score vs. outcome", "font": FONT},
            "xaxis": {"title": {"text": "mean score in the bin"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "share that reached the target"}, "range": [0, 1]},
            "showlegend": False,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
            "font": FONT,
        },
    }
