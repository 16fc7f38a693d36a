"""The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the deployed host."""
import os
import pathlib
import subprocess

FRONTEND = pathlib.Path(__file__).resolve().parents[3] / "app" / "frontend"
PUBLISHED_URL = "http://127.0.0.1:18480"  # molecule.yml publishes the host's port 80 there


def test_dashboard_signs_in_and_shows_this_environment(host, tmp_path):
    token = host.check_output("cams-manage mint_token --subject browser --lifetime 300")
    release = host.file("/srv/cams/current").linked_to.rsplit("/", 1)[-1]
    result = subprocess.run(
        ["npm", "run", "--silent", "e2e"], cwd=FRONTEND, capture_output=True, text=True, timeout=120,
        env={**os.environ, "BASE_URL": PUBLISHED_URL, "TOKEN": token, "EXPECT_ENVIRONMENT": "dev",
             "EXPECT_RELEASE": release, "SCREENSHOT": str(tmp_path / "dashboard.png")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dashboard.png").stat().st_size > 0
