"""Label exports: CSV, JSON Lines (optionally with the OHLCV bars of each range) and
Label Studio time-series tasks.

Instants are ISO 8601 in KST (+09:00); prices in KRW, volume in shares. Each writer yields text
chunks so a view can stream them; the readers of the tests parse them back. `detector` names
the swing detector of the detection an accepted/rejected label answers (empty on the user's own
labels): provenance, as in `Label.detector`.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby

import pandas as pd

from analysis.models import PatternInstance
from marketdata.krx_calendar import KST
from marketdata.selectors import candles_frame

from .models import Direction, Label, LabelPatternType, Outcome, Source
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
    "detector",
    "detection_id",
    "tags",
    "notes",
    "key_points",
    "created_at",
    "updated_at",
]
TAG_SEPARATOR = "|"
CHUNK_ROWS = 500
# The Label Studio labeling config the tasks of `label_studio_tasks` fit: a pattern region
# ("label"), its key points as instant regions ("keypoint", price in the result's meta, the
# pattern's region as parentID), per-region choices of direction and outcome, per-region notes.
LABEL_STUDIO_CONFIG = """<View>
  <TimeSeriesLabels name="label" toName="ts">{labels}
  </TimeSeriesLabels>
  <TimeSeriesLabels name="keypoint" toName="ts">{roles}
  </TimeSeriesLabels>
  <Choices name="direction" toName="ts" perRegion="true" choice="single">{directions}
  </Choices>
  <Choices name="outcome" toName="ts" perRegion="true" choice="single">{outcomes}
  </Choices>
  <TextArea name="notes" toName="ts" perRegion="true"/>
  <TimeSeries name="ts" valueType="json" value="$ts" timeColumn="time"
              timeDisplayFormat="%Y-%m-%d %H:%M">
    <Channel column="close" legend="Close (KRW)"/>
    <Channel column="volume" legend="Volume (shares)"/>
  </TimeSeries>
</View>"""
# Key point roles the config offers besides those of the exported labels: the detector's (double
# tops/bottoms: P1 V1 P2 / V1 P1 V2; head and shoulders: LS NL1 H NL2 RS).
KEY_POINT_ROLES = ("P1", "P2", "P3", "V1", "V2", "V3", "LS", "NL1", "H", "NL2", "RS")
LS_META_PREFIXES = ("source=", "detector=", "tags=", "detection_id=")


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
    "detector": "detector",
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


def _ms(instant) -> int:
    return int(instant.timestamp() * 1000)


def _ls_value(start_ts, end_ts) -> dict:
    return {"start": _ms(start_ts), "end": _ms(end_ts), "instant": start_ts == end_ts}


def _ls_label_results(label: Label) -> list[dict]:
    """The annotation results of one label: its region, direction and outcome choices, notes
    and key points (see LABEL_STUDIO_CONFIG)."""
    region = f"label-{label.pk}"
    value = _ls_value(label.start_ts, label.end_ts)
    detection_id = (label.detection_ref or {}).get("id")
    meta = [f"source={label.source}", f"tags={TAG_SEPARATOR.join(label.tags)}"]
    if label.detector:
        meta.append(f"detector={label.detector}")
    if detection_id is not None:
        meta.append(f"detection_id={detection_id}")
    results = [
        {
            "id": region,
            "from_name": "label",
            "to_name": "ts",
            "type": "timeserieslabels",
            "value": {**value, "timeserieslabels": [label.pattern_type]},
            "meta": {"text": meta},
        },
        {
            "id": region,
            "from_name": "direction",
            "to_name": "ts",
            "type": "choices",
            "value": {**value, "choices": [label.direction]},
        },
        {
            "id": region,
            "from_name": "outcome",
            "to_name": "ts",
            "type": "choices",
            "value": {**value, "choices": [label.outcome]},
        },
    ]
    if label.notes:
        results.append(
            {
                "id": region,
                "from_name": "notes",
                "to_name": "ts",
                "type": "textarea",
                "value": {**value, "text": [label.notes]},
            }
        )
    for point in label.key_points:
        ts = datetime.fromisoformat(point["ts"])
        results.append(
            {
                "id": f"{region}-{point['role']}",
                "parentID": region,
                "from_name": "keypoint",
                "to_name": "ts",
                "type": "timeserieslabels",
                "value": {**_ls_value(ts, ts), "timeserieslabels": [point["role"]]},
                "meta": {"text": [f"price={point['price']:g}"]},
            }
        )
    return results


def model_version(*, detector: str, engine_version: str) -> str:
    """The Label Studio `model_version` of a detector's predictions, e.g. "atr engine 5"."""
    return f"{detector} engine {engine_version}"


def _ls_predictions(detections: list[PatternInstance]) -> list[dict]:
    """One Label Studio prediction per detector and engine version: its stored detections of
    the task's bars as pattern regions, each with its score (0..1)."""
    groups: dict[str, list[PatternInstance]] = {}
    for detection in detections:
        version = model_version(
            detector=detection.detector, engine_version=detection.run.engine_version
        )
        groups.setdefault(version, []).append(detection)
    return [
        {
            "model_version": version,
            "score": round(sum(d.score for d in found) / len(found), 4),
            "result": [
                {
                    "id": f"detection-{d.pk}",
                    "from_name": "label",
                    "to_name": "ts",
                    "type": "timeserieslabels",
                    "value": {
                        **_ls_value(d.start_ts, d.end_ts),
                        "timeserieslabels": [d.pattern_type],
                    },
                    "score": d.score,
                    "meta": {"text": [f"status={d.status}"]},
                }
                for d in found
            ],
        }
        for version, found in sorted(groups.items())
    ]


def label_studio_tasks(labels: Iterable[Label], *, context: int = 0) -> list[dict]:
    """Label Studio import tasks, one per series (stock, timeframe).

    `data.ts` holds the bars covering all of the series' labels plus `context` bars either
    side (`time` in epoch milliseconds, prices in KRW). `annotations`: each manual or accepted
    label becomes a `timeserieslabels` region with its pattern type, per-region choices of
    direction and outcome, its notes and its key points (instant regions, price in `meta`,
    `parentID` the pattern's region); `meta` keeps its source, tags, and for an accepted
    detection its detector and detection id.
    Rejected detections are not spans of a pattern, so they are left out (the CSV and JSONL
    exports keep them, with their source). `predictions`: the detector's stored detections
    (default-parameter runs, every detector) inside the task's bars, one prediction per
    detector with `model_version` = detector and engine version. Fits `label_studio_config()`;
    `manage.py import_labels` reads the export back.
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
        detections = list(
            PatternInstance.objects.filter(
                stock=stock,
                timeframe=timeframe,
                run__is_default=True,
                start_ts__gte=first,
                end_ts__lte=last,
            )
            .select_related("run")
            .defer("run__result", "run__params", "features", "points")
            .order_by("start_ts", "pk")
        )
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
                            result for label in series_labels for result in _ls_label_results(label)
                        ]
                    }
                ],
                "predictions": _ls_predictions(detections),
            }
        )
    return tasks


def label_studio_config(*, roles: Iterable[str] = ()) -> str:
    """The labeling config for `label_studio_tasks`: every pattern type as a label, the
    detector's key point roles plus `roles` (those of the exported labels), the direction and
    outcome choices."""
    labels = "".join(f'\n    <Label value="{value}"/>' for value in LabelPatternType.values)
    all_roles = list(dict.fromkeys([*KEY_POINT_ROLES, *sorted(set(roles))]))
    role_tags = "".join(f'\n    <Label value="{role}"/>' for role in all_roles)
    directions = "".join(f'\n    <Choice value="{v}"/>' for v in Direction.values)
    outcomes = "".join(f'\n    <Choice value="{v}"/>' for v in Outcome.values)
    return LABEL_STUDIO_CONFIG.format(
        labels=labels, roles=role_tags, directions=directions, outcomes=outcomes
    )
