from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("settings/", views.preferences, name="preferences"),
]
