"""Reading label exports back: our JSON Lines (`export.jsonl_chunks`) and Label Studio's JSON
export of tasks made by `export.label_studio_tasks` (or labelled in Label Studio with
`export.label_studio_config()`).

`parse_jsonl` and `parse_label_studio` turn text into `LabelRecord`s without touching the
database and raise `ImportProblem` naming the line (JSONL) or the task and result (Label
Studio). `services.labels_import` stores the records.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from analysis.models import Detector

from .export import TAG_SEPARATOR
from .models import Direction, LabelPatternType, Outcome, Source

MANUAL_WITH_DETECTOR = (
    "{where}: detector {detector!r} on a manual label; only an accepted or rejected detection "
    "names its detector."
)


class ImportProblem(ValueError):
    """Input that cannot become a label; the message names where it is."""


@dataclass
class LabelRecord:
    """One label to import; `where` names its place in the input ("line 3", "task 2 …")."""

    where: str
    symbol: str
    timeframe: str
    pattern_type: str
    start: datetime
    end: datetime
    direction: str = ""
    outcome: str = Outcome.UNKNOWN
    source: str = Source.MANUAL
    detector: str = ""
    detection_id: int | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    key_points: list[dict] = field(default_factory=list)


def _instant(value, where: str, name: str) -> datetime:
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        raise ImportProblem(f"{where}: {name} {value!r} is not an ISO 8601 instant.") from None
    if instant.tzinfo is None:
        raise ImportProblem(f"{where}: {name} {value!r} has no UTC offset.")
    return instant


def _choice(value, choices, where: str, name: str, default: str = "") -> str:
    value = default if value in (None, "") else str(value)
    if value and value not in choices.values:
        raise ImportProblem(f"{where}: {name} {value!r} is not one of {', '.join(choices.values)}.")
    return value


def _record(where: str, raw: dict) -> LabelRecord:
    missing = [
        k for k in ("symbol", "timeframe", "pattern_type", "start_ts", "end_ts") if not raw.get(k)
    ]
    if missing:
        raise ImportProblem(f"{where}: missing {', '.join(missing)}.")
    detection_id = raw.get("detection_id")
    if detection_id not in (None, ""):
        try:
            detection_id = int(detection_id)
        except (TypeError, ValueError):
            raise ImportProblem(
                f"{where}: detection_id {detection_id!r} is not a number."
            ) from None
    else:
        detection_id = None
    source = _choice(raw.get("source"), Source, where, "source", Source.MANUAL)
    # Files exported before labels named their detector have none: it stays empty.
    detector = _choice(raw.get("detector"), Detector, where, "detector")
    if detector and source == Source.MANUAL:
        raise ImportProblem(MANUAL_WITH_DETECTOR.format(where=where, detector=detector))
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.split(TAG_SEPARATOR) if t]
    points = []
    for number, point in enumerate(raw.get("key_points") or [], 1):
        try:
            points.append(
                {
                    "role": str(point["role"]),
                    "ts": _instant(point["ts"], where, f"key point {number}"),
                    "price": float(point["price"]),
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ImportProblem):
                raise
            raise ImportProblem(f"{where}: key point {number} needs role, ts and price.") from None
    return LabelRecord(
        where=where,
        symbol=str(raw["symbol"]).strip(),
        timeframe=str(raw["timeframe"]),
        pattern_type=_choice(raw["pattern_type"], LabelPatternType, where, "pattern_type"),
        start=_instant(raw["start_ts"], where, "start_ts"),
        end=_instant(raw["end_ts"], where, "end_ts"),
        direction=_choice(raw.get("direction"), Direction, where, "direction"),
        outcome=_choice(raw.get("outcome"), Outcome, where, "outcome", Outcome.UNKNOWN),
        source=source,
        detector=detector,
        detection_id=detection_id,
        notes=str(raw.get("notes") or ""),
        tags=[str(t) for t in tags],
        key_points=points,
    )


def parse_jsonl(text: str) -> list[LabelRecord]:
    """Records from our JSON Lines export, one object per line (blank lines skipped)."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportProblem(f"{where}: not JSON ({exc.msg}).") from None
        if not isinstance(raw, dict):
            raise ImportProblem(f"{where}: expected a JSON object.")
        records.append(_record(where, raw))
    return records


def _from_ms(value, where: str) -> str:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        raise ImportProblem(f"{where}: {value!r} is not a time in epoch milliseconds.") from None


def _meta(result: dict) -> dict:
    out = {}
    for text in (result.get("meta") or {}).get("text") or []:
        key, _, value = str(text).partition("=")
        out[key] = value
    return out


def parse_label_studio(text: str) -> list[LabelRecord]:
    """Records from a Label Studio JSON export (a list of tasks with `data.symbol`,
    `data.timeframe` and `annotations`); predictions are the detector's, not labels, and are
    ignored. A key point belongs to the pattern region named by its `parentID`, or else to the
    one region whose range holds it; its price is `price=` in its meta."""
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblem(f"line {exc.lineno}: not JSON ({exc.msg}).") from None
    if not isinstance(tasks, list):
        raise ImportProblem("a Label Studio export is a JSON list of tasks.")
    records = []
    for task_number, task in enumerate(tasks, 1):
        task_where = f"task {task_number}"
        if not isinstance(task, dict):
            raise ImportProblem(f"{task_where}: expected a JSON object.")
        data = task.get("data") or {}
        if not data.get("symbol") or not data.get("timeframe"):
            raise ImportProblem(f"{task_where}: data.symbol and data.timeframe are required.")
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            regions: dict[str, dict] = {}
            points = []
            for number, result in enumerate(annotation.get("result") or [], 1):
                if not isinstance(result, dict):
                    raise ImportProblem(f"{task_where}, result {number}: expected an object.")
                rid = str(result.get("id", ""))
                where = f"{task_where}, result {rid or number}"
                value = result.get("value") or {}
                name = result.get("from_name")
                if name == "keypoint":
                    points.append((where, result))
                    continue
                region = regions.setdefault(rid, {"where": where})
                if name == "label":
                    types = value.get("timeserieslabels") or []
                    if len(types) != 1:
                        raise ImportProblem(f"{where}: a pattern region has one pattern type.")
                    meta = _meta(result)
                    region.update(
                        pattern_type=types[0],
                        start_ts=_from_ms(value.get("start"), where),
                        end_ts=_from_ms(value.get("end"), where),
                        start_ms=int(value["start"]),
                        end_ms=int(value["end"]),
                        source=meta.get("source", ""),
                        detector=meta.get("detector", ""),
                        tags=meta.get("tags", ""),
                        detection_id=meta.get("detection_id"),
                    )
                elif name in ("direction", "outcome"):
                    region[name] = (value.get("choices") or [""])[0]
                elif name == "notes":
                    region["notes"] = "\n".join(value.get("text") or [])
            for where, result in points:
                value = result.get("value") or {}
                roles = value.get("timeserieslabels") or []
                price = _meta(result).get("price")
                if len(roles) != 1 or price is None:
                    raise ImportProblem(f"{where}: a key point has one role and price= in meta.")
                parent = result.get("parentID")
                if parent is None:
                    at = int(value["start"])
                    holding = [
                        rid
                        for rid, r in regions.items()
                        if "start_ms" in r and r["start_ms"] <= at <= r["end_ms"]
                    ]
                    if len(holding) != 1:
                        raise ImportProblem(
                            f"{where}: no single pattern region holds this key point."
                        )
                    parent = holding[0]
                if parent not in regions:
                    raise ImportProblem(f"{where}: parentID {parent!r} is not a pattern region.")
                regions[parent].setdefault("key_points", []).append(
                    {"role": roles[0], "ts": _from_ms(value.get("start"), where), "price": price}
                )
            for region in regions.values():
                if "pattern_type" not in region:
                    raise ImportProblem(f"{region['where']}: choices without a pattern region.")
                raw = {**region, "symbol": data["symbol"], "timeframe": data["timeframe"]}
                if source := raw.get("source"):
                    raw["source"] = source
                records.append(_record(region["where"], raw))
    return records


def parse_labels(text: str, *, format: str = "auto") -> list[LabelRecord]:
    """Records from `text` in `format` ("jsonl", "label-studio", or "auto": a JSON list is
    Label Studio's, anything else JSON Lines)."""
    if format == "auto":
        format = "label-studio" if text.lstrip().startswith("[") else "jsonl"
    return parse_label_studio(text) if format == "label-studio" else parse_jsonl(text)
