from django.contrib import admin

from .models import Deployment


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["release_id", "branch", "sha", "outcome", "deployed_by", "started_at", "duration_seconds"]
    list_filter = ["outcome", "branch"]
    search_fields = ["release_id", "sha", "deployed_by", "message"]
    date_hierarchy = "started_at"
