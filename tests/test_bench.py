"""The benchmark's own arithmetic and rendering, without a VM: loadgen's percentiles and summary against a real
local HTTP server, the recap's changed count, and the tables report.py writes."""
import http.server
import json
import pathlib
import subprocess
import sys
import threading

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

import lifecycle  # noqa: E402
import loadgen  # noqa: E402
import report  # noqa: E402
import vm  # noqa: E402


@pytest.mark.parametrize("values, fraction, expected", [
    ([], 0.5, None),
    ([7.0], 0.99, 7.0),
    ([4, 1, 3, 2], 0.5, 2),
    (list(range(1, 101)), 0.99, 99),
    (list(range(1, 101)), 0.5, 50),
    ([1, 2, 3], 1.0, 3),
])
def test_percentile_is_nearest_rank(values, fraction, expected):
    assert loadgen.percentile(values, fraction) == expected


@pytest.fixture()
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_GET(self):
            body = b"ok" if self.path == "/ok" else b"no"
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("keep_alive", [[], ["--keep-alive"]])
def test_loadgen_reports_rate_and_latency_of_what_it_sent(server, keep_alive):
    run = subprocess.run([sys.executable, str(PROJECT / "bench" / "loadgen.py"), f"{server}/ok", "--concurrency", "2",
                          "--max-requests", "40", *keep_alive], check=True, capture_output=True, text=True)
    summary = json.loads(run.stdout)
    assert (summary["stopped_by"], summary["sent"], summary["failed"]) == ("max_requests", 40, 0)
    assert summary["answered_per_second"] > 0
    assert 0 < summary["p50_ms"] <= summary["p99_ms"]


def test_loadgen_counts_answered_errors_as_failed(server):
    run = subprocess.run([sys.executable, str(PROJECT / "bench" / "loadgen.py"), f"{server}/down", "--keep-alive",
                          "--max-requests", "5"], check=True, capture_output=True, text=True)
    summary = json.loads(run.stdout)
    assert (summary["sent"], summary["failed"], summary["statuses"]) == (5, 5, {"503": 5})
    assert summary["answered_per_second"] == 0


def test_recap_changed_adds_up_the_hosts_of_the_recap_only():
    output = """TASK [x] changed=9 in a task name
PLAY RECAP *****
cams-local : ok=120 changed=3    unreachable=0 failed=0
localhost  : ok=4   changed=1    unreachable=0 failed=0
"""
    assert vm.recap_changed(output) == 4


RESULTS = {
    "machine": {"cpu": "Test CPU", "nproc": 2, "date": "2026-01-01 00:00 UTC", "load_samples": [1.5, 3.5, 2.0],
                "stolen_cpu": 0.034},
    "load_seconds": 10, "load_concurrency": 4, "gunicorn_settings": "workers = 2 threads = 1",
    "converge": {"fresh_s": 200.0, "fresh_changed": 150, "rerun_s": 40.0, "rerun_changed": 0,
                 "rerun_without_mitogen_s": 100.0},
    "deploys": [
        {"name": name, "seconds": seconds, "changed": 10, "sent": 1000, "failed": 0, "load_lasted": True,
         "stolen_cpu": 0.12}
        for name, seconds in [("code-only deploy, cold build cache", 30.0),
                              ("code-only deploy, warm build cache", 12.0),
                              ("code-only deploy, warm build cache, without Mitogen", 33.0),
                              ("code-only deploy, warm build cache, cold Mitogen memo", 14.0),
                              ("dependency change deploy", 25.0), ("frontend change deploy", 28.0)]
    ],
    "throughput": {
        name: {"answered_per_second": rate, "p50_ms": 2.0, "p99_ms": 9.0, "failed": 0}
        for name, rate in [("/health/ (Django)", 320), ("/health/ready/ (Django)", 300), ("WSGI hello", 500),
                           ("React index.html", 900), ("plain static file", 1000)]
    },
}


def test_markdown_holds_the_ratios_and_what_each_optimisation_bought():
    text = report.markdown(RESULTS)
    assert "| re-run / fresh | 20% |" in text
    assert "| /health/ (Django) | 320 | 2.00 | 9.00 | 0 | WSGI hello | 500 | 2.00 | 0.64 |" in text
    assert "| React index.html | 900 |" in text and "| 0.90 |" in text
    assert "code-only deploy with the cache cleared: 30.0 s | with it warm: 12.0 s" in text
    assert "code-only deploy, warm build cache, the memo empty: 14.0 s | with it warm: 12.0 s" in text
    assert "re-run: 100.0 s; code-only deploy, warm cache: 33.0 s | re-run: 40.0 s; code-only deploy" in text
    assert "load average 1.5 before the run, 2.0 to 3.5 after its steps" in text and "shared with other work" in text
    assert "| code-only deploy, warm build cache | 12.0 | 10 | 1000 | 0 | 12% | ≤ 15 s, 0 failed |" in text
    assert "The hypervisor took 3% of the CPUs' time during the run" in text


def test_steal_is_the_hypervisors_share_of_the_cpu_time_between_two_samples():
    assert lifecycle.stolen_share((100, 10_000), (150, 10_500)) == 0.1
    steal, total = lifecycle.cpu_ticks()
    assert 0 <= steal <= total


def test_only_a_load_before_the_run_says_the_machine_was_shared():
    """The bench's own work keeps the load above nproc while it runs; only other work before it makes times bounds."""
    quiet = {**RESULTS["machine"], "load_samples": [0.3, 3.9, 4.2]}
    assert "shared with other work" not in report.machine_text(quiet)


def test_text_table_aligns_columns():
    lines = report.text_table(("a", "bb"), [("ccc", "d")]).splitlines()
    assert lines == ["a    bb", "---  --", "ccc  d"]
