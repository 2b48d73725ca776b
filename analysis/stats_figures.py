"""The pattern statistics charts: pure functions from `analysis.selectors.stats` rows to Plotly
figure dicts (drawn by static/js/pattern_stats.js). No ORM, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext, gettext_lazy

OUTCOME_SERIES = (
    ("target", gettext_lazy("Target reached"), "#16a34a"),
    ("failed", gettext_lazy("Failed"), "#dc2626"),
    ("expired", gettext_lazy("Expired"), "#9ca3af"),
    ("pending", gettext_lazy("Pending"), "#f59e0b"),
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
            "name": str(label),
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
            "title": {"text": gettext("Outcomes of completed patterns"), "font": FONT},
            "xaxis": {"title": {"text": gettext("pattern, timeframe")}, "type": "category"},
            "yaxis": {"title": {"text": gettext("patterns")}},
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
                "name": gettext("calibrated"),
                "x": [0, 1],
                "y": [0, 1],
                "line": {"color": "#9ca3af", "dash": "dot"},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": gettext("observed"),
                "x": [b["mean_score"] for b in bins],
                "y": [b["target_rate"] for b in bins],
                "text": [gettext("{n} patterns").format(n=b["patterns"]) for b in bins],
                "marker": {
                    "color": "#2563eb",
                    "size": [min(24, 6 + b["patterns"] ** 0.5) for b in bins],
                },
                "hovertemplate": gettext("score %{x:.2f}: %{y:.0%} reached the target (%{text})")
                + "<extra></extra>",
            },
        ],
        "layout": {
            "title": {"text": gettext("Calibration: score vs. outcome"), "font": FONT},
            "xaxis": {"title": {"text": gettext("mean score in the bin")}, "range": [0, 1]},
            "yaxis": {"title": {"text": gettext("share that reached the target")}, "range": [0, 1]},
            "showlegend": False,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
            "font": FONT,
        },
    }
