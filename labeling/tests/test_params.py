"""Garbage in any query parameter of the label list, exports and review: 200/400/404, never 500."""

import pytest

from tests.factories import GARBAGE

pytestmark = pytest.mark.django_db

FILTERS = ["symbol", "timeframe", "pattern_type", "outcome", "source", "date_from", "date_to"]
PARAMS = {
    "/labels/": [*FILTERS, "deleted", "page", "sort"],
    "/labels/export.csv": FILTERS,
    "/labels/export.jsonl": [*FILTERS, "with_bars", "context"],
    "/labels/export.label-studio.json": [*FILTERS, "context"],
    "/labels/review/": ["timeframe", "date_from", "date_to"],
    "/labels/new/": ["symbol", "timeframe", "tf", "start", "end", "pattern_type"],
}


@pytest.mark.parametrize("path", list(PARAMS))
def test_garbage_parameters_never_500(user_client, stock, path):
    failures = []
    for name in PARAMS[path]:
        for value in GARBAGE:
            response = user_client.get(path, {name: value})
            if path.startswith("/labels/export"):
                b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code not in (200, 400, 404):
                failures.append((name, value, response.status_code))
    assert failures == []


POST_FIELDS = ["symbol", "timeframe", "pattern_type", "start", "end", "direction", "outcome"]
POST_GARBAGE = [*GARBAGE, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "P1 x 1"]
VALID_LABEL = {
    "symbol": "005930",
    "timeframe": "1d",
    "pattern_type": "DT",
    "start": "2024-01-10",
    "end": "2024-01-24",
    "direction": "bearish",
    "outcome": "unknown",
}


def test_garbage_label_form_fields_never_500(user_client, stock):
    failures = []
    for name in [*POST_FIELDS, "key_points", "tags", "notes"]:
        for value in POST_GARBAGE:
            response = user_client.post("/labels/new/", {**VALID_LABEL, name: value})
            if response.status_code not in (302, 400):
                failures.append((name, value, response.status_code))
    for value in POST_GARBAGE:
        for decision in ("accept", value):
            response = user_client.post(
                "/labels/detections/decide/", {"decision": decision, "detection": value}
            )
            if response.status_code != 400:
                failures.append(("detection", value, response.status_code))
    assert failures == []
