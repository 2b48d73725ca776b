from django.urls import path

from . import views

app_name = "labeling"
urlpatterns = [
    path("", views.label_list, name="list"),
    path("new", views.label_create, name="create"),
    path("export.csv", views.label_export_csv, name="export_csv"),
    path("export.jsonl", views.label_export_jsonl, name="export_jsonl"),
    path(
        "export.label-studio.json",
        views.label_export_label_studio,
        name="export_label_studio",
    ),
    path("review/", views.label_review, name="review"),
    path("<int:pk>/", views.label_detail, name="detail"),
    path("<int:pk>/edit", views.label_edit, name="edit"),
    path("<int:pk>/delete", views.label_delete, name="delete"),
    path("<int:pk>/restore", views.label_restore, name="restore"),
    path("<int:pk>/history", views.label_history, name="history"),
    path("detections/decide", views.detection_decide, name="detection_decide"),
    path("detections/<int:pk>/undo", views.detection_undo, name="detection_undo"),
]
