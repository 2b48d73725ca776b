from django.urls import path

from . import views

app_name = "marketdata"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
