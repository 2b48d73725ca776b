"""Exports that round-trip: `manage.py import_labels` reads the JSON Lines and the Label Studio
exports back into another user's labels (idempotent, all or nothing, with a dry run)."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from analysis.engine import ENGINE_VERSION
from analysis.tests.factories import make_detection
from labeling import export, services
from labeling.models import Label
from labeling.tests.factories import make_label
from marketdata.tests.factories import kst

# Fields that describe a label itself (not who owns it or when the row was written).
COMPARED = (
    "symbol",
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
)


@pytest.fixture
def labelled(user, stock, other_stock):
    """Alice's labels: a manual one with key points, notes and tags; an accepted detection of the
    ATR detector, a rejected and an accepted one of the structural detector; one on another
    stock."""
    make_label(
        user,
        stock,
        kst(2024, 1, 8),
        kst(2024, 1, 19),
        pattern_type="DB",
        direction="bullish",
        outcome="success",
        notes="textbook, 두 번째 바닥",
        tags=["study", "2024"],
        key_points=[
            {"role": "V1", "ts": kst(2024, 1, 9), "price": 68000.0},
            {"role": "P1", "ts": kst(2024, 1, 12), "price": 71250.5},
            {"role": "V2", "ts": kst(2024, 1, 17), "price": 68100.0},
        ],
    )
    accepted = make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), detector="atr")
    services.detection_decide(user=user, decision="accept", pattern=accepted)
    rejected = make_detection(stock, "HS", kst(2024, 2, 19), kst(2024, 3, 1), detector="structural")
    services.detection_decide(user=user, decision="reject", pattern=rejected)
    make_label(user, other_stock, kst(2024, 1, 22), kst(2024, 1, 26), pattern_type="triangle_sym")
    structural = make_detection(
        stock, "DB", kst(2024, 1, 9), kst(2024, 1, 19), detector="structural"
    )
    services.detection_decide(user=user, decision="accept", pattern=structural)
    return user


def detectors(user) -> dict[tuple, str]:
    """{(source, pattern type): detector} of the user's decisions."""
    return {
        (label.source, label.pattern_type): label.detector
        for label in Label.objects.owned_by(user).decisions()
    }


def records(user) -> list[dict]:
    labels = Label.objects.owned_by(user).alive()
    rows = [json.loads(line) for line in "".join(export.jsonl_chunks(labels)).splitlines()]
    return sorted(
        ({k: row[k] for k in COMPARED} for row in rows),
        key=lambda r: (r["symbol"], r["start_ts"]),
    )


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_labels", *args, stdout=out)
    return out.getvalue()


def test_jsonl_round_trip(labelled, other_user, tmp_path):
    path = tmp_path / "labels.jsonl"
    call_command("export_labels", "--user", "alice", "--format", "jsonl", "--output", str(path))
    assert "Would add 5 label(s)" in run(str(path), "--user", "bob", "--dry-run")
    assert not Label.objects.owned_by(other_user).exists()
    out = run(str(path), "--user", "bob")
    assert "Added 5 label(s) for bob; 0 already present" in out
    assert records(other_user) == records(labelled)
    assert detectors(other_user) == {
        ("accepted_detection", "DT"): "atr",
        ("rejected_detection", "HS"): "structural",
        ("accepted_detection", "DB"): "structural",
    }
    for label in Label.objects.owned_by(other_user).decisions():
        assert label.detected_pattern.detector == label.detector  # linked to that detector's
    assert "Added 0 label(s) for bob; 5 already present" in run(str(path), "--user", "bob")
    assert Label.objects.owned_by(other_user).count() == 5


def test_label_studio_round_trip(labelled, other_user, tmp_path, user_client):
    tasks = json.loads(user_client.get("/labels/export.label-studio.json").content)
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    assert "Added 4 label(s)" in run(str(path), "--user", "bob")
    expected = [r for r in records(labelled) if r["source"] != "rejected_detection"]
    assert records(other_user) == expected
    assert detectors(other_user) == {
        ("accepted_detection", "DT"): "atr",
        ("accepted_detection", "DB"): "structural",
    }
    assert "Added 0 label(s) for bob; 4 already present" in run(str(path), "--user", "bob")


def test_csv_and_label_studio_name_the_detector(labelled, user_client):
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(user_client.get("/labels/export.csv").streaming_content).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert sorted((r["source"], r["pattern_type"], r["detector"]) for r in rows) == [
        ("accepted_detection", "DB", "structural"),
        ("accepted_detection", "DT", "atr"),
        ("manual", "DB", ""),
        ("manual", "triangle_sym", ""),
        ("rejected_detection", "HS", "structural"),
    ]
    tasks = json.loads(user_client.get("/labels/export.label-studio.json").content)
    metas = {
        tuple(sorted(m for m in r["meta"]["text"] if m.startswith(("source=", "detector="))))
        for task in tasks
        for r in task["annotations"][0]["result"]
        if r["from_name"] == "label"
    }
    assert metas == {
        ("source=manual",),
        ("detector=atr", "source=accepted_detection"),
        ("detector=structural", "source=accepted_detection"),
    }


def test_jsonl_without_the_detector_column_still_imports(labelled, other_user, tmp_path):
    """Files exported before labels named their detector: the decisions import with none."""
    lines = "".join(export.jsonl_chunks(Label.objects.owned_by(labelled))).splitlines()
    old = []
    for line in lines:
        record = json.loads(line)
        del record["detector"]
        old.append(json.dumps(record, ensure_ascii=False))
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(old), encoding="utf-8")
    assert "Added 5 label(s) for bob" in run(str(path), "--user", "bob")
    assert set(detectors(other_user).values()) == {""}
    assert [r | {"detector": ""} for r in records(labelled)] == records(other_user)


def test_label_studio_task_carries_predictions_key_points_and_choices(labelled, user_client):
    tasks = json.loads(user_client.get("/labels/export.label-studio.json").content)
    task = next(t for t in tasks if t["data"]["symbol"] == "005930")
    versions = {p["model_version"]: p for p in task["predictions"]}
    assert set(versions) == {f"atr engine {ENGINE_VERSION}", f"structural engine {ENGINE_VERSION}"}
    structural = versions[f"structural engine {ENGINE_VERSION}"]
    assert [r["value"]["timeserieslabels"] for r in structural["result"]] == [["DB"]]
    results = task["annotations"][0]["result"]
    db = [r for r in results if r["id"].startswith("label-")]
    kinds = {(r["from_name"], r["type"]) for r in db}
    assert {
        ("label", "timeserieslabels"),
        ("direction", "choices"),
        ("outcome", "choices"),
    } <= kinds
    points = [r for r in results if r["from_name"] == "keypoint"]
    assert [p["value"]["timeserieslabels"] for p in points] == [["V1"], ["P1"], ["V2"]]
    assert points[1]["meta"]["text"] == ["price=71250.5"] and points[1]["value"]["instant"]
    config = user_client.get("/labels/export.label-studio-config.xml")
    assert config["Content-Type"] == "application/xml"
    xml = config.content.decode()
    for name in ('name="keypoint"', 'name="direction"', 'name="outcome"', 'value="bearish"'):
        assert name in xml
    # Every name the tasks use is declared by the config.
    for result in results:
        assert f'name="{result["from_name"]}"' in xml
        for value in result["value"].get("timeserieslabels", []):
            assert f'value="{value}"' in xml


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        (['{"symbol": "005930"}'], "line 1: missing timeframe, pattern_type, start_ts, end_ts"),
        (["", "{not json"], "line 2: not JSON"),
        (["[1]"], "task 1: expected a JSON object"),
        (["{ROW}", "[2]"], "line 2: expected a JSON object"),
        (["{ROW}", '{"symbol": "999999", ROW_REST}'], "line 2: no stock with the code '999999'"),
        (['{ROW_REST_TYPE, "pattern_type": "moon"}'], "line 1: pattern_type 'moon'"),
        (["{ROW}", "{ROW_OUTSIDE}"], "line 2: The range is outside the stored bars"),
        (['{ROW_REST, "symbol": "005930", "detector": "x"}'], "line 1: detector 'x' is not"),
        (
            ['{ROW_REST, "symbol": "005930", "detector": "atr"}'],
            "line 1: detector 'atr' on a manual label",
        ),
    ],
)
def test_bad_input_names_the_line_and_writes_nothing(stock, user, tmp_path, lines, error):
    rest = (
        '"timeframe": "1d", "start_ts": "2024-01-08T00:00:00+09:00", '
        '"end_ts": "2024-01-12T00:00:00+09:00"'
    )
    row = '{"symbol": "005930", "pattern_type": "DT", ' + rest + "}"
    text = "\n".join(
        line.replace("{ROW}", row)
        .replace("ROW_REST_TYPE", '"symbol": "005930", ' + rest)
        .replace("ROW_REST", '"pattern_type": "DT", ' + rest)
        .replace("{ROW_OUTSIDE}", row.replace("2024-01-08", "2023-01-02"))
        for line in lines
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported") as info:
        run(str(path), "--user", "alice")
    assert error in str(info.value)
    assert not Label.objects.exists()


def test_label_studio_problems_name_the_task(stock, user, tmp_path):
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([{"data": {"symbol": "005930"}}]), encoding="utf-8")
    with pytest.raises(CommandError, match="task 1: data.symbol and data.timeframe"):
        run(str(path), "--user", "alice")
    orphan = {
        "id": "x",
        "from_name": "keypoint",
        "type": "timeserieslabels",
        "value": {"start": 1704700800000, "end": 1704700800000, "timeserieslabels": ["P1"]},
    }
    task = {"data": {"symbol": "005930", "timeframe": "1d"}, "annotations": [{"result": [orphan]}]}
    path.write_text(json.dumps([task]), encoding="utf-8")
    with pytest.raises(CommandError, match="task 1, result x: a key point has one role"):
        run(str(path), "--user", "alice")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run(str(path), "--user", "nobody")
