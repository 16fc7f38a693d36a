"""A stand-in for Alertmanager's API v2 on 127.0.0.1: GET /api/v2/alerts with its query parameters (active,
silenced, inhibited: default true; filter: label="value" matchers) applied to the alerts it holds, answered in
Alertmanager's JSON shape (gettableAlerts)."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EQUALITY_MATCHER = re.compile(r'^\s*(\w+)\s*=\s*"(.*)"\s*$')


def gettable_alert(name: str, *, environment: str, severity: str, starts_at: str, instance: str = "cams-dev-01",
                   state: str = "active", silenced_by: tuple = (), inhibited_by: tuple = ()) -> dict:
    return {
        "labels": {"alertname": name, "environment": environment, "severity": severity, "instance": instance,
                   "job": "node"},
        "annotations": {"summary": f"{name} on {instance}",
                        "runbook": f"https://example.com/docs/monitoring.md#{name.lower()}"},
        "startsAt": starts_at,
        "endsAt": "2099-01-01T00:00:00.000Z",
        "updatedAt": starts_at,
        "fingerprint": f"{abs(hash((name, environment, instance))):016x}",
        "generatorURL": "http://cams-dev-01:9090/graph",
        "receivers": [{"name": "default"}],
        "status": {"state": state, "silencedBy": list(silenced_by), "inhibitedBy": list(inhibited_by)},
    }


class FakeAlertmanager:
    """Serves ``alerts`` until closed; ``slow`` holds every answer until close; ``fixed_answer`` (status, JSON body)
    replaces Alertmanager's."""

    def __init__(self, alerts: list[dict]):
        self.alerts = alerts
        self.slow = False
        self.fixed_answer = None
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def matching(self, query: dict[str, list[str]]) -> list[dict]:
        def flag(name):
            return query.get(name, ["true"])[0] == "true"

        matchers = [EQUALITY_MATCHER.match(matcher).groups() for matcher in query.get("filter", [])]
        return [
            alert for alert in self.alerts
            if (flag("active") or alert["status"]["state"] != "active")
            and (flag("silenced") or not alert["status"]["silencedBy"])
            and (flag("inhibited") or not alert["status"]["inhibitedBy"])
            and all(alert["labels"].get(label) == value for label, value in matchers)
        ]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                if fake.slow:
                    fake.released.wait()
                if url.path != "/api/v2/alerts":
                    return self._answer(404, {"code": 404, "message": "not found"})
                if fake.fixed_answer:
                    return self._answer(*fake.fixed_answer)
                return self._answer(200, fake.matching(parse_qs(url.query)))

            def _answer(self, status: int, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler
