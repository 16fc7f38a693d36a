from django.contrib import admin
from django.urls import include, path

from cams import views
from cams.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # Probed over plain http by load balancers and the deployer (see SECURE_REDIRECT_EXEMPT).
    path("health/", views.health, name="health"),
    path("health/ready/", views.readiness, name="readiness"),
    path("api/", include("cams.urls")),
    # Prometheus scrapes it over plain http on nginx's metrics listener (see SECURE_REDIRECT_EXEMPT).
    path("metrics", metrics_view, name="metrics"),
]
