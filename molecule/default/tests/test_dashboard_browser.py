"""The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the deployed host."""
import base64
import os
import pathlib
import subprocess

FRONTEND = pathlib.Path(__file__).resolve().parents[3] / "app" / "frontend"
PROJECT = FRONTEND.parents[1]
PUBLISHED_URL = "https://127.0.0.1:18443"  # molecule.yml publishes the host's port 443 there


def public_key_pin(certificate):
    """Base64 SHA-256 of the certificate's public key, as Chromium's --ignore-certificate-errors-spki-list takes it."""
    public_key = subprocess.run(["openssl", "x509", "-in", certificate, "-noout", "-pubkey"],
                                capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public_key,
                         capture_output=True, check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True, check=True)
    return base64.b64encode(digest.stdout).decode()


def test_dashboard_signs_in_and_shows_this_environment(host, tmp_path):
    token = host.check_output("cams-manage mint_token --subject browser --lifetime 300")
    release = host.file("/srv/cams/current").linked_to.rsplit("/", 1)[-1]
    result = subprocess.run(
        ["npm", "run", "--silent", "e2e"], cwd=FRONTEND, capture_output=True, text=True, timeout=120,
        env={**os.environ, "BASE_URL": PUBLISHED_URL, "TOKEN": token, "EXPECT_ENVIRONMENT": "dev",
             "EXPECT_RELEASE": release, "SCREENSHOT": str(tmp_path / "dashboard.png"),
             # The host's certificate from the dev CA (role cams_pki), which the system does not trust.
             "TRUSTED_SPKI": public_key_pin(str(PROJECT / ".pki" / "dev" / "cams-dev-molecule.crt"))},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dashboard.png").stat().st_size > 0
