from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from .alerts import firing_alerts
from .database_status import CONNECTED, checked_database, database_indicator
from .jwt_auth import jwt_required
from .models import Deployment

DEFAULT_DEPLOYMENTS_LIMIT = 20
MAX_DEPLOYMENTS_LIMIT = 200


def release_identity() -> dict:
    return {
        "id": settings.CAMS_RELEASE_ID,
        "sha": settings.CAMS_RELEASE_SHA,
        "branch": settings.CAMS_RELEASE_BRANCH,
        "deployed_at": settings.CAMS_DEPLOYED_AT,
    }


# Health views run outside ATOMIC_REQUESTS: an atomic block would open a connection first.


@transaction.non_atomic_requests
@never_cache
@require_safe
def health(request):
    """Liveness: answers while the process serves, whatever state the database is in.

    The database fields are the background probe's last result, read from memory: never a connection here.
    """
    database = database_indicator()
    age = database["age_seconds"]
    return JsonResponse(
        {
            "status": "ok",
            "environment": settings.CAMS_ENVIRONMENT,
            "release": release_identity(),
            "database": database["state"],
            "database_checked_seconds_ago": None if age is None else round(age, 1),
        }
    )


@transaction.non_atomic_requests
@never_cache
@require_safe
def readiness(request):
    """Readiness: the deployer and the load balancers send traffic only after a 200 here: the database answers and
    has every migration of this release. From the background probe's last result (never older than a few seconds),
    so that checks cost nothing; a process whose probe has no result yet is not ready."""
    state, probe = checked_database()
    if state == CONNECTED:
        database_check = {"status": "ok", "latency_ms": probe.latency_ms}
        migrations_ok = probe.migrations_pending == 0
        migrations_check = {"status": "ok" if migrations_ok else "fail", "pending": probe.migrations_pending}
    else:
        database_check = {"status": "fail", "detail": probe.detail if probe else f"database state {state}"}
        migrations_ok = False
        migrations_check = {"status": "unknown", "pending": None}
    ready = state == CONNECTED and migrations_ok
    return JsonResponse(
        {
            "status": "ok" if ready else "fail",
            "environment": settings.CAMS_ENVIRONMENT,
            "release": release_identity(),
            "checks": {"database": database_check, "migrations": migrations_check},
        },
        status=200 if ready else 503,
    )


@transaction.non_atomic_requests
@never_cache
@require_GET
@jwt_required
def overview(request):
    """Dashboard summary; still 200 when the database is down (database.status says so)."""
    state, probe = checked_database()
    if probe is None:
        database = {"status": "unavailable", "detail": f"database state {state}"}
    else:
        database = {
            "status": "ok" if probe.available else "unavailable",
            "vendor": probe.vendor,
            "name": probe.name,
            "server_version": probe.server_version,
            "latency_ms": probe.latency_ms,
            "migrations_pending": probe.migrations_pending,
        }
        if not probe.available:
            database["detail"] = probe.detail
    return JsonResponse(
        {
            "environment": settings.CAMS_ENVIRONMENT,
            "release": release_identity(),
            "database": database,
            "subject": request.jwt_claims["sub"],
            "generated_at": timezone.now().isoformat(),
        }
    )


@transaction.non_atomic_requests  # no database: Alertmanager only
@never_cache
@require_GET
@jwt_required
def alerts(request):
    """The alerts firing for this environment; still 200 when Alertmanager is not configured or does not answer
    (status says so, detail why)."""
    firing = firing_alerts()
    body = {"status": firing.status, "environment": settings.CAMS_ENVIRONMENT, "alerts": firing.alerts}
    if firing.detail:
        body["detail"] = firing.detail
    return JsonResponse(body)


@transaction.non_atomic_requests  # read-only; lets a database outage surface as a JSON 503
@never_cache
@require_GET
@jwt_required
def deployments(request):
    """The release ledger, newest first: ?limit=N (default 20, capped at 200)."""
    try:
        limit = min(int(request.GET.get("limit", DEFAULT_DEPLOYMENTS_LIMIT)), MAX_DEPLOYMENTS_LIMIT)
        if limit < 1:
            raise ValueError
    except ValueError:
        return JsonResponse(
            {"error": "invalid_request", "detail": f"limit must be an integer from 1 to {MAX_DEPLOYMENTS_LIMIT}."},
            status=400,
        )
    try:
        count = Deployment.objects.count()
        results = [_deployment_as_json(deployment) for deployment in Deployment.objects.all()[:limit]]
    except DatabaseError as error:
        return JsonResponse({"error": "database_unavailable", "detail": str(error).strip()}, status=503)
    return JsonResponse({"count": count, "results": results})


def _deployment_as_json(deployment: Deployment) -> dict:
    return {
        "release_id": deployment.release_id,
        "sha": deployment.sha,
        "branch": deployment.branch,
        "deployed_by": deployment.deployed_by,
        "started_at": deployment.started_at.isoformat(),
        "finished_at": deployment.finished_at.isoformat(),
        "duration_seconds": deployment.duration_seconds,
        "outcome": deployment.outcome,
        "message": deployment.message,
        "backup": deployment.backup,
    }
