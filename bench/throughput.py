"""Requests/s and p50/p99 latency inside the VM, each figure next to its baseline on the same path:

- /health/ and /health/ready/ (Django, through the site's nginx over https) next to a bare WSGI "hello" run by the
  release's own gunicorn binary with the live slot's gunicorn.conf.py (same workers and threads) on a unix socket,
  like the slots, behind a temporary nginx server block with the site's TLS settings;
- the React index.html (the site's server block: its headers, its try_files) next to a plain static file of the
  same size served by that temporary block.

Every load is unpaced, keep-alive (TLS handshakes amortised; see loadgen.py), on 127.0.0.1, bounded in seconds.
The temporary block, file and gunicorn are removed at the end, also on failure.
"""
import contextlib

from vm import in_vm, measure

BENCH_DIR = "/var/lib/cams-bench"
HELLO_SOCKET = "/run/cams-bench-hello.sock"
HELLO_PID = "/run/cams-bench-hello.pid"
BLOCK = "/etc/nginx/sites-enabled/cams-bench.conf"
PORT = 8443

HELLO_APP = '''def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
'''

NGINX_BLOCK = f'''# Temporary: bench/throughput.py's baselines, removed when it ends.
upstream cams_bench_hello {{
    server unix:{HELLO_SOCKET};
}}
server {{
    listen 127.0.0.1:{PORT} ssl;
    include snippets/cams-tls.conf;
    root {BENCH_DIR};
    location = /hello {{
        proxy_pass http://cams_bench_hello;
        proxy_set_header Host $host;
    }}
}}
'''

SET_UP = f'''set -e
mkdir -p {BENCH_DIR}/prometheus
chown cams {BENCH_DIR}/prometheus
cat > {BENCH_DIR}/hello.py <<'PY'
{HELLO_APP}PY
head -c "$(stat -c %s /srv/cams/current/dist/index.html)" /dev/zero | tr '\\0' x > {BENCH_DIR}/plain.html
live=$(basename "$(readlink /srv/cams/live.sock)" .sock)
PROMETHEUS_MULTIPROC_DIR={BENCH_DIR}/prometheus /srv/cams/current/venv/bin/gunicorn --daemon --user cams \\
  --group www-data --chdir {BENCH_DIR} --config "/etc/cams/slots/$live/gunicorn.conf.py" --bind unix:{HELLO_SOCKET} \\
  --pid {HELLO_PID} hello:application
cat > {BLOCK} <<'NGINX'
{NGINX_BLOCK}NGINX
nginx -t -q
systemctl reload nginx
for _ in $(seq 50); do [ -S {HELLO_SOCKET} ] && break; sleep 0.2; done
grep -E '^(workers|threads)' "/etc/cams/slots/$live/gunicorn.conf.py" | tr '\\n' ' '
'''

TEAR_DOWN = f'''rm -f {BLOCK}
systemctl reload nginx
[ -f {HELLO_PID} ] && kill "$(cat {HELLO_PID})"
for _ in $(seq 50); do [ -e {HELLO_PID} ] || break; sleep 0.2; done
rm -rf {BENCH_DIR} {HELLO_SOCKET}
'''

# (row name, URL, baseline name, baseline URL or None)
PAIRS = [
    ("/health/ (Django)", "https://127.0.0.1/health/", "WSGI hello", f"https://127.0.0.1:{PORT}/hello"),
    ("/health/ready/ (Django)", "https://127.0.0.1/health/ready/", "WSGI hello", None),
    ("React index.html", "https://127.0.0.1/index.html", "plain static file", f"https://127.0.0.1:{PORT}/plain.html"),
]


@contextlib.contextmanager
def baselines():
    try:
        yield in_vm("bash", "-c", SET_UP).stdout.strip()
    finally:
        in_vm("bash", "-c", TEAR_DOWN)


def measure_all(seconds=10, concurrency=4):
    """{name: loadgen summary} for every URL and baseline, plus the gunicorn settings the baselines used."""
    results = {}
    with baselines() as gunicorn_settings:
        for name, url, baseline, baseline_url in PAIRS:
            results[name] = measure(url, seconds, concurrency)
            if baseline_url:
                results[baseline] = measure(baseline_url, seconds, concurrency)
    return results, gunicorn_settings
