import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.tests.factories import make_label
from marketdata.tests.factories import kst


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_labels", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_labels_for_one_user_and_all(user, other_user, stock, tmp_path):
    mine = make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 10), pattern_type="DT")
    second = make_label(user, stock, kst(2024, 1, 15), kst(2024, 1, 17), pattern_type="DB")
    theirs = make_label(other_user, stock, kst(2024, 1, 22), kst(2024, 1, 24), pattern_type="HS")

    out, err = run("--user", "alice", "--pattern-type", "DT")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [mine.pk]
    assert "Exported 1 label(s) as jsonl to stdout." in err

    out, _ = run("--all-users", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert {int(r["id"]) for r in rows} == {mine.pk, second.pk, theirs.pk}

    target = tmp_path / "labels.jsonl"
    run("--user", "alice", "--with-bars", "--context", "2", "--output", str(target))
    lines = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 and all(len(r["bars"]) == 3 + 4 for r in lines)

    out, _ = run("--user", "bob", "--format", "label-studio")
    tasks = json.loads(out)
    assert tasks[0]["annotations"][0]["result"][0]["value"]["timeserieslabels"] == ["HS"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user named 'nobody'"),
        (["--user", "alice", "--timeframe", "2h"], "timeframe"),
        (["--user", "alice", "--context", "501"], "--context"),
    ],
)
def test_export_labels_errors(user, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
