#!/usr/bin/env python3
"""A bounded, steady HTTP load for zero-downtime checks: stdlib only, so it runs on a bare target host.

    loadgen.py URL [--host HOST] [--cafile PEM] [--header 'Name: value']... [--concurrency 4] [--rate 0]
               [--keep-alive] [--max-seconds 180] [--max-requests 50000] [--stop-file PATH] [--out result.json]

It sends GETs from a few threads (at most --rate requests per second in all, 0 = as fast as they can) until the
stop file appears, the time limit or the request cap is reached (whichever first), and writes a JSON summary:
requests sent, failed (connection errors, timeouts, any non-2xx), answered requests per second, the p50 and p99
latency of the answers, the status counts, the release ids seen in JSON answers in order, the first few failures,
and what stopped it (stop_file, max_seconds or max_requests: only stop_file means the load lasted as long as what
it measured). Each request opens a new connection, as a browser opening the site would, unless --keep-alive: then
each thread keeps its connection, so a throughput figure measures the server's work rather than TLS handshakes.

An https URL is verified against --cafile (the system's CAs by default) under the --host name, so the load can
connect to 127.0.0.1 and still check the certificate of the public name.
"""
import argparse
import collections
import http.client
import json
import math
import os
import ssl
import threading
import time
import urllib.parse


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--host", help="Host header and TLS server name (defaults to the URL's host)")
    parser.add_argument("--cafile", help="CA certificates (PEM) that verify an https server")
    parser.add_argument("--header", action="append", default=[], help="an extra request header, 'Name: value'")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0, help="requests per second in all; 0 = unpaced")
    parser.add_argument("--keep-alive", action="store_true", help="one connection per thread, reused")
    parser.add_argument("--max-seconds", type=float, default=180)
    parser.add_argument("--max-requests", type=int, default=50000)
    parser.add_argument("--stop-file")
    parser.add_argument("--out")
    return parser.parse_args()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.statuses = collections.Counter()
        self.failures = []
        self.failed = 0
        # Distinct releases in order of first answer: concurrent requests already in flight on the old release
        # may complete after the first answer from the new one (that is the drain working).
        self.releases = []
        self.last_release = None
        self.latencies = []  # seconds, of every request that got an answer

    def record(self, status, release=None, failure=None, latency=None):
        with self.lock:
            self.statuses[str(status)] += 1
            if latency is not None:
                self.latencies.append(latency)
            if failure:
                self.failed += 1
                if len(self.failures) < 20:
                    self.failures.append(failure)
            if release and release not in self.releases:
                self.releases.append(release)
            if release:
                self.last_release = release

    def claim(self, limit):
        with self.lock:
            if self.sent >= limit:
                return False
            self.sent += 1
            return True


class VerifiedConnection(http.client.HTTPSConnection):
    """TLS to the URL's address, verified under another name (the public name, served by a host we address)."""

    def __init__(self, address, port, server_name, context, timeout):
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


def percentile(values, fraction):
    """The nearest-rank percentile (fraction 0.5 = median) of values, or None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def connect(args, target, context):
    if target.scheme == "https":
        return VerifiedConnection(target.hostname, target.port or 443, args.host or target.hostname, context, 10)
    return http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)


def worker(args, target, context, tally, deadline, stop):
    interval = args.concurrency / args.rate if args.rate > 0 else 0
    headers = {"Host": args.host or target.netloc, **dict(header.split(": ", 1) for header in args.header)}
    next_at = time.monotonic()
    connection = None
    while time.monotonic() < deadline and not stop.is_set() and tally.claim(args.max_requests):
        next_at += interval
        connection = connection or connect(args, target, context)
        started = time.monotonic()
        try:
            connection.request("GET", target.path or "/", headers=headers)
            response = connection.getresponse()
            body = response.read()
            latency = time.monotonic() - started
            release = None
            if "json" in response.getheader("Content-Type", ""):
                release = (json.loads(body).get("release") or {}).get("id")
            failure = None if 200 <= response.status < 300 else f"HTTP {response.status}: {body[:200]!r}"
            tally.record(response.status, release, failure, latency)
        except (OSError, http.client.HTTPException, ValueError) as error:
            tally.record("error", failure=f"{type(error).__name__}: {error}")
            connection.close()
            connection = None
        if connection and not args.keep_alive:
            connection.close()
            connection = None
        stop.wait(max(0.0, next_at - time.monotonic()))
    if connection:
        connection.close()


def main():
    args = parse_args()
    target = urllib.parse.urlsplit(args.url)
    # One TLS context for every connection: each still makes a full handshake, verified, but the CA file is read once
    # rather than per request (which cost the load generator as much CPU as the handshakes).
    context = ssl.create_default_context(cafile=args.cafile) if target.scheme == "https" else None
    tally = Tally()
    stop = threading.Event()
    started = time.monotonic()
    deadline = started + args.max_seconds
    threads = [
        threading.Thread(target=worker, args=(args, target, context, tally, deadline, stop), daemon=True)
        for _ in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        if args.stop_file and os.path.exists(args.stop_file):
            stop.set()
        time.sleep(0.2)
    if stop.is_set():
        stopped_by = "stop_file"
    elif tally.sent >= args.max_requests:
        stopped_by = "max_requests"
    else:
        stopped_by = "max_seconds"
    seconds = time.monotonic() - started
    summary = {
        "stopped_by": stopped_by,
        "sent": tally.sent,
        "failed": tally.failed,
        "seconds": round(seconds, 2),
        "answered_per_second": round((tally.sent - tally.failed) / seconds, 1),
        "p50_ms": round(percentile(tally.latencies, 0.5) * 1000, 2) if tally.latencies else None,
        "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 2) if tally.latencies else None,
        "statuses": dict(tally.statuses),
        "releases_seen": tally.releases,
        "last_release": tally.last_release,
        "failures": tally.failures,
    }
    text = json.dumps(summary, indent=2)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
