import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

from cams.jwt_auth import get_jwt_config
from tests.conftest import run_manage, run_python, subprocess_env

SECRET = "s" * 64
API = "/api/deployments/"


@pytest.fixture(autouse=True)
def hmac_config(settings):
    settings.JWT_AUTH_SECRET = SECRET
    settings.JWT_AUTH_ALGORITHMS = ["HS256"]
    settings.JWT_AUTH_AUDIENCE = ""
    settings.JWT_AUTH_ISSUER = ""
    settings.JWT_AUTH_LEEWAY = 5
    settings.JWT_AUTH_PREVIOUS_SECRET = ""
    settings.JWT_AUTH_PREVIOUS_SECRET_EXPIRES = ""


@pytest.fixture(scope="module")
def rsa_keys():
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, public_pem.decode()


@pytest.fixture
def rsa_config(settings, rsa_keys):
    settings.JWT_AUTH_ALGORITHMS = ["RS256"]
    settings.JWT_AUTH_PUBLIC_KEY = rsa_keys[1]
    return rsa_keys


def claims(**overrides):
    now = int(time.time())
    return {k: v for k, v in {"sub": "alice", "iat": now, "exp": now + 300, **overrides}.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict, payload: dict, sign=lambda signing_input: b"") -> str:
    """A token PyJWT would refuse to produce (alg none, HMAC keyed with a public key)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def get(client, authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get(API, headers=headers)


def assert_unauthorized(response, error="invalid_token", detail_contains=""):
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == error
    assert detail_contains.lower() in body["detail"].lower()
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="cams"')
    if error != "missing_token":
        assert f'error="{error}"' in response.headers["WWW-Authenticate"]


# Every refusal: none of these reach the view, so no database is needed.


@pytest.mark.parametrize("authorization", [None, "", "Basic YWxpY2U6c2VjcmV0"])
def test_no_bearer_token(client, authorization):
    assert_unauthorized(get(client, authorization), error="missing_token", detail_contains="Bearer")


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer   ", "Bearer a b"])
def test_malformed_authorization_header(client, authorization):
    assert_unauthorized(get(client, authorization), error="invalid_request")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.!!!.xyz"])
def test_malformed_token(client, token):
    assert_unauthorized(get(client, f"Bearer {token}"))


def test_bad_signature(client):
    token = jwt.encode(claims(), "another-secret-" * 4, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="signature")


def test_expired(client):
    token = jwt.encode(claims(exp=int(time.time()) - 60), SECRET, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="expired")


def test_not_yet_valid(client):
    token = jwt.encode(claims(nbf=int(time.time()) + 600), SECRET, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="not yet valid")


@pytest.mark.parametrize("missing", ["exp", "sub"])
def test_required_claim_missing(client, missing):
    token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains=missing)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none(client, alg):
    token = handmade_token({"alg": alg, "typ": "JWT"}, claims())
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="alg")


def test_algorithm_not_allowed(client):
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="alg")


def test_hmac_token_signed_with_the_public_key_is_refused(client, rsa_config):
    """Key confusion: the attacker knows the public key and signs HS256 with it."""
    _, public_pem = rsa_config
    token = handmade_token(
        {"alg": "HS256", "typ": "JWT"},
        claims(),
        sign=lambda signing_input: hmac.new(public_pem.encode(), signing_input, hashlib.sha256).digest(),
    )
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains="alg")


@pytest.mark.parametrize(
    ("setting", "configured", "token_claim", "detail"),
    [
        ("JWT_AUTH_AUDIENCE", "cams-dashboard", {"aud": "another-app"}, "audience"),
        ("JWT_AUTH_AUDIENCE", "cams-dashboard", {}, "aud"),
        ("JWT_AUTH_ISSUER", "https://idp.example.com", {"iss": "https://evil.example.com"}, "issuer"),
        ("JWT_AUTH_ISSUER", "https://idp.example.com", {}, "iss"),
    ],
)
def test_wrong_or_missing_audience_and_issuer(client, settings, setting, configured, token_claim, detail):
    setattr(settings, setting, configured)
    token = jwt.encode(claims(**token_claim), SECRET, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {token}"), detail_contains=detail)


# Acceptance


@pytest.mark.django_db
def test_valid_hmac_token_within_leeway(client):
    token = jwt.encode(claims(exp=int(time.time()) - 2), SECRET, algorithm="HS256")
    assert get(client, f"Bearer {token}").status_code == 200


@pytest.mark.django_db
def test_valid_token_with_configured_audience_and_issuer(client, settings):
    settings.JWT_AUTH_AUDIENCE, settings.JWT_AUTH_ISSUER = "cams-dashboard", "https://idp.example.com"
    token = jwt.encode(claims(aud="cams-dashboard", iss="https://idp.example.com"), SECRET, algorithm="HS256")
    assert get(client, f"Bearer {token}").status_code == 200


@pytest.mark.django_db
def test_valid_rs256_token_from_an_identity_provider(client, rsa_config):
    private_key, _ = rsa_config
    token = jwt.encode(claims(), private_key, algorithm="RS256")
    assert get(client, f"Bearer {token}").status_code == 200


PREVIOUS_SECRET = "p" * 64


def rotated(settings, expires_in_seconds):
    """JWT_AUTH_SECRET rotated from PREVIOUS_SECRET, which verifies for `expires_in_seconds` more."""
    expires = datetime.now(timezone.utc) + timedelta(seconds=expires_in_seconds)
    settings.JWT_AUTH_PREVIOUS_SECRET = PREVIOUS_SECRET
    settings.JWT_AUTH_PREVIOUS_SECRET_EXPIRES = expires.isoformat()


@pytest.mark.django_db
def test_a_token_signed_with_the_previous_secret_works_until_it_expires(client, settings):
    old_token = jwt.encode(claims(), PREVIOUS_SECRET, algorithm="HS256")
    rotated(settings, 60)
    assert get(client, f"Bearer {old_token}").status_code == 200
    assert get(client, f"Bearer {jwt.encode(claims(), SECRET, algorithm='HS256')}").status_code == 200
    rotated(settings, -1)
    assert_unauthorized(get(client, f"Bearer {old_token}"), detail_contains="signature")


def test_the_previous_secret_verifies_nothing_else(client, settings):
    rotated(settings, 60)
    expired = jwt.encode(claims(exp=int(time.time()) - 60), PREVIOUS_SECRET, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {expired}"), detail_contains="expired")
    stranger = jwt.encode(claims(), "another-secret-" * 4, algorithm="HS256")
    assert_unauthorized(get(client, f"Bearer {stranger}"), detail_contains="signature")


@pytest.mark.parametrize("expires", ["", "tomorrow", "2030-01-01T00:00:00"])
def test_a_previous_secret_must_say_when_it_expires(settings, expires):
    settings.JWT_AUTH_PREVIOUS_SECRET = PREVIOUS_SECRET
    settings.JWT_AUTH_PREVIOUS_SECRET_EXPIRES = expires
    with pytest.raises(ImproperlyConfigured, match="JWT_AUTH_PREVIOUS_SECRET_EXPIRES"):
        get_jwt_config()


def test_secret_defaults_to_secret_key(settings):
    settings.JWT_AUTH_SECRET = ""
    assert get_jwt_config().verification_key == settings.SECRET_KEY


# Unsafe configurations are refused at start-up

UNSAFE_CONFIGS = {
    "none allowed": ["HS256", "none"],
    "HMAC mixed with RSA": ["HS256", "RS256"],
    "HMAC mixed with EC": ["ES256", "HS384"],
    "unknown algorithm": ["HS999"],
}


@pytest.mark.parametrize("algorithms", UNSAFE_CONFIGS.values(), ids=UNSAFE_CONFIGS.keys())
def test_unsafe_algorithm_configuration_is_refused(settings, rsa_keys, algorithms):
    settings.JWT_AUTH_ALGORITHMS = algorithms
    settings.JWT_AUTH_PUBLIC_KEY = rsa_keys[1]
    with pytest.raises(ImproperlyConfigured):
        get_jwt_config()


def test_asymmetric_configuration_needs_a_public_key(settings):
    settings.JWT_AUTH_ALGORITHMS = ["RS256"]
    settings.JWT_AUTH_PUBLIC_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="JWT_AUTH_PUBLIC_KEY"):
        get_jwt_config()


@pytest.mark.parametrize("algorithms", ["HS256,none", "HS256,RS256"])
@pytest.mark.parametrize(
    "start", [("manage.py", "check"), ("-c", "import backend.wsgi")], ids=["manage.py", "wsgi (gunicorn)"]
)
def test_process_refuses_to_start_with_unsafe_algorithms(algorithms, start):
    env = subprocess_env(
        {"DJANGO_SETTINGS_MODULE": "backend.settings.dev", "JWT_AUTH_ALGORITHMS": algorithms,
         "JWT_AUTH_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nunused\\n-----END PUBLIC KEY-----"}
    )
    result = run_python(*start, env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "JWT_AUTH_ALGORITHMS" in result.stderr


def test_process_starts_with_a_safe_asymmetric_configuration(rsa_keys):
    env = subprocess_env({"JWT_AUTH_ALGORITHMS": "RS256,ES256", "JWT_AUTH_PUBLIC_KEY": rsa_keys[1]})
    assert run_manage("check", env=env).returncode == 0
