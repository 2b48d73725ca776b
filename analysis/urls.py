from django.urls import path

from . import views

urlpatterns = [
    path("radar/", views.radar, name="radar"),
    path("scanner/", views.scanner, name="scanner"),
]
