"""The app's own Prometheus metrics (beside django-prometheus's request metrics) and the /metrics view.

Under gunicorn each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR, a directory per slot that
cams@.service empties at each start, and /metrics adds up every worker's files; without that variable (runserver,
tests) the process's own registry answers. The live* modes drop a worker's value once gunicorn's child_exit hook
has called prometheus_client.multiprocess.mark_process_dead for it.
"""

import math
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import Gauge

from .database_status import CONNECTED, UNREACHABLE, database_indicator

gunicorn_workers = Gauge(
    "cams_gunicorn_workers",
    "Live gunicorn workers of this slot (each worker counts itself once).",
    multiprocess_mode="livesum",
)
release_info = Gauge(
    "cams_release_info",
    "The release this slot serves (always 1).",
    ["release_id", "sha", "branch"],
    multiprocess_mode="livemax",
)
release_deployed_timestamp = Gauge(
    "cams_release_deployed_timestamp_seconds",
    "When the deploy tooling started this slot for its release or configuration (Unix time; 0 when it did not).",
    multiprocess_mode="livemax",
)

database_reachable = Gauge(
    "cams_database_reachable",
    "Whether /health/'s background database probe last reached the database: 1, 0, NaN while it does not know.",
    multiprocess_mode="livemostrecent",
)


def record_serving_process() -> None:
    """Counts this process as one of the slot's workers, serving the release its settings name."""
    gunicorn_workers.set(1)
    release_info.labels(settings.CAMS_RELEASE_ID, settings.CAMS_RELEASE_SHA, settings.CAMS_RELEASE_BRANCH).set(1)
    try:
        release_deployed_timestamp.set(datetime.fromisoformat(settings.CAMS_DEPLOYED_AT).timestamp())
    except ValueError:  # "unknown": not started by the deploy tooling
        pass


def export(request):
    """The scraping worker's probe result stands for the slot (the most recent value of any worker wins)."""
    state = database_indicator()["state"]
    database_reachable.set({CONNECTED: 1, UNREACHABLE: 0}.get(state, math.nan))
    return ExportToDjangoView(request)


# Scraped from the monitoring hosts through nginx's metrics listener: no JWT, and no database connection (outside
# ATOMIC_REQUESTS, which would open one first).
metrics_view = transaction.non_atomic_requests(never_cache(require_safe(export)))
