"""The alerts firing for this environment, read from Alertmanager's API v2 for the dashboard."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings

# Pages first, then the oldest.
SEVERITY_ORDER = {"page": 0, "ticket": 1}
HEARTBEAT_SEVERITY = "heartbeat"  # CamsWatchdog's (docs/monitoring.md)

# Alertmanager is on the environment's own network: no proxy from the process environment in between.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class FiringAlerts:
    status: str  # ok, not_configured, unreachable
    alerts: list[dict] = field(default_factory=list)
    detail: str | None = None


def firing_alerts() -> FiringAlerts:
    """Active alerts whose label environment is CAMS_ENVIRONMENT, neither silenced nor inhibited.

    Never raises for Alertmanager's sake: without CAMS_ALERTMANAGER_URL the status is not_configured, and when it
    does not answer in CAMS_ALERTMANAGER_TIMEOUT_SECONDS (per connect and read), or answers something else than
    its list of alerts, unreachable with the reason.
    """
    if not settings.CAMS_ALERTMANAGER_URL:
        return FiringAlerts(status="not_configured")
    query = urlencode(
        {
            "active": "true",
            "silenced": "false",
            "inhibited": "false",
            "filter": f'environment="{settings.CAMS_ENVIRONMENT}"',
        }
    )
    url = f"{settings.CAMS_ALERTMANAGER_URL}/api/v2/alerts?{query}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _opener.open(request, timeout=settings.CAMS_ALERTMANAGER_TIMEOUT_SECONDS) as response:
            gettable_alerts = json.load(response)
        # The heartbeat always fires: it tells the dead man's switch that monitoring works, not the people.
        alerts = [_summarised(alert) for alert in gettable_alerts
                  if alert["labels"].get("severity") != HEARTBEAT_SEVERITY]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        # OSError covers refused connections, timeouts and HTTP errors (urllib.error.URLError is one).
        return FiringAlerts(status="unreachable", detail=f"{settings.CAMS_ALERTMANAGER_URL}: {_reason(error)}")
    alerts.sort(key=lambda alert: (SEVERITY_ORDER.get(alert["severity"], len(SEVERITY_ORDER)), alert["since"]))
    return FiringAlerts(status="ok", alerts=alerts)


def _summarised(alert: dict) -> dict:
    labels, annotations = alert["labels"], alert.get("annotations", {})
    return {
        "name": labels["alertname"],
        "severity": labels.get("severity", ""),
        "summary": annotations.get("summary", ""),
        "instance": labels.get("instance", ""),
        "since": alert["startsAt"],
        "runbook": annotations.get("runbook", ""),
    }


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):  # connecting failed: the reason is the socket's error
        error = error.reason if isinstance(error.reason, Exception) else OSError(error.reason)
    if isinstance(error, TimeoutError):
        return f"no answer within {settings.CAMS_ALERTMANAGER_TIMEOUT_SECONDS:g} s"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return f"not Alertmanager's list of alerts ({type(error).__name__}: {error})"
