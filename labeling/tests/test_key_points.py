"""Label key points are bounded input: finite positive prices, a handful of points with plain role
names, refused by the form before any candle or label is read; resolved in one query.

Every way in is checked: the label form (`/labels/new/`), the Radar's HTMX panel (the same URL
with HX-Request, answered with the form fragment), and `/labels/<id>/edit/`.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import models, services
from labeling.models import (
    KEY_POINT_ROLES,
    MAX_KEY_POINTS,
    PATTERN_TYPE_KEYS,
    ROLE_KEYS,
    Label,
    LabelRevision,
    key_point_problem,
)
from labeling.tests.factories import HTMX, post_data
from marketdata.tests.factories import kst

NON_FINITE = ["NaN", "nan", "inf", "-inf", "Infinity", "1e309"]


@pytest.fixture
def label(user, stock):
    return services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DB",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 19),
        key_points=[{"role": "V1", "ts": kst(2024, 1, 9), "price": 68000.0}],
    )


def _post(client, way: str, label, key_points: str):
    data = post_data(key_points=key_points)
    if way == "edit":
        return client.post(f"/labels/{label.pk}/edit/", data)
    if way == "radar panel":
        return client.post("/labels/new/", data, **HTMX)
    return client.post("/labels/new/", data)


def _key_point_errors(response) -> list[str]:
    assert response.status_code == 400
    if "form" in (response.context or {}):
        return response.context["form"].errors.get("key_points", [])
    return [response.content.decode()]


WAYS = ["form", "radar panel", "edit"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("price", NON_FINITE)
def test_non_finite_price_is_a_field_error(user_client, label, way, price):
    response = _post(user_client, way, label, f"V1 2024-01-09 {price}")
    errors = _key_point_errors(response)
    assert any("Line 1" in e and "price" in e for e in errors), errors
    assert Label.objects.count() == 1 and LabelRevision.objects.count() == 1
    label.refresh_from_db()
    assert label.key_points[0]["price"] == 68000.0


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("=cmd|calc!A0 2024-01-09 68000", "role"),
        ("@SUM(1) 2024-01-09 68000", "role"),
        ("V<b> 2024-01-09 68000", "role"),
        ("ABCDEFGHIJKLMNOPQ 2024-01-09 68000", "role"),  # 17 characters
        ("V1 2024-01-09 0", "price"),
        ("V1 2024-01-09 -5", "price"),
        ("V1 2024-01-09 1e12", "price"),
    ],
)
def test_bad_role_or_price_is_a_field_error(user_client, label, way, line, expected):
    errors = _key_point_errors(_post(user_client, way, label, line))
    assert any("Line 1" in e and expected in e for e in errors), errors
    assert Label.objects.count() == 1


def test_a_role_may_appear_once(user_client, stock):
    response = user_client.post(
        "/labels/new/", post_data(key_points="V1 2024-01-09 68000\nV1 2024-01-17 68100")
    )
    errors = response.context["form"].errors["key_points"]
    assert response.status_code == 400
    assert any("Line 2" in e and "V1" in e and "once" in e for e in errors), errors


def test_at_most_the_stated_number_of_key_points(user_client, stock):
    days = [9, 10, 11, 12, 15, 16, 17, 18, 19, 8, 9]
    lines = [f"P{i + 1} 2024-01-{day:02d} 68000" for i, day in enumerate(days)]
    assert len(lines) == models.MAX_KEY_POINTS + 1
    response = user_client.post("/labels/new/", post_data(key_points="\n".join(lines)))
    assert response.status_code == 400
    errors = response.context["form"].errors["key_points"]
    assert any(f"At most {models.MAX_KEY_POINTS} key points" in e for e in errors), errors

    allowed = "\n".join(lines[: models.MAX_KEY_POINTS])
    response = user_client.post("/labels/new/", post_data(key_points=allowed))
    assert response.status_code == 302
    assert len(Label.objects.get().key_points) == models.MAX_KEY_POINTS


def test_the_form_states_the_limit(user_client, stock):
    body = user_client.get("/labels/new/").content.decode()
    assert f"up to {models.MAX_KEY_POINTS}" in body


def test_a_flood_of_key_points_is_refused_before_reading_bars_or_labels(user_client, stock):
    flood = "\n".join(f"P{i} 2024-01-09 68000" for i in range(50_000))  # about 1 MB
    with CaptureQueriesContext(connection) as queries:
        response = user_client.post("/labels/new/", post_data(key_points=flood))
    assert response.status_code == 400
    assert response.context["form"].errors["key_points"]
    touched = [
        q["sql"] for q in queries if "marketdata_candle" in q["sql"] or "labeling_" in q["sql"]
    ]
    assert touched == []


def test_key_points_resolve_in_one_query_however_many(user, stock):
    def queries_for(count: int) -> int:
        points = [
            {"role": f"P{i}", "ts": kst(2024, 1, 9 + i % 3), "price": 68000.0} for i in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            services.label_create(
                owner=user,
                stock=stock,
                timeframe="1d",
                pattern_type="DB",
                start=kst(2024, 1, 8),
                end=kst(2024, 1, 19),
                key_points=points,
            )
        return len(queries)

    assert queries_for(models.MAX_KEY_POINTS) == queries_for(1)


@pytest.mark.parametrize("price", [float("nan"), float("inf")])
def test_the_service_refuses_what_the_form_would(user, stock, price):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.label_create(
            owner=user,
            stock=stock,
            timeframe="1d",
            pattern_type="DB",
            start=kst(2024, 1, 8),
            end=kst(2024, 1, 19),
            key_points=[{"role": "V1", "ts": kst(2024, 1, 9), "price": price}],
        )
    assert "key_points" in exc.value.message_dict
    assert Label.objects.count() == 0


def test_the_role_table_snaps_peaks_to_the_high_and_valleys_to_the_low(user_client, stock):
    assert KEY_POINT_ROLES["DT"] == (("P1", "high"), ("V1", "low"), ("P2", "high"))
    assert KEY_POINT_ROLES["DB"] == (("V1", "low"), ("P1", "high"), ("V2", "low"))
    assert [role for role, _ in KEY_POINT_ROLES["HS"]] == ["LS", "NL1", "H", "NL2", "RS"]
    # The inverse head and shoulders mirrors it: same roles, every anchor flipped.
    flip = {"high": "low", "low": "high"}
    assert KEY_POINT_ROLES["IHS"] == tuple(
        (role, flip[anchor]) for role, anchor in KEY_POINT_ROLES["HS"]
    )
    for roles in KEY_POINT_ROLES.values():
        assert len(roles) <= len(ROLE_KEYS) <= MAX_KEY_POINTS
        for role, _ in roles:
            assert key_point_problem(role, 1.0, []) is None  # roles the server accepts
    assert len(set(PATTERN_TYPE_KEYS.values())) == len(PATTERN_TYPE_KEYS)
    # The form carries the table for static/js/labeling.js, and the `?` list spells it out.
    body = user_client.get("/labels/new/").content.decode()
    start = body.index('<script id="label-form-keys" type="application/json">')
    keys = json.loads(body[body.index(">", start) + 1 : body.index("</script>", start)])
    assert keys["roles"]["DB"] == [["V1", "low"], ["P1", "high"], ["V2", "low"]]
    assert keys["patternKeys"]["1"] == "DT" and keys["roleKeys"] == list(ROLE_KEYS)
    assert "5m" in keys["intraday"] and "1d" not in keys["intraday"]
    assert "LS ▼ NL1 ▲ H ▼ NL2 ▲ RS ▼" in body  # the inverse head and shoulders row
