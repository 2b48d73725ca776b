"""Garbage in any query parameter of the label list, exports and review: 200/400/404, never 500."""

import pytest

pytestmark = pytest.mark.django_db

GARBAGE = [
    "",
    "x",
    "-1",
    "0",
    "nan",
    "1e309",
    "99999999999999999999",
    "2147483648",
    "\x00",
    "<script>",
    "0001-01-01",
    "9999-12-31",
]
FILTERS = ["symbol", "timeframe", "pattern_type", "outcome", "source", "date_from", "date_to"]
PARAMS = {
    "/labels/": [*FILTERS, "deleted", "page"],
    "/labels/export.csv": FILTERS,
    "/labels/export.jsonl": [*FILTERS, "with_bars", "context"],
    "/labels/export.label-studio.json": [*FILTERS, "context"],
    "/labels/review/": ["timeframe", "date_from", "date_to"],
    "/labels/new": ["symbol", "timeframe", "tf", "start", "end", "pattern_type"],
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
