"""The Radar's registration point (`analysis.radar_extensions`) with a stand-in extension: what
an app registers reaches the figure, the API, the pattern rows (fetched in bulk) and the page."""

import pytest

from analysis import radar_extensions
from analysis.radar_extensions import RadarExtension
from analysis.services import series_analyze
from analysis.tests.factories import radar_figure

pytestmark = pytest.mark.django_db

CELL_TEMPLATE = "radar_test/_cell.html"
PANEL_TEMPLATE = "radar_test/_panel.html"


class StandIn:
    """Overlays and decisions of a stand-in app; records the calls it gets."""

    def __init__(self):
        self.decision_calls: list[list[int]] = []

    def overlays(self, *, user, stock, timeframe, start, end):
        return [
            {
                "id": 1,
                "pattern_type": "DB",
                "start_ts": start.isoformat(),
                "end_ts": end.isoformat(),
                "direction": "bullish",
                "source": "manual",
                "url": "",
            }
        ]

    def decisions(self, *, user, pattern_ids):
        self.decision_calls.append(list(pattern_ids))
        return {pattern_ids[0]: "decided-first"}


@pytest.fixture
def only_registered(monkeypatch):
    """Replaces the registered extensions (the labeling app's) for one test."""
    registry: dict = {}
    monkeypatch.setattr(radar_extensions, "_extensions", registry)
    return registry


@pytest.fixture
def stand_in(only_registered, settings, tmp_path):
    (tmp_path / "radar_test").mkdir()
    (tmp_path / CELL_TEMPLATE).write_text("<i class=cell>{{ pattern.id }}:{{ decision }}</i>")
    (tmp_path / PANEL_TEMPLATE).write_text("<aside id=stand-in-panel>{{ stock.code }}</aside>")
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], tmp_path]}]
    app = StandIn()
    radar_extensions.register(
        RadarExtension(
            name="stand-in",
            overlays=app.overlays,
            decisions=app.decisions,
            decision_template=CELL_TEMPLATE,
            decision_column="Stand-in",
            panel_template=PANEL_TEMPLATE,
            stylesheets=("css/stand-in.css",),
            scripts=("js/stand-in.js",),
        )
    )
    return app


def test_without_extensions_the_radar_shows_bars_and_analysis_only(
    user_client, samsung, only_registered
):
    series_analyze(stock=samsung[0], timeframe="1d")
    response = user_client.get("/radar/", {"symbol": "005930"})
    html = response.content.decode()
    assert response.context["data"]["patterns"]
    assert response.context["data"]["decision_columns"] == []
    assert "label-panel" not in html and "labeling" not in html
    assert radar_figure(response)["radar"]["layers"].get("labels", {}).get("shapes", []) == []
    assert user_client.get("/api/radar", {"symbol": "005930"}).json()["labels"] == []


def test_a_registered_extension_reaches_figure_api_rows_and_page(
    user_client, samsung, stand_in, settings
):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    series_analyze(stock=samsung[0], timeframe="1d")
    response = user_client.get("/radar/", {"symbol": "005930", "bars": 704})
    html = response.content.decode()
    patterns = response.context["data"]["patterns"]
    ids = sorted(p["id"] for p in patterns)
    assert len(patterns) > 1 and stand_in.decision_calls == [ids]  # one bulk call
    assert "<th>Stand-in</th>" in html
    assert f"<i class=cell>{ids[0]}:decided-first</i>" in html
    assert f"<i class=cell>{ids[1]}:None</i>" in html
    assert "<aside id=stand-in-panel>005930</aside>" in html
    assert "css/stand-in.css" in html and "js/stand-in.js" in html
    assert len(radar_figure(response)["radar"]["layers"]["labels"]["shapes"]) == 1
    labels = user_client.get("/api/radar", {"symbol": "005930"}).json()["labels"]
    assert [label["pattern_type"] for label in labels] == ["DB"]
    figure = user_client.get("/radar/figure", {"symbol": "005930"})
    assert figure.status_code == 200 and stand_in.decision_calls == [ids]  # rows not fetched
