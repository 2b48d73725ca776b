"""The labels' parts of the Trading Radar, plugged in through `analysis.radar_extensions` by
`LabelingConfig.ready()`: overlays in the figure and the API, the accept/reject cell of each
stored pattern row, the label panel and the labeling static files."""

import pytest

from analysis import radar_extensions
from analysis.figures import REJECTED_COLOR
from analysis.models import PatternInstance
from analysis.services import series_analyze
from analysis.tests.factories import make_swing_stock, radar_figure
from labeling.tests.factories import make_label

pytestmark = pytest.mark.django_db

RADAR = "/radar/"


@pytest.fixture
def samsung():
    return make_swing_stock()


def test_labeling_registers_its_radar_extension():
    (extension,) = [e for e in radar_extensions.extensions() if e.name == "labeling"]
    assert extension.decision_column == "Label"
    assert extension.panel_template == "labeling/partials/_radar_panel.html"


def test_api_labels_are_the_users_own(user_client, user, other_user, samsung):
    stock, frame = samsung
    mine = make_label(
        user,
        stock,
        frame.index[-40].to_pydatetime(),
        frame.index[-20].to_pydatetime(),
        pattern_type="DB",
    )
    make_label(
        other_user,
        stock,
        frame.index[-30].to_pydatetime(),
        frame.index[-10].to_pydatetime(),
        pattern_type="DT",
    )
    labels = user_client.get("/api/radar", {"symbol": "005930"}).json()["labels"]
    assert [(label["id"], label["pattern_type"]) for label in labels] == [(mine.pk, "DB")]
    assert labels[0]["start_ts"] == frame.index[-40].isoformat()
    assert labels[0]["url"] == f"/labels/{mine.pk}/"


def test_labels_drawn_in_their_own_layer(user_client, user, other_user, samsung):
    stock, frame = samsung
    make_label(
        user,
        stock,
        frame.index[-60].to_pydatetime(),
        frame.index[-30].to_pydatetime(),
        pattern_type="HS",
    )
    make_label(
        other_user,
        stock,
        frame.index[-20].to_pydatetime(),
        frame.index[-10].to_pydatetime(),
        pattern_type="DT",
    )
    figure = radar_figure(user_client.get(RADAR, {"symbol": "005930"}))
    layer = figure["radar"]["layers"]["labels"]
    assert len(layer["shapes"]) == 1
    box = figure["layout"]["shapes"][layer["shapes"][0]]
    assert (box["x0"], box["x1"]) == (500 - 60 - 0.5, 500 - 30 + 0.5)
    assert "HS" in figure["layout"]["annotations"][layer["annotations"][0]]["text"]


def test_stored_patterns_get_accept_reject_and_computed_ones_say_not_stored(user_client, samsung):
    computed = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    html = computed.content.decode()
    assert computed.context["data"]["patterns"]
    assert 'value="accept"' not in html and "not stored" in html
    series_analyze(stock=samsung[0], timeframe="1d")
    stored = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    patterns = stored.context["data"]["patterns"]
    html = stored.content.decode()
    assert "<th>Label</th>" in html
    assert html.count('name="decision" value="accept"') == len(patterns)
    assert f'name="detection" value="{patterns[0]["id"]}"' in html


def test_the_page_has_the_label_panel_and_the_labeling_static_files(user_client, samsung):
    html = user_client.get(RADAR, {"symbol": "005930"}).content.decode()
    assert 'id="label-panel"' in html and 'id="label-panel-link"' in html
    assert "css/labeling" in html and "js/labeling" in html


def test_a_rejected_detection_is_drawn_in_its_own_layer_never_as_a_label(user_client, samsung):
    stock, _ = samsung
    series_analyze(stock=stock, timeframe="1d")
    before = radar_figure(user_client.get(RADAR, {"symbol": "005930"}))
    pattern = PatternInstance.objects.filter(stock=stock, timeframe="1d").latest("end_ts")
    response = user_client.post(
        "/labels/detections/decide/", {"decision": "reject", "detection": pattern.pk}
    )
    assert response.status_code == 302
    figure = radar_figure(user_client.get(RADAR, {"symbol": "005930"}))
    layers = figure["radar"]["layers"]
    assert "labels" not in layers or not layers["labels"]["shapes"]
    (box_index,) = layers["rejected"]["shapes"]
    box = figure["layout"]["shapes"][box_index]
    assert box["line"]["dash"] == "dash" and box["line"]["color"] == REJECTED_COLOR
    assert box["name"] == "rejected"
    (note_index,) = layers["rejected"]["annotations"]
    assert (
        f"✗ {pattern.pattern_type} rejected" in figure["layout"]["annotations"][note_index]["text"]
    )
    assert len(figure["layout"]["shapes"]) == len(before["layout"]["shapes"]) + 1
    # The layer has its own toggle on the page.
    html = user_client.get(RADAR, {"symbol": "005930"}).content.decode()
    assert 'data-layer="rejected"' in html
