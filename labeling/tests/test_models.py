"""Database constraints, revisions and owner checks of labels."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from analysis.tests.factories import make_detection
from labeling import forms, services
from labeling.models import Label, LabelRevision, Source
from labeling.selectors import charts
from marketdata.tests.factories import kst, make_stock


def row(user, stock, **fields) -> Label:
    values = {
        "owner": user,
        "stock": stock,
        "timeframe": "1d",
        "pattern_type": "DT",
        "start_ts": kst(2024, 1, 8),
        "end_ts": kst(2024, 1, 12),
        "direction": "bearish",
    }
    values.update(fields)
    return Label(**values)


@pytest.mark.parametrize(
    "fields",
    [
        {"end_ts": kst(2024, 1, 5)},
        {"pattern_type": "zigzag"},
        {"timeframe": "2h"},
        {"direction": "up"},
        {"outcome": "maybe"},
        {"source": "robot"},
        {"source": Source.ACCEPTED},  # an accept without the detection it answers
        {"source": Source.ACCEPTED, "detection_ref": {"id": 1}, "detector": "zigzag"},
        {"detector": "atr"},  # the user's own label names no detector
    ],
)
def test_database_rejects_invalid_labels(user, stock, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        row(user, stock, **fields).save()


def test_database_accepts_a_valid_label_and_one_bar_range(user, stock):
    row(user, stock).save()
    row(user, stock, end_ts=kst(2024, 1, 8)).save()
    row(user, stock, source=Source.REJECTED, detection_ref={"id": 1}).save()
    row(user, stock, source=Source.REJECTED, detection_ref={"id": 2}, detector="structural").save()
    assert Label.objects.count() == 4


def test_revision_numbers_are_unique_per_label(user, stock):
    label = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelRevision.objects.create(label=label, number=1, action="updated", snapshot={})


def test_update_without_change_writes_no_revision(user, stock):
    label = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    services.label_update(
        label=label,
        actor=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    assert label.revisions.count() == 1
    services.label_update(
        label=label,
        actor=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
        notes="now with a note",
    )
    revisions = list(label.revisions.order_by("number"))
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].changed_fields == ["notes"]
    assert revisions[1].snapshot["notes"] == "now with a note"


def test_only_the_owner_changes_a_label(user, other_user, stock):
    label = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    with pytest.raises(PermissionDenied):
        services.label_delete(label=label, actor=other_user)
    with pytest.raises(PermissionDenied):
        services.label_update(
            label=label,
            actor=other_user,
            stock=stock,
            timeframe="1d",
            pattern_type="DB",
            start=kst(2024, 1, 8),
            end=kst(2024, 1, 12),
        )
    label.refresh_from_db()
    assert label.pattern_type == "DT" and not label.is_deleted


def test_delete_twice_and_restore_live_are_errors(user, stock):
    label = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    with pytest.raises(ValidationError):
        services.label_restore(label=label, actor=user)
    services.label_delete(label=label, actor=user)
    with pytest.raises(ValidationError):
        services.label_delete(label=label, actor=user)
    assert label.revisions.count() == 2


def test_failed_create_leaves_no_rows(user, stock):
    with pytest.raises(ValidationError):
        services.label_create(
            owner=user,
            stock=stock,
            timeframe="1d",
            pattern_type="nonsense",
            start=kst(2024, 1, 8),
            end=kst(2024, 1, 12),
        )
    assert Label.objects.count() == 0 and LabelRevision.objects.count() == 0


def test_queryset_filters(user, other_user, staff_user, stock):
    mine = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    theirs = services.label_create(
        owner=other_user,
        stock=stock,
        timeframe="1d",
        pattern_type="DT",
        start=kst(2024, 2, 5),
        end=kst(2024, 2, 9),
    )
    assert list(Label.objects.visible_to(user)) == [mine]
    assert set(Label.objects.visible_to(staff_user)) == {mine, theirs}
    assert list(Label.objects.overlapping(start=kst(2024, 1, 12), end=kst(2024, 1, 31))) == [mine]
    assert list(Label.objects.overlapping(start=kst(2024, 1, 13), end=kst(2024, 2, 4))) == []


def test_label_overlays_is_one_query(user, stock, django_assert_num_queries):
    for day in (8, 15, 22):
        services.label_create(
            owner=user,
            stock=stock,
            timeframe="1d",
            pattern_type="DT",
            start=kst(2024, 1, day),
            end=kst(2024, 1, day + 2),
        )
    with django_assert_num_queries(1):
        overlays = charts.label_overlays(user=user, stock=stock, timeframe="1d")
    assert len(overlays) == 3


@pytest.mark.parametrize(
    ("text", "timeframe", "expected"),
    [
        ("2024-03-04", "1d", kst(2024, 3, 4)),
        ("2024-03-04T09:30", "5m", kst(2024, 3, 4, 9, 30)),  # naive → KST
        ("2024-03-04T00:30:00Z", "5m", kst(2024, 3, 4, 9, 30)),
        ("2024-03-04T09:30:00+09:00", "30m", kst(2024, 3, 4, 9, 30)),
    ],
)
def test_parse_instant(text, timeframe, expected):
    assert forms.parse_instant(text, timeframe) == expected


def test_key_points_text_round_trip():
    text = "P1 2024-03-04 71200\nV1 2024-03-06 69000.5"
    points = forms.parse_key_points(text, "1d")
    stored = [{**p, "ts": p["ts"].isoformat()} for p in points]
    assert forms.key_points_text(stored, "1d") == text


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_the_detector_of_existing_decisions(django_user_model):
    """Decisions made before labels named their detector: the detector of the detection they are
    linked to, else of the stored detections of their range when all one detector's, else atr."""
    before = [("labeling", "0003_reviewed_range")]
    executor = MigrationExecutor(connection)
    # Every app's newest migration: going back unapplies other apps' migrations that depend
    # on these, and the tests after this one need them all.
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("labeling", "Label")
        user = django_user_model.objects.create_user("alice", password="pw-1234567")
        stock = make_stock("005930", "삼성전자")
        linked = make_detection(
            stock, "DT", kst(2024, 1, 8), kst(2024, 1, 12), detector="structural"
        )
        make_detection(stock, "DT", kst(2024, 1, 8), kst(2024, 1, 12), detector="atr")
        only_structural = make_detection(
            stock, "DB", kst(2024, 2, 5), kst(2024, 2, 9), detector="structural"
        )
        make_detection(stock, "HS", kst(2024, 3, 4), kst(2024, 3, 8), detector="structural")
        make_detection(stock, "HS", kst(2024, 3, 4), kst(2024, 3, 8), detector="atr")

        def label(pattern_type, start, end, **fields):
            return old.objects.create(
                owner_id=user.pk,
                stock_id=stock.pk,
                timeframe="1d",
                pattern_type=pattern_type,
                start_ts=start,
                end_ts=end,
                direction="neutral",
                **fields,
            ).pk

        decided = {"source": Source.ACCEPTED, "detection_ref": {"id": 0}}
        ids = {
            "linked": label(
                "DT", linked.start_ts, linked.end_ts, detected_pattern_id=linked.pk, **decided
            ),
            "unique": label("DB", only_structural.start_ts, only_structural.end_ts, **decided),
            "both": label("HS", kst(2024, 3, 4), kst(2024, 3, 8), **decided),
            "none": label("DT", kst(2024, 4, 1), kst(2024, 4, 5), **decided),
            "manual": label("DT", kst(2024, 4, 1), kst(2024, 4, 5)),
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    found = dict(Label.objects.values_list("pk", "detector"))
    assert {name: found[pk] for name, pk in ids.items()} == {
        "linked": "structural",
        "unique": "structural",
        "both": "atr",
        "none": "atr",
        "manual": "",
    }
