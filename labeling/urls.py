from django.urls import path

from . import views

app_name = "labeling"
# Pages and actions end with a slash (`/labels/<id>/edit/`); the forms without it that earlier
# links and bookmarks used answer with a permanent redirect (`views.moved`). Files keep their
# extension (`export.csv`).
urlpatterns = [
    path("", views.label_list, name="list"),
    path("new/", views.label_create, name="create"),
    path("export.csv", views.label_export_csv, name="export_csv"),
    path("export.jsonl", views.label_export_jsonl, name="export_jsonl"),
    path(
        "export.label-studio.json",
        views.label_export_label_studio,
        name="export_label_studio",
    ),
    path(
        "export.label-studio-config.xml",
        views.label_export_label_studio_config,
        name="export_label_studio_config",
    ),
    path("queue/", views.label_queue, name="queue"),
    path("queue/decide/", views.queue_decide, name="queue_decide"),
    path("review/", views.label_review, name="review"),
    path("review/ranges/", views.reviewed_range_mark, name="reviewed_range_mark"),
    path(
        "review/ranges/<int:pk>/delete/",
        views.reviewed_range_delete,
        name="reviewed_range_delete",
    ),
    path("<int:pk>/", views.label_detail, name="detail"),
    path("<int:pk>/edit/", views.label_edit, name="edit"),
    path("<int:pk>/delete/", views.label_delete, name="delete"),
    path("<int:pk>/restore/", views.label_restore, name="restore"),
    path("<int:pk>/history/", views.label_history, name="history"),
    path("detections/decide/", views.detection_decide, name="detection_decide"),
    path("detections/<int:pk>/undo/", views.detection_undo, name="detection_undo"),
    # The old forms without the slash.
    path("new", views.moved, {"to": "create"}),
    path("<int:pk>/edit", views.moved, {"to": "edit"}),
    path("<int:pk>/delete", views.moved, {"to": "delete"}),
    path("<int:pk>/restore", views.moved, {"to": "restore"}),
    path("<int:pk>/history", views.moved, {"to": "history"}),
    path("detections/decide", views.moved, {"to": "detection_decide"}),
    path("detections/<int:pk>/undo", views.moved, {"to": "detection_undo"}),
]
