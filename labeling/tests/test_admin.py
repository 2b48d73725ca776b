from labeling import services
from labeling.models import Label
from marketdata.tests.factories import kst


def test_admin_lists_and_filters_labels_and_revisions_read_only(admin_client, user, stock):
    label = services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type="HS",
        start=kst(2024, 1, 8),
        end=kst(2024, 1, 12),
    )
    services.label_delete(label=label, actor=user)
    listing = admin_client.get("/admin/labeling/label/", {"pattern_type__exact": "HS"})
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert (
        admin_client.get("/admin/labeling/label/", {"pattern_type__exact": "DT"})
        .context["cl"]
        .result_count
        == 0
    )
    page = admin_client.get(f"/admin/labeling/label/{label.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "deleted" in body and "created" in body  # the revisions inline
    revisions = admin_client.get("/admin/labeling/labelrevision/", {"action__exact": "deleted"})
    assert revisions.context["cl"].result_count == 1
    # Read-only: a POST to the change form does not alter the label.
    admin_client.post(f"/admin/labeling/label/{label.pk}/change/", {"notes": "changed"})
    admin_client.post(f"/admin/labeling/label/{label.pk}/delete/", {"post": "yes"})
    assert Label.objects.get(pk=label.pk).notes == ""
