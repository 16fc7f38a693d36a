from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class Deployment(models.Model):
    """One deploy attempt as recorded by the deploy tooling: the release ledger the dashboard shows."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    release_id = models.CharField(max_length=100)
    sha = models.CharField(max_length=64)
    branch = models.CharField(max_length=255)
    deployed_by = models.CharField(max_length=150)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)
    # What the database can be restored to from before this deploy changed it: a pgBackRest restore point's name.
    backup = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="deployment_started_at_idx")]

    def __str__(self):
        return f"{self.release_id} ({self.outcome})"

    def clean(self):
        if self.started_at and self.finished_at and self.finished_at < self.started_at:
            raise ValidationError({"finished_at": "A deployment cannot finish before it started."})
