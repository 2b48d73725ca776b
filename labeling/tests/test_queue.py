"""The review queue: undecided detections one at a time, decisions by POST (plain and HTMX)."""

import json

import pytest

from analysis.tests.factories import make_detection
from labeling import services
from labeling.models import Label, Source
from labeling.tests.factories import HTMX
from marketdata.tests.factories import kst


@pytest.fixture
def detections(stock, other_stock):
    return [
        make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19)),
        make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), status="forming"),
        make_detection(
            other_stock, "DB", kst(2024, 1, 15), kst(2024, 1, 26), detector="structural"
        ),
    ]


def shown(response):
    pattern = response.context["pattern"]
    return None if pattern is None else pattern.pk


def test_queue_walks_the_undecided_detections(user_client, user, detections):
    first, second, third = detections
    response = user_client.get("/labels/queue/")
    assert response.status_code == 200
    assert shown(response) == first.pk
    body = response.content.decode()
    assert "0 of 3 decided" in body
    assert 'data-hotkey="a"' in body and 'data-hotkey="r"' in body and 'data-hotkey="e"' in body
    figure = json.loads(response.context["figure"] and json.dumps(response.context["figure"]))
    assert figure["data"][0]["type"] == "candlestick"
    assert any(s.get("name") == "DB" for s in figure["layout"]["shapes"])  # the detection box

    # Accept, without HTMX: a redirect to the queue after it, with the filters kept.
    answer = user_client.post(
        "/labels/queue/decide/", {"detection": first.pk, "decision": "accept", "timeframe": "1d"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/labels/queue/?timeframe=1d&after={first.pk}"
    label = Label.objects.get()
    assert (label.source, label.detected_pattern_id) == (Source.ACCEPTED, first.pk)
    response = user_client.get(answer["Location"])
    assert shown(response) == second.pk and "1 of 3 decided" in response.content.decode()

    # Skip the second: the third comes; after the last the queue wraps round to the second.
    assert shown(user_client.get("/labels/queue/", {"after": second.pk})) == third.pk
    assert shown(user_client.get("/labels/queue/", {"after": third.pk})) == second.pk


def test_htmx_decision_answers_with_the_next_item(user_client, user, detections):
    first, second, _ = detections
    response = user_client.post(
        "/labels/queue/decide/", {"detection": first.pk, "decision": "reject"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="queue-item')
    assert f'data-detection="{second.pk}"' in body and "1 of 3 decided" in body
    assert Label.objects.get().source == Source.REJECTED


def test_relabel_rejects_and_opens_the_label_form(user_client, user, detections):
    first = detections[0]
    response = user_client.post(
        "/labels/queue/decide/", {"detection": first.pk, "decision": "relabel"}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        "/labels/new/?symbol=005930&timeframe=1d&pattern_type=DB&start=2024-01-08&end=2024-01-19"
    )
    assert Label.objects.get().source == Source.REJECTED
    htmx = user_client.post(
        "/labels/queue/decide/", {"detection": detections[1].pk, "decision": "relabel"}, **HTMX
    )
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith("/labels/new/?")


def test_queue_decisions_name_the_detector(user_client, user, detections):
    first, _, structural = detections
    user_client.post("/labels/queue/decide/", {"detection": first.pk, "decision": "accept"})
    user_client.post("/labels/queue/decide/", {"detection": structural.pk, "decision": "relabel"})
    assert dict(Label.objects.values_list("detected_pattern_id", "detector")) == {
        first.pk: "atr",
        structural.pk: "structural",
    }


def test_filters_and_progress(user_client, user, detections):
    first, second, third = detections
    services.detection_decide(user=user, decision="accept", pattern=first)
    by_symbol = user_client.get("/labels/queue/", {"symbol": "000660"})
    assert shown(by_symbol) == third.pk and "0 of 1 decided" in by_symbol.content.decode()
    by_name = user_client.get("/labels/queue/", {"symbol": "삼성"})
    assert shown(by_name) == second.pk and "1 of 2 decided" in by_name.content.decode()
    structural = user_client.get("/labels/queue/", {"detector": "structural"})
    assert shown(structural) == third.pk and "0 of 1 decided" in structural.content.decode()
    assert "Structural" in structural.content.decode()
    atr = user_client.get("/labels/queue/", {"detector": "atr"})
    assert shown(atr) == second.pk and "1 of 2 decided" in atr.content.decode()
    assert user_client.get("/labels/queue/", {"detector": "magic"}).status_code == 400
    forming = user_client.get("/labels/queue/", {"status": "forming"})
    assert shown(forming) == second.pk
    db_only = user_client.get("/labels/queue/", {"pattern_type": "DB", "symbol": "005930"})
    assert shown(db_only) is None
    assert "Nothing left to decide" in db_only.content.decode()
    assert "1 of 1 decided" in db_only.content.decode()
    none = user_client.get("/labels/queue/", {"timeframe": "5m"})
    assert "No stored detection matches" in none.content.decode()
    assert user_client.get("/labels/queue/", {"status": "lost"}).status_code == 400
    assert user_client.get("/labels/queue/", {"after": "x"}).status_code == 400


def test_decisions_are_per_user_and_undo_returns_a_detection(
    user_client, user, other_user, detections
):
    first = detections[0]
    services.detection_decide(user=other_user, decision="reject", pattern=first)
    assert shown(user_client.get("/labels/queue/")) == first.pk  # someone else's decision
    label = services.detection_decide(user=user, decision="reject", pattern=first)
    assert shown(user_client.get("/labels/queue/")) != first.pk
    services.label_delete(label=label, actor=user)  # undo: undecided again
    assert shown(user_client.get("/labels/queue/")) == first.pk


def test_bad_decisions(user_client, client, detections):
    gone = user_client.post("/labels/queue/decide/", {"detection": 999999, "decision": "accept"})
    assert gone.status_code == 400 and "no longer stored" in gone.content.decode()
    htmx = user_client.post(
        "/labels/queue/decide/", {"detection": detections[0].pk, "decision": "maybe"}, **HTMX
    )
    assert htmx.status_code == 400 and 'id="queue-item"' in htmx.content.decode()
    assert not Label.objects.exists()
    user_client.logout()
    assert user_client.get("/labels/queue/").status_code == 302
