from django.urls import path

from . import views

urlpatterns = [
    path("", views.label_list, name="label_list"),
    path("<int:pk>/", views.label_detail, name="label_detail"),
    path("detections/decide", views.detection_decide, name="detection_decide"),
    path("detections/<int:pk>/undo", views.detection_undo, name="detection_undo"),
]
