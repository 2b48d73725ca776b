"""`/patterns/stats/`, the Scanner's success rates and the Radar's outcomes, on PostgreSQL, through
the plain Django test client (docs/analysis-rules.md#outcomes)."""

import json
import re
from datetime import timedelta

import pytest

from analysis.figures import pattern_outcome_at
from analysis.selectors.stats import calibration_curve, pattern_stats, success_rates
from analysis.services import series_analyze
from analysis.stats_figures import calibration_curve_figure, outcome_histogram_figure
from analysis.tests.factories import make_pattern, make_run, walk
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db

URL = "/patterns/stats/"


@pytest.fixture
def history():
    """Completed patterns with known outcomes: KOSPI DB 1d 3 target / 1 failed / 1 pending,
    KOSDAQ DB 1d 1 expired, KOSPI DT 1w 2 failed; plus a forming DB and a non-default run."""
    kospi = make_run(make_stock("005930", "삼성전자"))
    kosdaq = make_run(make_stock("247540", "에코프로비엠", market="KOSDAQ"))
    weekly = make_run(make_stock("005930"), "1w")
    end = kospi.last_bar_ts - timedelta(days=60)
    span = {"start": end - timedelta(days=30), "end": end}
    for bars, score in ((4, 0.91), (6, 0.72), (10, 0.65)):
        make_pattern(
            kospi, "DB", **span, outcome="target", bars_to_target=bars, score=score, mfe_pct=9.0,
            mae_pct=1.0,
        )  # fmt: skip
    make_pattern(kospi, "DB", **span, outcome="failed", score=0.35, mfe_pct=1.0, mae_pct=5.0)
    make_pattern(kospi, "DB", **span, score=0.5)  # completed, outcome pending
    make_pattern(kospi, "DB", **span, status="forming")
    make_pattern(kosdaq, "DB", **span, outcome="expired", score=0.4, mfe_pct=3.0, mae_pct=3.0)
    for _ in range(2):
        make_pattern(weekly, "DT", **span, outcome="failed", score=0.2, mfe_pct=0.5, mae_pct=8.0)
    custom = make_run(make_stock("005930"), is_default=False)
    make_pattern(custom, "DB", **span, outcome="failed", score=0.99)
    return kospi


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_counts_rates_medians_per_type_timeframe_market(history):
    rows = {(r["pattern_type"], r["timeframe"], r["market"]): r for r in pattern_stats()}
    assert set(rows) == {("DB", "1d", "KOSPI"), ("DB", "1d", "KOSDAQ"), ("DT", "1w", "KOSPI")}
    db = rows[("DB", "1d", "KOSPI")]
    assert (db["completed"], db["resolved"], db["pending"]) == (5, 4, 1)
    assert (db["target"], db["failed"], db["expired"]) == (3, 1, 0)
    assert db["target_rate"] == 0.75 and db["failed_rate"] == 0.25 and db["expired_rate"] == 0
    assert db["median_bars_to_target"] == 6
    assert db["median_mfe_pct"] == 9.0 and db["median_mae_pct"] == 1.0  # (1, 1, 1, 5)
    assert rows[("DB", "1d", "KOSDAQ")]["expired_rate"] == 1.0
    assert rows[("DT", "1w", "KOSPI")]["median_bars_to_target"] is None
    assert [r["market"] for r in pattern_stats(market="KOSDAQ")] == ["KOSDAQ"]
    assert {r["pattern_type"] for r in pattern_stats(pattern_type="DT")} == {"DT"}


def test_calibration_curve_bins_resolved_patterns_by_score(history):
    bins = {b["bin"]: b for b in calibration_curve()}
    # 0.2, 0.2 | 0.35 | 0.4 | 0.65 | 0.72 | 0.91 (the pending 0.5 does not count)
    assert sorted(bins) == [2, 3, 4, 6, 7, 9]
    assert bins[2]["patterns"] == 2 and bins[2]["target_rate"] == 0
    assert bins[9]["target_rate"] == 1 and bins[9]["mean_score"] == pytest.approx(0.91)


def test_success_rates_for_the_keys_asked(history):
    rates = success_rates(keys={("DB", "1d", "KOSPI"), ("HS", "1d", "KOSPI")})
    assert rates == {
        ("DB", "1d", "KOSPI"): {"rate": 0.75, "resolved": 4},
        ("HS", "1d", "KOSPI"): {"rate": None, "resolved": 0},
    }
    assert success_rates(keys=set()) == {}


def test_figures_carry_the_rows():
    rows = [
        {"pattern_type": "DB", "timeframe": "1d", "target": 3, "failed": 1, "expired": 0,
         "pending": 1},
        {"pattern_type": "DB", "timeframe": "1d", "target": 1, "failed": 0, "expired": 2,
         "pending": 0},
    ]  # fmt: skip
    figure = outcome_histogram_figure(rows)
    assert [t["name"] for t in figure["data"]] == ["Target reached", "Failed", "Expired", "Pending"]
    assert [t["y"] for t in figure["data"]] == [[4], [1], [2], [1]]
    assert figure["data"][0]["x"] == ["DB 1d"] and figure["layout"]["barmode"] == "stack"
    curve = calibration_curve_figure([{"mean_score": 0.3, "target_rate": 0.25, "patterns": 16}])
    assert curve["data"][0]["x"] == [0, 1]  # the diagonal
    assert curve["data"][1]["x"] == [0.3] and curve["data"][1]["y"] == [0.25]


def test_the_page_shows_table_charts_and_filters(user_client, history):
    response = user_client.get(URL, {"type": "DB", "tf": "1d"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="stats-row"') == 2
    assert "75%" in html and "+1 pending" in html
    figures = {
        name: json.loads(
            re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)[1]
        )
        for name in ("outcome-histogram-figure", "calibration-figure")
    }
    assert [t["y"] for t in figures["outcome-histogram-figure"]["data"]] == [[3], [1], [1], [1]]
    assert len(figures["calibration-figure"]["data"][1]["x"]) == 5  # DB 1d's resolved bins
    assert "js/pattern_stats.js" in html and "js/plotly-finance-4.1.0.min.js" in html
    assert 'aria-current="page">Pattern stats' in html
    assert "not calibrated yet" in html


def test_an_empty_selection_says_so(user_client, history):
    html = user_client.get(URL, {"type": "IHS"}).content.decode()
    assert 'id="stats-empty"' in html and "stats-chart" not in html


def test_bad_filters_are_a_400(user_client):
    response = user_client.get(URL, {"tf": "2d"})
    assert response.status_code == 400 and "tf:" in response.content.decode()


def test_the_scanner_shows_each_rows_historical_success_rate(user_client, history):
    html = user_client.get("/scanner/", {"type": "DB", "days": 5000}).content.decode()
    cells = re.findall(r'<td class="num success-rate[^"]*">(.*?)</td>', html, re.S)
    assert cells and all("75%" in c and "of 4" in c for c in cells[:1])
    kosdaq = user_client.get("/scanner/", {"market": "KOSDAQ", "days": 5000}).content.decode()
    assert "0%" in re.findall(r'<td class="num success-rate[^"]*">(.*?)</td>', kosdaq, re.S)[0]


def test_pattern_outcome_as_known_at_a_replay_bar():
    completed = {
        "status": "completed",
        "detected_index": 10,
        "end_index": 12,
        "outcome": {"result": "target", "index": 20},
    }
    assert pattern_outcome_at(completed, None) == "target"
    assert pattern_outcome_at(completed, 20) == "target"
    assert pattern_outcome_at(completed, 19) == "pending"
    assert pattern_outcome_at(completed, 11) is None  # still forming then
    pending = {**completed, "outcome": {"result": None, "index": None}}
    assert pattern_outcome_at(pending, None) == "pending"
    assert pattern_outcome_at({**completed, "status": "forming", "outcome": None}, None) is None


def test_the_radar_lists_each_patterns_outcome(user_client):
    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", walk(700))
    run = series_analyze(stock=stock, timeframe="1d")
    html = user_client.get("/radar/", {"symbol": "005930", "bars": 700}).content.decode()
    shown = re.findall(r'<td class="pattern-outcome">(.*?)</td>', html, re.S)
    results = [p["outcome"]["result"] for p in run.result["patterns"] if p["outcome"]]
    assert len(shown) == len(run.result["patterns"])
    for result in {r for r in results if r}:
        assert any(f"outcome-{result}" in cell for cell in shown)
    assert any("bars</span>" in cell for cell in shown) == ("target" in results)


@pytest.fixture
def two_detectors():
    """Completed patterns of both swing detectors on one stock: ATR found 2 DB (1 target),
    the structural detector 3 HS (all failed)."""
    stock = make_stock("005930", "삼성전자")
    atr = make_run(stock, detector="atr")
    structural = make_run(stock, detector="structural")
    end = atr.last_bar_ts - timedelta(days=60)
    span = {"start": end - timedelta(days=30), "end": end}
    make_pattern(atr, "DB", **span, outcome="target", score=0.8)
    make_pattern(atr, "DB", **span, outcome="failed", score=0.3)
    for _ in range(3):
        make_pattern(structural, "HS", **span, outcome="failed", score=0.6)
    return stock


def test_stats_page_detector_filter(user_client, two_detectors):
    default = user_client.get(URL)
    assert [(r["pattern_type"], r["completed"]) for r in default.context["rows"]] == [("DB", 2)]
    chosen = user_client.get(URL, {"detector": "structural"})
    assert chosen.status_code == 200
    assert [(r["pattern_type"], r["completed"]) for r in chosen.context["rows"]] == [("HS", 3)]
    assert chosen.context["totals"]["failed_rate"] == 1.0
    assert [b["bin"] for b in chosen.context["bins"]] == [6]
    html = chosen.content.decode()
    assert '<option value="structural" selected>' in html
    assert html.count('class="stats-row"') == 1 and "<b>HS</b>" in html and "<b>DB</b>" not in html


def test_stats_page_unknown_detector_is_400(user_client):
    response = user_client.get(URL, {"detector": "magic"})
    assert response.status_code == 400
    assert "detector:" in response.content.decode()
