"""/metrics in the test process (its own registry; tests/test_metrics_server.py runs gunicorn's workers).

No test here is marked django_db: scraping must not need the database.
"""

from prometheus_client.parser import text_string_to_metric_families

from cams.metrics import record_serving_process


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} of one GET /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def responses(samples: dict, view: str, status: str) -> float:
    key = ("django_http_responses_total_by_status_view_method_total",
           (("method", "GET"), ("status", status), ("view", view)))
    return samples.get(key, 0)


def test_requests_are_counted_by_view_and_status(client):
    before = scrape(client)

    client.get("/api/overview/")  # no token
    client.get("/api/overview/")

    after = scrape(client)
    assert responses(after, "cams:overview", "401") - responses(before, "cams:overview", "401") == 2
    latency_count = ("django_http_requests_latency_seconds_by_view_method_count",
                     (("method", "GET"), ("view", "cams:overview")))
    assert after[latency_count] - before.get(latency_count, 0) == 2


def test_plain_http_without_a_token_on_hardened_settings(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # as staging and prod run: Prometheus scrapes over plain http

    response = client.get("/metrics")

    assert response.status_code == 200


def test_release_identity(client, settings):
    settings.CAMS_RELEASE_ID, settings.CAMS_RELEASE_SHA, settings.CAMS_RELEASE_BRANCH = "r42", "a" * 40, "develop"
    settings.CAMS_DEPLOYED_AT = "2026-11-28T01:02:03Z"
    record_serving_process()

    samples = scrape(client)

    assert samples[("cams_release_info", (("branch", "develop"), ("release_id", "r42"), ("sha", "a" * 40)))] == 1
    assert samples[("cams_release_deployed_timestamp_seconds", ())] == 1795827723
    assert samples[("cams_gunicorn_workers", ())] == 1


def test_the_database_is_not_known_reachable_while_the_probe_is_off(client, settings):
    settings.CAMS_DATABASE_HEALTH_PROBE_INTERVAL = 0

    value = scrape(client)[("cams_database_reachable", ())]

    assert value != value  # NaN: neither reachable nor unreachable
