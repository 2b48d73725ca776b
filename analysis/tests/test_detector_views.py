"""The detector a user picks (`detector=`) on the Radar, its figure endpoint and `/api/radar`:
validated by the query forms, kept in the URL, and shown from that detector's stored run."""

import pytest

from analysis.engine import analyze
from analysis.models import PatternInstance
from analysis.services import series_analyze_detectors
from analysis.tests.factories import radar_figure

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(samsung):
    """Samsung's 704 daily bars with a stored run of each detector."""
    stock, frame = samsung
    series_analyze_detectors(stock=stock, timeframe="1d")
    return stock, frame


def _points(analysis: dict) -> list[tuple]:
    return [(e["kind"], e["level"], e["index"], e["price"]) for e in analysis["extremes"]]


@pytest.mark.parametrize("detector", ["atr", "structural"])
def test_api_radar_serves_the_chosen_detectors_stored_run(user_client, both, detector):
    _stock, frame = both
    body = user_client.get(
        "/api/radar", {"symbol": "005930", "bars": 300, "detector": detector}
    ).json()
    assert body["detector"] == detector
    assert body["analysis"]["source"] == "stored"
    assert body["analysis"]["params"]["detector"] == detector
    expected = analyze(frame, detector=detector).window(len(frame) - 300, len(frame))
    assert _points(body["analysis"]) == _points(expected)
    # On the fly, the same detector gives the same points.
    fresh = user_client.get(
        "/api/radar", {"symbol": "005930", "bars": 300, "detector": detector, "stored": "0"}
    ).json()
    assert fresh["analysis"]["source"] == "computed"
    assert _points(fresh["analysis"]) == _points(body["analysis"])


def test_api_radar_without_a_detector_uses_the_setting(user_client, both, settings):
    atr = user_client.get("/api/radar", {"symbol": "005930", "bars": 300}).json()
    assert atr["detector"] == "atr"
    settings.ANALYSIS_DEFAULT_DETECTOR = "structural"
    structural = user_client.get("/api/radar", {"symbol": "005930", "bars": 300}).json()
    assert structural["detector"] == "structural"
    assert _points(structural["analysis"]) != _points(atr["analysis"])


@pytest.mark.parametrize("url", ["/api/radar", "/radar/figure"])
def test_an_unknown_detector_is_a_400_naming_the_detectors(user_client, both, url):
    response = user_client.get(url, {"symbol": "005930", "detector": "zigzag"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("detector: ")
    assert "zigzag" in error and "atr, structural" in error


def test_the_radar_page_refuses_an_unknown_detector(user_client, both):
    response = user_client.get("/radar/", {"symbol": "005930", "detector": "zigzag"})
    assert response.status_code == 400
    assert "atr, structural" in response.content.decode()


def test_the_radar_page_shows_the_chosen_detectors_points_and_patterns(user_client, both):
    _stock, frame = both
    pages = {
        name: user_client.get("/radar/", {"symbol": "005930", "bars": 300, "detector": name})
        for name in ("atr", "structural")
    }
    for name, response in pages.items():
        assert response.status_code == 200
        data = response.context["data"]
        assert data["detector"] == name
        # The pattern list links each row to that detector's stored pattern.
        ids = [p["id"] for p in data["patterns"] if p["id"] is not None]
        assert ids
        assert set(
            PatternInstance.objects.filter(pk__in=ids).values_list("detector", flat=True)
        ) == {name}
        expected = analyze(frame, detector=name).window(len(frame) - 300, len(frame))
        assert [p["type"] for p in data["patterns"]] == [
            p["type"]
            for p in sorted(
                expected["patterns"],
                key=lambda p: (p["end_index"], p["start_index"]),
                reverse=True,
            )
        ]
        html = response.content.decode()
        # The picker marks the chosen detector and keeps it in the form the page submits.
        assert f'data-detector="{name}"' in html
        assert f'<input type="hidden" name="detector" value="{name}">' in html
    atr_figure = radar_figure(pages["atr"])
    structural_figure = radar_figure(pages["structural"])
    assert atr_figure != structural_figure


def test_the_picker_links_keep_the_rest_of_the_query(user_client, both):
    html = user_client.get(
        "/radar/", {"symbol": "005930", "tf": "1d", "bars": 300, "asof": 100}
    ).content.decode()
    start = html.index('id="detector-picker"')
    picker = html[start : html.index("</nav>", start)]
    assert 'href="?symbol=005930&amp;tf=1d&amp;bars=300&amp;detector=structural"' in picker
    assert 'aria-current="page">' in picker.split('data-detector="atr"')[1].split("</a>")[0]


def test_the_figure_endpoint_draws_the_chosen_detector(user_client, both):
    page = user_client.get("/radar/", {"symbol": "005930", "bars": 300, "detector": "structural"})
    figure = user_client.get(
        "/radar/figure", {"symbol": "005930", "bars": 300, "detector": "structural"}
    ).json()["figure"]
    assert figure == radar_figure(page)
    other = user_client.get("/radar/figure", {"symbol": "005930", "bars": 300}).json()["figure"]
    assert other != figure


def test_symbol_search_keeps_the_detector(user_client, both):
    html = user_client.get(
        "/radar/symbols", {"q": "005930", "detector": "structural"}
    ).content.decode()
    assert "detector=structural" in html


def test_the_picker_swaps_the_view_in_place(user_client, both):
    """A click on a detector tab (htmx) answers with the view: that detector's figure and, out
    of band, the picker marking it and the pattern list."""
    params = {"symbol": "005930", "tf": "1d", "bars": 300, "detector": "structural"}
    page = user_client.get("/radar/", params)
    swap = user_client.get(
        "/radar/",
        params,
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver/radar/?symbol=005930&tf=1d&bars=300",
        },
    )
    html = swap.content.decode()
    assert "<html" not in html
    assert radar_figure(swap) == radar_figure(page)
    start = html.index('id="detector-picker"')
    picker = html[start : html.index("</nav>", start)]
    assert 'hx-swap-oob="true"' in picker.split(">")[0]
    current = picker.split('data-detector="structural"')[1].split("</a>")[0]
    assert 'aria-current="page"' in current
    assert '<input type="hidden" name="detector" value="structural">' in picker
    assert 'id="detected-patterns" hx-swap-oob="true"' in html
