"""The CSV export opens safely in a spreadsheet: no cell of text anyone typed (label notes and tags,
the owner's user name, the stock's name and code from the stock master) can start a formula, and
the file starts with a UTF-8 byte order mark so Excel on a Korean Windows reads 삼성전자 right."""

import csv
import io

import pandas as pd
import pytest
from django.core.management import call_command

from labeling import services
from labeling.export import CSV_COLUMNS
from labeling.tests.factories import price_frame
from marketdata.krx_calendar import KST
from marketdata.tests.factories import kst, make_candles, make_stock

BOM = "\ufeff".encode()
FORMULAS = [
    '=cmd|" /C calc"!A0',
    "+SUM(1)",
    "-2+3",
    "@SUM+1",
    "\t=1+1",
    "\r=1+1",
    "＝SUM(1)",  # full-width, as a Korean or Japanese input method types it
]


def _label(owner, stock, **kw):
    return services.label_create(
        owner=owner,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
        **kw,
    )


def _rows(data: bytes) -> list[dict]:
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_text_column_is_kept_from_starting_a_formula(client, django_user_model, formula):
    owner = django_user_model.objects.create_user(formula.strip() or "x", password="pw-1234567")
    stock = make_stock(code="+1234", name=formula)
    make_candles(stock, "1d", price_frame(pd.bdate_range("2024-01-02", periods=20, tz=KST)))
    _label(owner, stock, notes=formula, tags=[formula])
    client.force_login(owner)
    (row,) = _rows(b"".join(client.get("/labels/export.csv").streaming_content))
    for column in ("owner", "symbol", "name", "notes", "tags"):
        assert row[column].startswith("'"), (column, row[column])
    assert row["name"] == "'" + formula
    dangerous = [c for c in CSV_COLUMNS if row[c][:1] in ("=", "+", "-", "@", "\t", "\r", "＝")]
    assert dangerous == []


def test_plain_text_is_left_as_it_is(user_client, user, stock):
    _label(user, stock, notes="textbook double top", tags=["study"])
    (row,) = _rows(b"".join(user_client.get("/labels/export.csv").streaming_content))
    assert (row["owner"], row["symbol"], row["name"]) == ("alice", "005930", "삼성전자")
    assert (row["notes"], row["tags"]) == ("textbook double top", "study")


def test_csv_starts_with_a_bom_and_says_utf8(user_client, user, stock):
    for day in (8, 15, 22):
        services.label_create(
            owner=user,
            stock=stock,
            timeframe="1d",
            pattern_type="DB",
            start=kst(2024, 1, day),
            end=kst(2024, 1, day + 2),
        )
    response = user_client.get("/labels/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(response.streaming_content)
    assert data.startswith(BOM + b"id,owner,")
    assert data.count(BOM) == 1
    # What Excel does with a BOM: read the bytes as UTF-8, so the Korean name survives.
    assert [r["name"] for r in _rows(data)] == ["삼성전자"] * 3


def test_export_command_writes_the_same_csv(user, stock, tmp_path):
    _label(user, stock, notes="@SUM+1")
    target = tmp_path / "labels.csv"
    call_command("export_labels", "--user", "alice", "--format", "csv", "--output", str(target))
    (row,) = _rows(target.read_bytes())
    assert row["notes"] == "'@SUM+1" and row["name"] == "삼성전자"
