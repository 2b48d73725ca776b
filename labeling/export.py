"""Label exports: CSV, JSON Lines (optionally with the OHLCV bars of each range) and
Label Studio time-series tasks.

Instants are ISO 8601 in KST (+09:00); prices in KRW, volume in shares. Each writer yields text
chunks so a view can stream them; the readers of the tests parse them back.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from itertools import groupby

import pandas as pd

from marketdata.krx_calendar import KST
from marketdata.selectors import candles_frame

from .models import Label, LabelPatternType, Source
from .selectors.ranges import label_context_bounds

CSV_COLUMNS = [
    "id",
    "owner",
    "symbol",
    "name",
    "timeframe",
    "pattern_type",
    "start_ts",
    "end_ts",
    "direction",
    "outcome",
    "source",
    "detection_id",
    "tags",
    "notes",
    "key_points",
    "created_at",
    "updated_at",
]
TAG_SEPARATOR = "|"
CHUNK_ROWS = 500
# The Label Studio labeling config the tasks of `label_studio_tasks` fit.
LABEL_STUDIO_CONFIG = """<View>
  <TimeSeriesLabels name="label" toName="ts">{labels}
  </TimeSeriesLabels>
  <TimeSeries name="ts" valueType="json" value="$ts" timeColumn="time"
              timeDisplayFormat="%Y-%m-%d %H:%M">
    <Channel column="close" legend="Close (KRW)"/>
    <Channel column="volume" legend="Volume (shares)"/>
  </TimeSeries>
</View>"""


def _iso(value) -> str:
    return value.astimezone(KST).isoformat()


# Columns read for an export row (`values()` keeps model instances out of the hot loop).
RECORD_FIELDS = {
    "id": "id",
    "owner": "owner__username",
    "symbol": "stock__code",
    "name": "stock__name",
    "timeframe": "timeframe",
    "pattern_type": "pattern_type",
    "start_ts": "start_ts",
    "end_ts": "end_ts",
    "direction": "direction",
    "outcome": "outcome",
    "source": "source",
    "detection_ref": "detection_ref",
    "tags": "tags",
    "notes": "notes",
    "key_points": "key_points",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _record(values: dict) -> dict:
    record = {name: values[column] for name, column in RECORD_FIELDS.items()}
    for name in ("start_ts", "end_ts", "created_at", "updated_at"):
        record[name] = _iso(record[name])
    record["detection_id"] = (record.pop("detection_ref") or {}).get("id")
    return {column: record[column] for column in CSV_COLUMNS}


def _export_queryset(labels):
    return labels.select_related("stock", "owner").order_by("id")


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); the
# full-width forms are what a Korean or Japanese input method types.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Excel reads a CSV as UTF-8 (삼성전자, not mojibake) only when it starts with a byte order mark.
CSV_BOM = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _inert(text: str) -> str:
    """Text made safe to open in a spreadsheet: a leading ' when it would start a formula.
    JSONL keeps the exact text."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_chunks(labels) -> Iterator[str]:
    """CSV text: a UTF-8 byte order mark, the header, one row per label; tags joined by "|", key
    points as JSON. Every text cell (owner, symbol, name, notes, tags: typed by users or taken
    from the stock master) that would start a spreadsheet formula gets a leading ' (`_inert`);
    the other columns are numbers, choices and ISO instants."""
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = labels.order_by("id").values(*RECORD_FIELDS.values()).iterator(chunk_size=2000)
    for count, values in enumerate(rows, 1):
        record = _record(values)
        record["tags"] = TAG_SEPARATOR.join(record["tags"])
        for column in ("owner", "symbol", "name", "notes", "tags"):
            record[column] = _inert(record[column])
        record["key_points"] = json.dumps(record["key_points"], ensure_ascii=False)
        record["detection_id"] = "" if record["detection_id"] is None else record["detection_id"]
        writer.writerow(record.values())
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _bars(frame: pd.DataFrame) -> list[dict]:
    return [
        {
            "ts": ts.isoformat(),
            "open": row.open,
            "high": row.high,
            "low": row.low,
            "close": row.close,
            "volume": int(row.volume),
        }
        for ts, row in frame.iterrows()
    ]


def label_bars(*, stock_id: int, timeframe: str, start_ts, end_ts, context: int = 0) -> dict:
    """{"bars": [...], "range": [i, j]}: a label's bars with `context` bars either side;
    `range` gives the indexes (inclusive) of the labelled bars inside `bars`."""
    first, last = label_context_bounds(
        stock_id=stock_id, timeframe=timeframe, start_ts=start_ts, end_ts=end_ts, context=context
    )
    frame = candles_frame(stock=stock_id, timeframe=timeframe, start=first, end=last)
    index = frame.index
    start = int(index.searchsorted(pd.Timestamp(start_ts).tz_convert(KST)))
    end = int(index.searchsorted(pd.Timestamp(end_ts).tz_convert(KST), side="right")) - 1
    return {"bars": _bars(frame), "range": [start, end]}


def jsonl_chunks(labels, *, with_bars: bool = False, context: int = 0) -> Iterator[str]:
    """One JSON object per line per label; with `with_bars`, also "bars" and "range"."""
    columns = [*RECORD_FIELDS.values(), "stock_id"]
    for values in labels.order_by("id").values(*columns).iterator(chunk_size=500):
        record = _record(values)
        if with_bars:
            record.update(
                label_bars(
                    stock_id=values["stock_id"],
                    timeframe=values["timeframe"],
                    start_ts=values["start_ts"],
                    end_ts=values["end_ts"],
                    context=context,
                )
            )
        yield json.dumps(record, ensure_ascii=False) + "\n"


def label_studio_tasks(labels: Iterable[Label], *, context: int = 0) -> list[dict]:
    """Label Studio import tasks, one per series (stock, timeframe).

    `data.ts` holds the bars covering all of the series' labels plus `context` bars either
    side (`time` in epoch milliseconds, prices in KRW); each manual or accepted label becomes a
    `timeserieslabels` result with its pattern type. Rejected detections are not spans of a
    pattern, so they are left out (the CSV and JSONL exports keep them, with their source).
    Fits `LABEL_STUDIO_CONFIG`.
    """
    positive = (
        _export_queryset(labels)
        .exclude(source=Source.REJECTED)
        .order_by("stock__code", "timeframe", "start_ts", "id")
    )
    tasks = []
    for (code, timeframe), group in groupby(positive, key=lambda x: (x.stock.code, x.timeframe)):
        series_labels = list(group)
        stock = series_labels[0].stock
        bounds = [
            label_context_bounds(
                stock_id=label.stock_id,
                timeframe=timeframe,
                start_ts=label.start_ts,
                end_ts=label.end_ts,
                context=context,
            )
            for label in series_labels
        ]
        first = min(b[0] for b in bounds)
        last = max(b[1] for b in bounds)
        frame = candles_frame(stock=stock, timeframe=timeframe, start=first, end=last)
        times = [int(ts.value // 1_000_000) for ts in frame.index]
        tasks.append(
            {
                "data": {
                    "symbol": code,
                    "name": stock.name,
                    "timeframe": timeframe,
                    "ts": {
                        "time": times,
                        "open": frame["open"].tolist(),
                        "high": frame["high"].tolist(),
                        "low": frame["low"].tolist(),
                        "close": frame["close"].tolist(),
                        "volume": frame["volume"].tolist(),
                    },
                },
                "annotations": [
                    {
                        "result": [
                            {
                                "id": f"label-{label.pk}",
                                "from_name": "label",
                                "to_name": "ts",
                                "type": "timeserieslabels",
                                "value": {
                                    "start": int(label.start_ts.timestamp() * 1000),
                                    "end": int(label.end_ts.timestamp() * 1000),
                                    "instant": label.start_ts == label.end_ts,
                                    "timeserieslabels": [label.pattern_type],
                                },
                                "meta": {
                                    "text": [
                                        f"direction={label.direction}",
                                        f"outcome={label.outcome}",
                                        f"source={label.source}",
                                    ]
                                },
                            }
                            for label in series_labels
                        ]
                    }
                ],
            }
        )
    return tasks


def label_studio_config() -> str:
    """The labeling config for `label_studio_tasks`, with every pattern type as a label."""
    labels = "".join(f'\n    <Label value="{value}"/>' for value in LabelPatternType.values)
    return LABEL_STUDIO_CONFIG.format(labels=labels)
