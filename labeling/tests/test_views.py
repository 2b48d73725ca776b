import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.text import format_lazy

from analysis.tests.factories import make_detection
from labeling import forms, services
from labeling.models import Label, LabelRevision, Source
from labeling.selectors import charts, detections, ranges
from labeling.tests.factories import HTMX, make_label, post_data
from marketdata.tests.factories import kst

# --- create -----------------------------------------------------------------------------------


def test_create_full_page_redirects_and_saves_snapped_label(user_client, user, stock):
    response = user_client.post("/labels/new/", post_data())
    label = Label.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/labels/{label.pk}/"
    assert label.owner == user
    assert (label.start_ts, label.end_ts) == (kst(2024, 1, 8), kst(2024, 1, 19))
    assert label.direction == "bullish"  # the usual direction of a double bottom
    assert label.outcome == "success"
    assert label.tags == ["study", "2024"]
    assert [p["role"] for p in label.key_points] == ["V1", "V2"]
    assert label.key_points[0] == {
        "role": "V1",
        "ts": "2024-01-09T00:00:00+09:00",
        "price": 68000.0,
    }
    assert label.source == Source.MANUAL
    revision = LabelRevision.objects.get(label=label)
    assert (revision.number, revision.action, revision.actor) == (1, "created", user)
    assert revision.snapshot["start_ts"] == "2024-01-08T00:00:00+09:00"


def test_create_htmx_returns_saved_fragment_and_trigger(user_client, stock):
    response = user_client.post(
        "/labels/new/",
        post_data(
            start="2024-01-08T00:00:00+09:00", end="2024-01-12T00:00:00+09:00", key_points=""
        ),
        **HTMX,
    )
    label = Label.objects.get()
    assert response.status_code == 200
    assert response["HX-Trigger"] == "radar:labels-changed"
    body = response.content.decode()
    assert f'data-label-id="{label.pk}"' in body
    assert "<html" not in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"start": "2024-01-19", "end": "2024-01-08"}, "end", ranges.END_BEFORE_START),
        ({"symbol": "999999"}, "symbol", format_lazy(forms.UNKNOWN_SYMBOL, symbol="999999")),
        ({"timeframe": "2h"}, "timeframe", "Select a valid choice."),
        ({"pattern_type": "zigzag"}, "pattern_type", "Select a valid choice."),
        ({"start": "2023-12-01"}, "start", "outside the stored bars"),
        ({"end": "2024-12-31"}, "end", "outside the stored bars"),
        ({"start": "last tuesday"}, "start", "ISO 8601"),
        ({"key_points": "P1 2024-02-20 70000"}, "key_points", "Key point P1"),
        ({"key_points": "P1 70000"}, "key_points", "Line 1"),
        ({"timeframe": "1w"}, "start", "No bars are stored for 005930 1w"),
    ],
)
def test_create_invalid_gives_400_with_field_error_and_saves_nothing(
    user_client, stock, overrides, field, message
):
    response = user_client.post("/labels/new/", post_data(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(str(message) in e for e in errors[field]), errors
    assert Label.objects.count() == 0
    assert LabelRevision.objects.count() == 0


def test_create_invalid_htmx_returns_form_fragment_with_errors(user_client, stock):
    response = user_client.post(
        "/labels/new/", post_data(start="2024-01-19", end="2024-01-08"), **HTMX
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert str(ranges.END_BEFORE_START) in body
    assert 'id="label-form"' in body and "<html" not in body


def test_intraday_needs_a_time_not_a_date(user_client, intraday_stock):
    response = user_client.post(
        "/labels/new/", post_data(symbol="035420", timeframe="5m", key_points="")
    )
    assert response.status_code == 400
    assert forms.DATE_NEEDS_DAILY in response.context["form"].errors["start"]
    response = user_client.post(
        "/labels/new/",
        post_data(
            symbol="035420",
            timeframe="5m",
            start="2024-03-04T10:02:00+09:00",
            end="2024-03-04T11:00",
            key_points="",
        ),
    )
    assert response.status_code == 302
    label = Label.objects.get()
    assert (label.start_ts, label.end_ts) == (kst(2024, 3, 4, 10, 0), kst(2024, 3, 4, 11, 0))


def test_get_form_is_prefilled_from_query(user_client, stock):
    response = user_client.get(
        "/labels/new/",
        {
            "symbol": "005930",
            "timeframe": "1d",
            "start": "2024-01-08T00:00:00+09:00",
            "end": "2024-01-12T00:00:00+09:00",
        },
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="005930"' in body
    assert 'value="2024-01-08"' in body and 'value="2024-01-12"' in body  # dates, not instants
    assert "T00:00" not in body
    assert '<option value="1d" selected>' in body
    assert "<html" not in body
    full = user_client.get("/labels/new/")
    assert "<html" in full.content.decode()


def test_pattern_type_has_no_default_and_is_required(user_client, stock):
    body = user_client.get("/labels/new/", {"symbol": "005930", "timeframe": "1d"}).content
    body = body.decode()
    select = body[
        body.index('name="pattern_type"') : body.index(
            "</select>", body.index('name="pattern_type"')
        )
    ]
    assert '<option value="" selected>' in select and "— choose —" in select
    assert select.count("selected") == 1  # nothing else pre-selected
    response = user_client.post("/labels/new/", post_data(pattern_type=""))
    assert response.status_code == 400
    assert response.context["form"].errors["pattern_type"] == [forms.CHOOSE_PATTERN_TYPE]
    assert not Label.objects.exists()


def test_intraday_start_and_end_keep_their_time(user_client, intraday_stock):
    response = user_client.get(
        "/labels/new/",
        {
            "symbol": "035420",
            "timeframe": "5m",
            "start": "2024-03-04T10:00:00+09:00",
            "end": "2024-03-04T11:05:00+09:00",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert 'value="2024-03-04 10:00"' in body and 'value="2024-03-04 11:05"' in body
    # What the form shows is what it accepts back.
    response = user_client.post(
        "/labels/new/",
        post_data(
            symbol="035420",
            timeframe="5m",
            start="2024-03-04 10:00",
            end="2024-03-04 11:05",
            key_points="H 2024-03-04T10:30 190500",
        ),
    )
    assert response.status_code == 302
    label = Label.objects.get()
    assert (label.start_ts, label.end_ts) == (kst(2024, 3, 4, 10, 0), kst(2024, 3, 4, 11, 5))
    edit = user_client.get(f"/labels/{label.pk}/edit/")
    assert edit.context["form"].initial["start"] == "2024-03-04 10:00"
    assert edit.context["form"].initial["key_points"] == "H 2024-03-04T10:30 190500"
    detail = user_client.get(f"/labels/{label.pk}/").content.decode()
    assert "2024-03-04 10:00 – 2024-03-04 11:05" in detail
    assert "H 2024-03-04 10:30 190,500 KRW" in detail


def test_daily_label_detail_shows_dates(user_client, user, stock):
    user_client.post("/labels/new/", post_data())
    label = Label.objects.get()
    body = user_client.get(f"/labels/{label.pk}/").content.decode()
    assert "2024-01-08 – 2024-01-19" in body
    assert "V1 2024-01-09 68,000 KRW" in body
    assert "T00:00" not in body and "+09:00" not in body


# --- detail, edit, delete, restore, history ------------------------------------------------


def test_detail_edit_delete_restore_history(user_client, user, stock):
    label = make_label(user, stock, notes="first")
    detail = user_client.get(f"/labels/{label.pk}/")
    assert detail.status_code == 200
    assert "Double top" in detail.content.decode()

    edit_page = user_client.get(f"/labels/{label.pk}/edit/")
    assert edit_page.status_code == 200
    assert edit_page.context["form"].initial["start"] == "2024-01-08"

    response = user_client.post(
        f"/labels/{label.pk}/edit/",
        post_data(
            pattern_type="DT", start="2024-01-09", end="2024-01-16", notes="second", key_points=""
        ),
    )
    assert response.status_code == 302
    label.refresh_from_db()
    assert (label.notes, label.start_ts, label.outcome) == ("second", kst(2024, 1, 9), "success")

    response = user_client.post(f"/labels/{label.pk}/delete/")
    assert response.status_code == 302
    label.refresh_from_db()
    assert label.is_deleted
    assert charts.label_overlays(user=user, stock=stock, timeframe="1d") == []

    response = user_client.post(f"/labels/{label.pk}/restore/")
    assert response.status_code == 302
    label.refresh_from_db()
    assert not label.is_deleted

    history = user_client.get(f"/labels/{label.pk}/history/")
    actions = [item["revision"].action for item in history.context["revisions"]]
    assert actions == ["restored", "deleted", "updated", "created"]
    updated = history.context["revisions"][2]
    changed = {field for field, _, _ in updated["changes"]}
    assert {"notes", "start_ts", "end_ts", "outcome"} <= changed
    assert ("notes", "first", "second") in updated["changes"]


def test_edit_invalid_keeps_label_unchanged(user_client, user, stock):
    label = make_label(user, stock)
    response = user_client.post(
        f"/labels/{label.pk}/edit/", post_data(start="2024-01-19", end="2024-01-08")
    )
    assert response.status_code == 400
    label.refresh_from_db()
    assert label.start_ts == kst(2024, 1, 8)
    assert label.revisions.count() == 1


def test_htmx_delete_from_list_returns_row_with_restore(user_client, user, stock):
    label = make_label(user, stock)
    response = user_client.post(f"/labels/{label.pk}/delete/", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="label-row-{label.pk}"' in body and "Restore" in body and "<html" not in body


# --- isolation, staff, CSRF ------------------------------------------------------------------


def test_other_users_label_is_404_everywhere(user_client, other_user, stock):
    label = make_label(other_user, stock)
    pk = label.pk
    for url in (f"/labels/{pk}/", f"/labels/{pk}/edit/", f"/labels/{pk}/history/"):
        assert user_client.get(url).status_code == 404, url
    for url in (
        f"/labels/{label.pk}/delete/",
        f"/labels/{label.pk}/restore/",
        f"/labels/{label.pk}/edit/",
    ):
        assert user_client.post(url, post_data()).status_code == 404, url
    label.refresh_from_db()
    assert not label.is_deleted and label.revisions.count() == 1
    listing = user_client.get("/labels/")
    assert listing.context["page_obj"].paginator.count == 0
    exported = user_client.get("/labels/export.csv")
    assert len(list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))) == 1


def test_staff_see_everyones_labels_read_only(staff_client, user, stock):
    label = make_label(user, stock)
    listing = staff_client.get("/labels/")
    assert [x.pk for x in listing.context["page_obj"]] == [label.pk]
    detail = staff_client.get(f"/labels/{label.pk}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "read-only" in body and f"/labels/{label.pk}/edit/" not in body
    assert staff_client.get(f"/labels/{label.pk}/edit/").status_code == 404
    assert staff_client.post(f"/labels/{label.pk}/delete/").status_code == 404
    label.refresh_from_db()
    assert not label.is_deleted


def test_csrf_is_enforced_on_every_form(user, stock):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    label = make_label(user, stock)
    posts = [
        ("/labels/new/", post_data()),
        (f"/labels/{label.pk}/edit/", post_data()),
        (f"/labels/{label.pk}/delete/", {}),
        (f"/labels/{label.pk}/restore/", {}),
        ("/labels/detections/decide/", {}),
        (f"/labels/detections/{label.pk}/undo/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Label.objects.count() == 1
    # With the token from the form page the same POST goes through.
    page = client.get("/labels/new/")
    token = page.context["csrf_token"]
    response = client.post("/labels/new/", post_data(csrfmiddlewaretoken=str(token)))
    assert response.status_code == 302
    assert Label.objects.count() == 2


# --- list filters -------------------------------------------------------------------------------


def test_list_filters(user_client, user, stock, other_stock):
    dt = make_label(user, stock, pattern_type="DT", outcome="success")
    db = make_label(
        user, stock, kst(2024, 2, 5), kst(2024, 2, 9), pattern_type="DB", outcome="failure"
    )
    other = make_label(user, other_stock, pattern_type="HS")
    accepted = make_label(
        user,
        stock,
        kst(2024, 3, 4),
        kst(2024, 3, 8),
        pattern_type="IHS",
        source=Source.ACCEPTED,
        detection_ref={"id": 7},
    )
    gone = make_label(user, stock, pattern_type="pennant")
    services.label_delete(label=gone, actor=user)

    def ids(**params):
        response = user_client.get("/labels/", params)
        assert response.status_code == 200
        return {x.pk for x in response.context["page_obj"]}

    assert ids() == {dt.pk, db.pk, other.pk, accepted.pk}
    assert ids(symbol="000660") == {other.pk}
    assert ids(symbol="삼성") == {dt.pk, db.pk, accepted.pk}
    assert ids(pattern_type="DB") == {db.pk}
    assert ids(outcome="failure") == {db.pk}
    assert ids(source="accepted_detection") == {accepted.pk}
    assert ids(timeframe="5m") == set()
    assert ids(date_from="2024-02-01", date_to="2024-02-29") == {db.pk}
    assert ids(date_to="2024-01-08") == {dt.pk, other.pk}
    assert ids(deleted="on") == {gone.pk}
    bad = user_client.get("/labels/", {"timeframe": "2h"})
    assert bad.status_code == 400


def test_list_is_paginated_and_htmx_returns_results_only(user_client, user, stock):
    for _ in range(51):
        make_label(user, stock)
    first = user_client.get("/labels/")
    assert len(first.context["page_obj"]) == 50
    second = user_client.get("/labels/", {"page": 2})
    assert len(second.context["page_obj"]) == 1
    fragment = user_client.get(
        "/labels/", {"pattern_type": "DT"}, HTTP_HX_TARGET="label-results", **HTMX
    )
    body = fragment.content.decode()
    assert 'id="label-results"' in body and "<html" not in body


def test_list_sorts_by_a_column_both_ways_and_keeps_filters_and_pages(
    user_client, user, stock, other_stock
):
    samsung_late = make_label(user, stock, kst(2024, 2, 5), kst(2024, 2, 9), pattern_type="DB")
    hynix = make_label(user, other_stock, pattern_type="HS", timeframe="1d")
    samsung_early = make_label(user, stock, pattern_type="DT")

    def codes_and_ids(**params):
        response = user_client.get("/labels/", params)
        assert response.status_code == 200
        return [(x.stock.code, x.pk) for x in response.context["page_obj"]]

    # Default: newest first; "-newest": oldest first.
    assert [pk for _, pk in codes_and_ids()] == [samsung_early.pk, hynix.pk, samsung_late.pk]
    assert [pk for _, pk in codes_and_ids(sort="-newest")] == [
        samsung_late.pk,
        hynix.pk,
        samsung_early.pk,
    ]
    # A column, then the other way round; equal symbols stay newest first.
    assert codes_and_ids(sort="symbol") == [
        ("000660", hynix.pk),
        ("005930", samsung_early.pk),
        ("005930", samsung_late.pk),
    ]
    assert codes_and_ids(sort="-symbol") == [
        ("005930", samsung_early.pk),
        ("005930", samsung_late.pk),
        ("000660", hynix.pk),
    ]
    assert [pk for _, pk in codes_and_ids(sort="range")][0] == samsung_late.pk
    assert [pk for _, pk in codes_and_ids(sort="-range")][-1] == samsung_late.pk
    # With a filter: both apply.
    assert [pk for _, pk in codes_and_ids(symbol="005930", sort="-newest")] == [
        samsung_late.pk,
        samsung_early.pk,
    ]
    # An unknown sort is a bad request, as on the Scanner.
    assert user_client.get("/labels/", {"sort": "owner__password"}).status_code == 400


def test_list_headers_sort_and_keep_filters_and_the_sort_survives_paging(user_client, user, stock):
    for _ in range(51):
        make_label(user, stock)
    body = user_client.get("/labels/", {"symbol": "005930", "sort": "symbol"}).content.decode()
    # The sorted column's header reverses it and says so; the others sort by themselves.
    assert 'href="?symbol=005930&amp;sort=-symbol"' in body
    assert 'data-sort="symbol" aria-sort="ascending"' in body
    assert 'href="?symbol=005930&amp;sort=name"' in body
    assert 'hx-target="#label-results"' in body
    # The next page keeps filter and sort, and so does the filter form (a hidden field).
    assert "?symbol=005930&amp;sort=symbol&amp;page=2" in body
    assert '<input type="hidden" name="sort" value="symbol" id="label-sort">' in body
    reversed_body = user_client.get("/labels/", {"sort": "-symbol"}).content.decode()
    assert 'data-sort="symbol" aria-sort="descending"' in reversed_body
    # A header click (HTMX): the results only, and the form's hidden sort updated out of band.
    fragment = user_client.get(
        "/labels/", {"sort": "-newest"}, HTTP_HX_TARGET="label-results", **HTMX
    ).content.decode()
    assert "<html" not in fragment and 'id="label-results"' in fragment
    assert 'id="label-sort" value="-newest" form="label-filters" hx-swap-oob="true"' in fragment


def test_exports_of_a_sorted_list_keep_their_id_order(user_client, user, stock, other_stock):
    """The export links carry the list's query, sort included: it is validated like the list's
    and the file stays in label id order (stable for diffs and imports)."""
    samsung = make_label(user, stock)
    hynix = make_label(user, other_stock, pattern_type="HS")
    response = user_client.get("/labels/export.csv", {"sort": "symbol"})
    rows = list(csv.DictReader(io.StringIO(_stream(response))))
    assert [row["id"] for row in rows] == [str(samsung.pk), str(hynix.pk)]
    assert user_client.get("/labels/export.csv", {"sort": "x"}).status_code == 400


# --- exports -------------------------------------------------------------------------------------


def _stream(response) -> str:
    # utf-8-sig: the CSV export starts with a byte order mark (labeling/tests/test_export_csv.py)
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_csv_export_parses_back_to_the_same_records(user_client, user, stock, other_stock):
    a = make_label(
        user,
        stock,
        notes='comma, "quote"\nnewline',
        tags=["a", "b c"],
        key_points=[{"role": "P1", "ts": kst(2024, 1, 9), "price": 71000}],
    )
    b = make_label(user, other_stock, pattern_type="HS", outcome="failure")
    response = user_client.get("/labels/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(_stream(response))))
    assert [int(r["id"]) for r in rows] == [a.pk, b.pk]
    first = rows[0]
    assert first["symbol"] == "005930" and first["timeframe"] == "1d"
    assert first["pattern_type"] == "DT" and first["direction"] == "bearish"
    assert first["start_ts"] == "2024-01-08T00:00:00+09:00"
    assert first["end_ts"] == "2024-01-12T00:00:00+09:00"
    assert first["notes"] == 'comma, "quote"\nnewline'
    assert first["tags"].split("|") == ["a", "b c"]
    assert json.loads(first["key_points"]) == a.key_points
    assert rows[1]["outcome"] == "failure"
    filtered = list(
        csv.DictReader(
            io.StringIO(_stream(user_client.get("/labels/export.csv", {"pattern_type": "HS"})))
        )
    )
    assert [int(r["id"]) for r in filtered] == [b.pk]


def test_csv_export_neutralises_spreadsheet_formulas(user_client, user, stock):
    make_label(user, stock, notes='=HYPERLINK("http://evil.example","x")', tags=["@SUM(A1)"])
    (row,) = csv.DictReader(io.StringIO(_stream(user_client.get("/labels/export.csv"))))
    assert row["notes"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["tags"] == "'@SUM(A1)"
    (record,) = [
        json.loads(x) for x in _stream(user_client.get("/labels/export.jsonl")).splitlines()
    ]
    assert record["notes"] == '=HYPERLINK("http://evil.example","x")'


def test_jsonl_export_with_bars_and_context(user_client, user, stock):
    label = make_label(user, stock)  # 2024-01-08 … 2024-01-12: 5 bars
    plain = [
        json.loads(line) for line in _stream(user_client.get("/labels/export.jsonl")).splitlines()
    ]
    assert plain == [
        {
            "id": label.pk,
            "owner": "alice",
            "symbol": "005930",
            "name": "삼성전자",
            "timeframe": "1d",
            "pattern_type": "DT",
            "start_ts": "2024-01-08T00:00:00+09:00",
            "end_ts": "2024-01-12T00:00:00+09:00",
            "direction": "bearish",
            "outcome": "unknown",
            "source": "manual",
            "detector": "",
            "detection_id": None,
            "tags": [],
            "notes": "",
            "key_points": [],
            "created_at": plain[0]["created_at"],
            "updated_at": plain[0]["updated_at"],
        }
    ]
    with_bars = json.loads(
        _stream(user_client.get("/labels/export.jsonl", {"with_bars": "1", "context": "3"}))
    )
    bars = with_bars["bars"]
    assert len(bars) == 5 + 3 + 3
    i, j = with_bars["range"]
    assert (bars[i]["ts"], bars[j]["ts"]) == (
        "2024-01-08T00:00:00+09:00",
        "2024-01-12T00:00:00+09:00",
    )
    assert j - i == 4
    assert bars[0]["ts"] == "2024-01-03T00:00:00+09:00"  # three weekdays before the 8th
    candle = stock.candles.get(timeframe="1d", ts=kst(2024, 1, 8))
    assert bars[i]["close"] == candle.close and bars[i]["volume"] == candle.volume
    # At the left edge of the stored bars the context is cut to what exists.
    edge = make_label(user, stock, kst(2024, 1, 2), kst(2024, 1, 3))
    lines = _stream(
        user_client.get("/labels/export.jsonl", {"with_bars": "1", "context": "2"})
    ).splitlines()
    edge_record = next(json.loads(x) for x in lines if json.loads(x)["id"] == edge.pk)
    assert edge_record["range"] == [0, 1] and len(edge_record["bars"]) == 4
    assert user_client.get("/labels/export.jsonl", {"context": "9999"}).status_code == 400


def test_label_studio_export(user_client, user, stock):
    label = make_label(user, stock)
    make_label(
        user,
        stock,
        kst(2024, 1, 15),
        kst(2024, 1, 16),
        source=Source.REJECTED,
        detection_ref={"id": 3},
    )
    tasks = json.loads(
        user_client.get("/labels/export.label-studio.json", {"context": "1"}).content
    )
    assert len(tasks) == 1
    task = tasks[0]
    assert task["data"]["symbol"] == "005930"
    series = task["data"]["ts"]
    assert len(series["time"]) == len(series["close"]) == 7
    region, direction, outcome = task["annotations"][0]["result"]
    assert direction["value"]["choices"] == ["bearish"]
    assert outcome["value"]["choices"] == ["unknown"]
    assert direction["id"] == outcome["id"] == region["id"]  # per-region choices
    result = region
    assert result["type"] == "timeserieslabels"
    assert result["value"]["timeserieslabels"] == ["DT"]
    assert result["value"]["start"] == int(kst(2024, 1, 8).timestamp() * 1000)
    assert result["value"]["end"] == int(kst(2024, 1, 12).timestamp() * 1000)
    assert result["value"]["start"] in series["time"] and result["value"]["end"] in series["time"]
    assert result["id"] == f"label-{label.pk}"
    # The list page shows the labeling config those tasks fit.
    page = user_client.get("/labels/").content.decode()
    assert (
        "&lt;TimeSeries name=&quot;ts&quot; valueType=&quot;json&quot; value=&quot;$ts&quot;"
        in page
    )
    assert "&lt;Label value=&quot;cup_handle&quot;/&gt;" in page


# --- accept / reject a detection ---------------------------------------------------------------


@pytest.fixture
def detection(stock):
    return make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19))


def decision_data(detection, decision="accept", **overrides):
    data = {
        "decision": decision,
        "detection": str(detection.pk),
        "next": "/radar/?symbol=005930&tf=1d",
    }
    data.update(overrides)
    return data


def test_accept_reject_and_undo_detection_with_htmx(user_client, user, stock, detection):
    response = user_client.post("/labels/detections/decide/", decision_data(detection), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "radar:labels-changed"
    label = Label.objects.get()
    assert label.source == Source.ACCEPTED and label.detected_pattern == detection
    assert (
        label.detection_ref["id"] == detection.pk and label.detection_ref["status"] == "completed"
    )
    assert (label.pattern_type, label.start_ts, label.end_ts) == (
        "DB",
        kst(2024, 1, 8),
        kst(2024, 1, 19),
    )
    body = response.content.decode()
    assert "Accepted" in body and f"/labels/detections/{label.pk}/undo/" in body

    # Changing one's mind on the same detection switches the label, no duplicate.
    user_client.post("/labels/detections/decide/", decision_data(detection, "reject"), **HTMX)
    label.refresh_from_db()
    assert Label.objects.count() == 1 and label.source == Source.REJECTED

    undo = user_client.post(f"/labels/detections/{label.pk}/undo/", **HTMX)
    assert undo.status_code == 200
    assert 'value="accept"' in undo.content.decode()
    label.refresh_from_db()
    assert label.is_deleted
    assert [r.action for r in label.revisions.order_by("number")] == [
        "created",
        "updated",
        "deleted",
    ]


def test_a_decision_names_the_detector_of_its_detection(user_client, user, stock, detection):
    structural = make_detection(
        stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), detector="structural"
    )
    user_client.post("/labels/detections/decide/", decision_data(structural, "reject"), **HTMX)
    label = Label.objects.get()
    assert (label.source, label.detector) == (Source.REJECTED, "structural")
    assert label.revisions.get().snapshot["detector"] == "structural"
    detail = user_client.get(label.get_absolute_url()).content.decode()
    assert '<dd class="label-detector">Structural (original)</dd>' in detail
    assert "(Structural (original))" in user_client.get("/labels/").content.decode()

    # The ATR detector's detection of the same range is the same detection to the user: deciding
    # on it changes the one label, which now names the ATR detector and links to its detection.
    atr = make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), detector="atr")
    user_client.post("/labels/detections/decide/", decision_data(atr, "reject"), **HTMX)
    label.refresh_from_db()
    assert Label.objects.count() == 1
    assert (label.source, label.detector, label.detected_pattern_id) == (
        Source.REJECTED,
        "atr",
        atr.pk,
    )
    assert label.detection_ref["id"] == atr.pk
    assert label.revisions.order_by("number").last().changed_fields == [
        "detector",
        "detection_ref",
    ]
    # A user's own label names no detector.
    assert make_label(user, stock).detector == ""
    assert "label-detector" not in user_client.get("/labels/?source=manual").content.decode()


def test_decision_survives_reanalysis(user_client, user, stock, detection):
    user_client.post("/labels/detections/decide/", decision_data(detection), **HTMX)
    label = Label.objects.get()
    stale_id = detection.pk
    detection.delete()  # a re-analysis replaces the rows…
    label.refresh_from_db()
    assert label.detected_pattern is None and label.detection_ref["pattern_type"] == "DB"
    again = make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19))  # …with the same pattern
    response = user_client.post("/labels/detections/decide/", decision_data(again), **HTMX)
    assert Label.objects.count() == 1  # still the one decision
    assert "Accepted" in response.content.decode()
    stale = user_client.post(
        "/labels/detections/decide/",
        {"decision": "accept", "detection": str(stale_id)},
        **HTMX,
    )
    assert stale.status_code == 400
    assert "no longer stored" in stale.content.decode()
    assert f'id="detection-actions-{stale_id}"' in stale.content.decode()


def test_decide_without_htmx_redirects_back(user_client, stock, detection):
    response = user_client.post("/labels/detections/decide/", decision_data(detection))
    assert response.status_code == 302
    assert response["Location"] == "/radar/?symbol=005930&tf=1d"
    other = make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 9))
    offsite = user_client.post(
        "/labels/detections/decide/", decision_data(other, "reject", next="https://evil.example/")
    )
    assert offsite["Location"].startswith("/labels/")


def test_decide_invalid_saves_nothing(user_client, stock):
    outside = make_detection(stock, "DT", kst(2023, 1, 2), kst(2023, 1, 20))  # before the bars
    response = user_client.post("/labels/detections/decide/", decision_data(outside), **HTMX)
    assert response.status_code == 400
    assert "outside the stored bars" in response.content.decode()
    assert Label.objects.count() == 0


def test_detection_actions_partial_shows_the_users_decision_without_queries(
    rf, user, other_user, stock, detection, django_assert_num_queries
):
    from django.template.loader import render_to_string

    def render(viewer):
        request = rf.get("/radar/")
        request.user = viewer
        decision = detections.detection_decisions(user=viewer, pattern_ids=[detection.pk]).get(
            detection.pk
        )
        with django_assert_num_queries(0):
            return render_to_string(
                "labeling/partials/_detection_actions.html",
                {"pattern": {"id": detection.pk, "type": "DB"}, "decision": decision},
                request=request,
            )

    html = render(user)
    assert 'name="decision" value="accept"' in html and f'value="{detection.pk}"' in html
    services.detection_decide(user=user, decision="accept", pattern=detection)
    html = render(user)
    assert "Accepted as" in html and "Undo" in html
    assert "Accepted as" not in render(other_user)


def test_radar_link_of_a_label_opens_the_radar_focused_on_it(user_client, user, stock):
    label = make_label(user, stock)
    detail = user_client.get(f"/labels/{label.pk}/")
    url = detail.context["radar_url"]
    assert url.startswith(
        "/radar/?symbol=005930&tf=1d&focus_start=2024-01-08T00%3A00%3A00%2B09%3A00"
    )
    response = user_client.get(url)
    assert response.status_code == 200
    assert response.context["params"]["focus_start"] == kst(2024, 1, 8)
    assert response.context["params"]["focus_end"] == kst(2024, 1, 12)


def test_list_page_queries_do_not_grow_with_rows(
    user_client, user, stock, django_assert_max_num_queries
):
    for _ in range(30):
        make_label(user, stock)
    with django_assert_max_num_queries(8):
        response = user_client.get("/labels/")
    assert len(response.context["page_obj"]) == 30


def test_history_spells_out_list_values(user_client, user, stock):
    label = make_label(user, stock)
    services.label_update(
        label=label,
        actor=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
        tags=["swing", "2024"],
        key_points=[{"role": "P1", "ts": kst(2024, 1, 9), "price": 71200}],
    )
    body = user_client.get(f"/labels/{label.pk}/history/").content.decode()
    assert "<b>tags</b>: – → swing, 2024" in body
    assert "P1 2024-01-09T00:00:00+09:00 71,200" in body


def test_detail_has_a_mini_chart_of_the_range_with_context(user_client, user, stock):
    label = make_label(user, stock)  # 2024-01-08 … 01-12; 4 bars stored before, plenty after
    figure = user_client.get(f"/labels/{label.pk}/").context["figure"]
    price = next(t for t in figure["data"] if t["name"] == "Price")
    assert len(price["x"]) == 4 + 5 + 30  # cut at the first stored bar on the left
    (box,) = [
        s for s in figure["layout"]["shapes"] if s.get("name") == "labels" and s["type"] == "rect"
    ]
    assert (box["x0"], box["x1"]) == (4 - 0.5, 8 + 0.5) or box["x0"] < 4 < 8 < box["x1"]
    assert "radar" not in figure


def test_empty_list_says_how_to_add_labels(user_client):
    response = user_client.get("/labels/")
    assert response.status_code == 200
    assert "No labels match" in response.content.decode()
    assert "Export this filter" in response.content.decode()


def test_old_urls_without_the_slash_redirect_permanently(user_client, user, stock):
    label = make_label(user, stock)
    pk = label.pk
    for old, new in (
        (f"/labels/{pk}/edit", f"/labels/{pk}/edit/"),
        (f"/labels/{pk}/history", f"/labels/{pk}/history/"),
        ("/labels/new?symbol=005930&timeframe=1d", "/labels/new/?symbol=005930&timeframe=1d"),
    ):
        response = user_client.get(old)
        assert (response.status_code, response["Location"]) == (301, new), old
        assert user_client.get(new).status_code == 200
    # A form posted to an old action URL is posted again to the new one (308 keeps the body).
    response = user_client.post(f"/labels/{pk}/delete", {"next": "/labels/"})
    assert (response.status_code, response["Location"]) == (308, f"/labels/{pk}/delete/")
    label.refresh_from_db()
    assert not label.is_deleted  # the redirect itself changes nothing
    assert reverse("labeling:edit", args=[pk]) == f"/labels/{pk}/edit/"
