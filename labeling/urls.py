from django.urls import path

from . import views

urlpatterns = [
    path("", views.label_list, name="label_list"),
]
