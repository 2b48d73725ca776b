from django.urls import path

from . import views

urlpatterns = [
    path("", views.label_list, name="label_list"),
    path("new", views.label_create, name="label_create"),
    path("export.csv", views.label_export_csv, name="label_export_csv"),
    path("export.jsonl", views.label_export_jsonl, name="label_export_jsonl"),
    path(
        "export.label-studio.json",
        views.label_export_label_studio,
        name="label_export_label_studio",
    ),
    path("review/", views.label_review, name="label_review"),
    path("<int:pk>/", views.label_detail, name="label_detail"),
    path("<int:pk>/edit", views.label_edit, name="label_edit"),
    path("<int:pk>/delete", views.label_delete, name="label_delete"),
    path("<int:pk>/restore", views.label_restore, name="label_restore"),
    path("<int:pk>/history", views.label_history, name="label_history"),
    path("detections/decide", views.detection_decide, name="detection_decide"),
    path("detections/<int:pk>/undo", views.detection_undo, name="detection_undo"),
]
