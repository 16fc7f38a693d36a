from django.urls import path

from . import views

app_name = "cams"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("deployments/", views.deployments, name="deployments"),
    path("alerts/", views.alerts, name="alerts"),
]
