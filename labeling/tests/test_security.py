"""Another user's label is invisible: every label URL gives 404 and no list, export, overlay or
review shows it. Every POST needs the CSRF token."""

import json

import pytest
from django.test import Client

from analysis.tests.factories import make_detection
from labeling.models import Label
from labeling.services import label_delete
from labeling.tests.factories import make_label
from marketdata.tests.factories import kst

pytestmark = pytest.mark.django_db

SECRET_NOTE = "alice-private-note"


@pytest.fixture
def alice_label(user, stock):
    return make_label(
        user, stock, kst(2024, 1, 10), kst(2024, 1, 24), direction="bearish", notes=SECRET_NOTE
    )


def test_other_users_label_pages_are_404(other_client, alice_label):
    pk = alice_label.pk
    for url in (f"/labels/{pk}/", f"/labels/{pk}/edit/", f"/labels/{pk}/history/"):
        assert other_client.get(url).status_code == 404, url
    for url in (
        f"/labels/{pk}/edit/",
        f"/labels/{pk}/delete/",
        f"/labels/{pk}/restore/",
        f"/labels/detections/{pk}/undo/",
    ):
        assert other_client.post(url).status_code == 404, url
    alice_label.refresh_from_db()
    assert alice_label.deleted_at is None


def test_other_users_deleted_label_cannot_be_restored(other_client, user, alice_label):
    label_delete(label=alice_label, actor=user)
    assert other_client.post(f"/labels/{alice_label.pk}/restore/").status_code == 404
    assert Label.objects.get(pk=alice_label.pk).deleted_at is not None


def test_other_users_labels_absent_from_list_exports_review_and_radar(other_client, alice_label):
    for url in (
        "/labels/",
        "/labels/?deleted=on",
        "/labels/export.csv",
        "/labels/export.jsonl",
        "/labels/export.label-studio.json",
        "/labels/review/",
        "/radar/?symbol=005930&tf=1d",
        "/radar/figure?symbol=005930&tf=1d",
        "/api/radar?symbol=005930&tf=1d",
    ):
        response = other_client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert SECRET_NOTE.encode() not in body, url
        assert f"/labels/{alice_label.pk}/".encode() not in body, url


def test_staff_cannot_change_other_users_labels(staff_client, alice_label):
    pk = alice_label.pk
    assert staff_client.get(f"/labels/{pk}/").status_code == 200  # staff read everyone's
    for url in (f"/labels/{pk}/edit/", f"/labels/{pk}/delete/", f"/labels/detections/{pk}/undo/"):
        assert staff_client.post(url).status_code == 404, url


def test_posts_without_csrf_token_are_refused(user, stock, alice_label):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    detection = make_detection(stock, "DT", kst(2024, 1, 10), kst(2024, 1, 24))
    pk = alice_label.pk
    for url, data in (
        ("/labels/new/", {"symbol": "005930"}),
        (f"/labels/{pk}/edit/", {}),
        (f"/labels/{pk}/delete/", {}),
        (f"/labels/{pk}/restore/", {}),
        ("/labels/detections/decide/", {"decision": "accept", "detection": detection.pk}),
        (f"/labels/detections/{pk}/undo/", {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert Label.objects.count() == 1


def test_page_sends_csrf_token_in_hx_headers(user_client, stock):
    html = user_client.get("/labels/").content.decode()
    start = html.index("hx-headers='") + len("hx-headers='")
    headers = json.loads(html[start : html.index("'", start)])
    assert len(headers["X-CSRFToken"]) >= 32


XSS = '<script>alert("x")</script>\'"<img src=x onerror=alert(1)>'


def test_stock_name_and_notes_are_escaped_everywhere(user_client, user, stock):
    stock.name = XSS
    stock.save()
    label = make_label(user, stock, kst(2024, 1, 10), kst(2024, 1, 24), notes=XSS, tags=[XSS[:40]])
    make_detection(stock, "DT", kst(2024, 1, 10), kst(2024, 1, 24))
    for url in (
        "/radar/?symbol=005930&tf=1d",
        "/radar/symbols?q=005930",
        "/radar/?symbol=nonexistent",
        "/scanner/?days=5000",
        "/labels/",
        f"/labels/{label.pk}/",
        f"/labels/{label.pk}/edit/",
        f"/labels/{label.pk}/history/",
        "/labels/review/",
        f"/labels/new/?symbol={XSS}&start={XSS}",
    ):
        body = user_client.get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
